"""Webhook acknowledgement: ``POST /notifications`` under gunicorn, against a bare endpoint.

``meli-connector serve`` (2 gunicorn processes x 4 threads, its defaults) with a fresh
PostgreSQL database and a private redis-server (no RQ worker: the jobs wait in the ``jobs``
table, where a web process leaves them for the workers' relay), and ``bench/bare_app.py`` (a
Flask endpoint that only parses the JSON) under the same gunicorn settings. Both servers are
up at once and take the load in turns, ``--rounds`` rounds of ``--seconds`` each. The load
generator (``bench/_load.py``, its own process, raw keep-alive sockets like wrk) posts
``orders_v2`` notifications (a distinct order each, for a registered seller) on 16
concurrent connections.

Figures: requests/s (median of the rounds), p50/p99 latency; the ratio of throughputs
(median of the rounds' ratios). Targets: p99 < 50 ms and at least 40% of the bare
endpoint's throughput.

    .venv/bin/python bench/webhook_ack.py [--seconds 5] [--rounds 5] [--connections 16]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _world import APP_ID, SELLER, PrivateRedis, catalog, free_port, machine, percentile, prepare
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from adapters.sql.rows.jobs import InboxRow
from config.bootstrap import Connector
from config.settings import Settings
from tests.services import fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent


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


def start_server(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def round_figures(url: str, seconds: float, connections: int,
                  start: int) -> tuple[float, list[float], int, int]:
    began = time.monotonic()
    count, latencies, errors = load(url, seconds, connections, start)
    return count / (time.monotonic() - began), latencies, errors, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a round (5)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds per server, taken in turns (5)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn processes for both servers (2, serve's default)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per process for both servers (4, serve's default)")
    args = parser.parse_args()
    pg = os.environ.get("TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    print(f"machine: {machine()}")
    print(f"{args.connections} connections, {args.rounds} rounds of {args.seconds:g} s per "
          f"server taken in turns; gunicorn {args.workers} processes x {args.threads} threads; the "
          f"load generator runs on the same CPUs")
    results: dict[str, list[tuple[float, list[float], int, int]]] = {"connector": [],
                                                                      "bare Flask": []}
    with (tempfile.TemporaryDirectory() as tmp, PrivateRedis() as redis_server,
          fresh_postgres_database(pg) as db_url):
        config = Path(tmp) / "connector.toml"
        config.write_text(f"""[connector]
application_id = {APP_ID}
queue_name = "bench-ack-{os.getpid()}"
reconcile_interval_minutes = 600
""", encoding="utf-8")
        env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_server.url,
               "ML_API_URL": "http://127.0.0.1:9", "ML_SANDBOX": "1", "ML_CLIENT_ID": "123",
               "ML_CLIENT_SECRET": "shh", "CONNECTOR_SECRET_KEY": Fernet.generate_key().decode(),
               "CONNECTOR_CONFIG": str(config)}
        connector = Connector(Settings.load(env))
        servers: list[subprocess.Popen[bytes]] = []
        try:
            _, listings = catalog(1, 0)
            prepare(connector, listings)
            ports = {"connector": free_port(), "bare Flask": free_port()}
            servers.append(start_server([
                sys.executable, "-m", "config.cli", "serve", "--port",
                str(ports["connector"]), "--workers", str(args.workers), "--threads",
                str(args.threads)], env, Path(tmp) / "serve.log"))
            servers.append(start_server([
                sys.executable, str(ROOT / "bench" / "bare_app.py"), "127.0.0.1",
                str(ports["bare Flask"]), str(args.workers), str(args.threads)], env,
                Path(tmp) / "bare.log"))
            urls = {name: f"http://127.0.0.1:{port}/notifications"
                    for name, port in ports.items()}
            for server, url in zip(servers, urls.values(), strict=True):
                wait_up(url, server)
                load(url, 1.0, args.connections, 50_000_000)  # warm-up: connections, caches
            first = 1
            for _ in range(args.rounds):
                for name, url in urls.items():
                    results[name].append(round_figures(url, args.seconds, args.connections,
                                                       first))
                    first += 1_000_000
            with connector.uow as uow:
                stored = uow.session.scalar(select(func.count()).select_from(InboxRow))
        finally:
            for server in servers:
                stop(server)
            connector.close()
    summary = {}
    for name, rounds in results.items():
        rates = [r[0] for r in rounds]
        latencies = [x for r in rounds for x in r[1]]
        errors, count = sum(r[2] for r in rounds), sum(r[3] for r in rounds)
        summary[name] = (statistics.median(rates), percentile(latencies, 0.50) * 1000,
                         percentile(latencies, 0.99) * 1000, errors)
        print(f"  {name:10}: {statistics.median(rates):7.1f} requests/s (median; rounds: "
              f"{', '.join(f'{r:.0f}' for r in rates)}), p50 {summary[name][1]:5.1f} ms, "
              f"p99 {summary[name][2]:5.1f} ms ({count} requests, {errors} not 200)")
    ratios = [a[0] / b[0] for a, b in zip(results["connector"], results["bare Flask"],
                                          strict=True)]
    ratio = statistics.median(ratios)
    app = summary["connector"]
    print(f"  notifications stored by the connector: {stored} (warm-up included)")
    print(f"  throughput ratio: {ratio:.1%} of the bare endpoint (median of the rounds: "
          f"{', '.join(f'{r:.0%}' for r in ratios)}; target >= 40%); p99 {app[2]:.1f} ms "
          f"(target < 50 ms)")
    return 0 if ratio >= 0.4 and app[2] < 50 and not app[3] else 1


if __name__ == "__main__":
    sys.exit(main())
