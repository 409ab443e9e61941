"""Webhook acknowledgement: ``POST /notifications`` under gunicorn, against a bare endpoint.

``meli-connector serve`` (2 gunicorn processes x 4 threads, its defaults) with a fresh
PostgreSQL database and a private redis-server (no RQ worker: the jobs wait in Redis), then
``bench/bare_app.py`` (a Flask endpoint that only parses the JSON) under the same gunicorn
settings. A Python load generator (threads, one keep-alive httpx client each) posts
``orders_v2`` notifications (a distinct order each, for a registered seller) on 16
concurrent connections for a fixed time against each.

Figures: requests/s, p50/p99 latency; ratio of throughputs. Targets: p99 < 50 ms and at
least 40% of the bare endpoint's throughput.

    .venv/bin/python bench/webhook_ack.py [--seconds 10] [--connections 16]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _world import APP_ID, SELLER, PrivateRedis, catalog, free_port, machine, percentile, prepare
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from adapters.sql.rows import InboxRow
from config.bootstrap import Connector
from config.settings import Settings
from tests.services import fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent
WORKERS, THREADS = 2, 4


def load(url: str, seconds: float, connections: int, start: int) -> tuple[int, list[float], int]:
    """Post for ``seconds`` on ``connections`` keep-alive connections from a child process
    (``bench/_load.py``); returns (answers, latencies, errors)."""
    address = httpx.URL(url)
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "_load.py"), str(address.host), str(address.port),
         str(seconds), str(connections), str(start), str(SELLER), str(APP_ID)],
        check=True, capture_output=True, timeout=seconds + 60)
    result = json.loads(out.stdout)
    return int(result["count"]), [float(x) for x in result["latencies"]], int(result["errors"])


def wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            httpx.post(url, content=b"warm-up", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def measure(argv: Callable[[int], list[str]], env: dict[str, str], log: Path, *,
            seconds: float, connections: int, start: int) -> tuple[float, float, float, int, int]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(argv(port), cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/notifications"
        wait_up(url, process)
        load(url, 1.0, connections, start + 10_000_000)  # warm-up: connections, caches
        began = time.monotonic()
        count, latencies, errors = load(url, seconds, connections, start)
        elapsed = time.monotonic() - began
    finally:
        stop(process)
    return (count / elapsed, percentile(latencies, 0.50) * 1000,
            percentile(latencies, 0.99) * 1000, errors, count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    pg = os.environ.get("TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    print(f"machine: {machine()}")
    print(f"{args.connections} connections for {args.seconds:g} s against each server; gunicorn "
          f"{WORKERS} processes x {THREADS} threads; the load generator runs on the same CPUs")
    with (tempfile.TemporaryDirectory() as tmp, PrivateRedis() as redis_server,
          fresh_postgres_database(pg) as db_url):
        config = Path(tmp) / "connector.toml"
        config.write_text(f"""[connector]
application_id = {APP_ID}
queue_name = "bench-ack-{os.getpid()}"
reconcile_interval_minutes = 600
""", encoding="utf-8")
        env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_server.url,
               "ML_API_URL": "http://127.0.0.1:9", "ML_CLIENT_ID": "123",
               "ML_CLIENT_SECRET": "shh", "CONNECTOR_SECRET_KEY": Fernet.generate_key().decode(),
               "CONNECTOR_CONFIG": str(config)}
        connector = Connector(Settings.load(env))
        try:
            _, listings = catalog(1, 0)
            prepare(connector, listings)
            app = measure(lambda port: [
                sys.executable, "-m", "config.cli", "serve", "--port", str(port),
                "--workers", str(WORKERS), "--threads", str(THREADS)], env,
                          Path(tmp) / "serve.log", seconds=args.seconds,
                          connections=args.connections, start=1)
            with connector.uow as uow:
                stored = uow.session.scalar(select(func.count()).select_from(InboxRow))
        finally:
            connector.close()
        bare = measure(lambda port: [
            sys.executable, str(ROOT / "bench" / "bare_app.py"), "127.0.0.1", str(port),
            str(WORKERS), str(THREADS)], env, Path(tmp) / "bare.log", seconds=args.seconds,
                       connections=args.connections, start=1)
    for name, (rps, p50, p99, errors, count) in (("connector", app), ("bare Flask", bare)):
        print(f"  {name:10}: {rps:7.1f} requests/s, p50 {p50:5.1f} ms, p99 {p99:5.1f} ms "
              f"({count} requests, {errors} not 200)")
    print(f"  notifications stored by the connector: {stored}")
    print(f"  throughput ratio: {app[0] / bare[0]:.1%} of the bare endpoint (target >= 40%); "
          f"p99 {app[2]:.1f} ms (target < 50 ms)")
    return 0 if app[0] / bare[0] >= 0.4 and app[2] < 50 and not app[3] else 1


if __name__ == "__main__":
    sys.exit(main())
