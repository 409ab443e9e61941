"""Sales first: a queued `sync stock --all` saturates ML's rate on two RQ workers while 30
sales arrive; how soon each sale moves its SKU's other listings, with lanes and without.

Each run: a private redis-server, a fresh PostgreSQL database (``TEST_DATABASE_URL``, default
the local server; dropped afterwards), the sandbox on a thread of this process capped at the
rate (it answers 429 above it), ``--workers`` ``meli-connector worker`` processes. The ERP
reports a new figure for every SKU (``--listings`` bulk items go from 1 to 5; 30 sale SKUs,
three listings each, from 1 to 50), ``meli-connector sync stock --all`` queues a push for
every item, and the workers start. From 3 s in, 30 sales arrive spread over the expected
resync time: an order for one unit on the first listing of a sale SKU, then its
``orders_v2`` notification through the web app. A watcher (every 20 ms) notes when the two
other listings show 49.

The single-lane run is the same code with both lanes on one RQ queue and the limiter blind
to lanes (``bench/_single_lane.py``): how the connector behaved before lanes.

Figures per run: sale -> every other listing updated (p50, p95, max); the resync's time
(workers started -> every listing at its final figure: bulk ones at 5, sale ones at 49, so
both runs end on the same work); ML requests, 429s, the most requests in any
sliding second and the calendar seconds over the rate.
Targets: p95 <= 5 s with lanes; resync within 10 % of the single-lane run; 0 s over the rate.

    .venv/bin/python bench/sales_first.py [--listings 500] [--rate 10] [--workers 2]
                                          [--sales 30] [--only lanes|single]
"""

import argparse
import collections
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _world import APP_ID, SELLER, PrivateRedis, machine, max_in_window, percentile, prepare
from cryptography.fernet import Fernet
from redis import Redis
from rq import Worker

from config.bootstrap import Connector
from config.settings import Settings
from config.wsgi import make_app
from ml_sandbox import SandboxState
from ml_sandbox.server import start_sandbox
from tests.services import fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent
BULK_FIGURE, SALE_FIGURE = 5, 50


def world(listings: int, sales: int) -> tuple[dict[str, Any], list[tuple[str, str, None]]]:
    items, rows = [], []
    for n in range(1, listings + 1):
        items.append((f"MLA{n:06d}", f"SKU-{n}"))
    for k in range(1, sales + 1):
        items += [(f"MLA9{k:03d}{j}", f"SALE-{k}") for j in (1, 2, 3)]
    seed_items = [{"id": item, "seller_id": SELLER, "price": 1000, "available_quantity": 1,
                   "seller_sku": sku} for item, sku in items]
    rows = [(sku, item, None) for item, sku in items]
    seed = {"app": {"client_id": "123", "client_secret": "shh", "application_id": APP_ID},
            "sellers": [{"id": SELLER, "nickname": "BENCH", "site_id": "MLA"}],
            "items": seed_items,
            "tokens": [{"user_id": SELLER, "refresh_token": "TG-bench-1001",
                        "expires_in": 21600}]}
    return seed, rows


def wait_workers(url: str, count: int, timeout: float = 60) -> None:
    connection = Redis.from_url(url)
    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=connection)) < count:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
        time.sleep(0.1)
    connection.close()


def start_workers(command: list[str], env: dict[str, str], logs: Path, mode: str,
                  count: int) -> list[subprocess.Popen[bytes]]:
    workers = []
    logs.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        with (logs / f"{mode}-worker{n}.log").open("wb") as log:
            workers.append(subprocess.Popen([*command, "worker"], cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT))
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        if process.poll() is None:
            process.terminate()
    for process in workers:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class Sales:
    """Sells one unit of each sale SKU in turn and notes when its other listings follow."""

    def __init__(self, sandbox: Any, connector: Connector) -> None:
        self._sandbox = sandbox
        self._web = make_app(connector).test_client()
        self.sold: dict[int, float] = {}
        self.latencies: dict[int, float] = {}
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        items = self._sandbox.state.items
        while not self._stop.is_set():
            for k, at in list(self.sold.items()):
                if k not in self.latencies and all(
                        items[f"MLA9{k:03d}{j}"]["available_quantity"] == SALE_FIGURE - 1
                        for j in (2, 3)):
                    self.latencies[k] = time.monotonic() - at
            time.sleep(0.02)

    def sell(self, k: int) -> None:
        order = httpx.post(f"{self._sandbox.url}/_sandbox/orders", json={
            "seller_id": SELLER, "item_id": f"MLA9{k:03d}1", "quantity": 1,
            "status": "paid", "notify": False}).json()["order"]["id"]
        self.sold[k] = time.monotonic()
        answer = self._web.post("/notifications", json={
            "resource": f"/orders/{order}", "user_id": SELLER, "topic": "orders_v2",
            "application_id": APP_ID, "_id": f"n-{order}"})
        assert answer.status_code == 200, answer.status_code

    def stop(self) -> None:
        self._stop.set()
        self._watcher.join()


def figures(mode: str, calls: list[dict[str, Any]], waits: list[float], resync: float,
            rate: float) -> dict[str, Any]:
    times = sorted(float(c["time"]) for c in calls)
    per_second = collections.Counter(int(t) for t in times)
    return {"mode": mode, "measured": len(waits), "p50": percentile(waits, 0.5),
            "p95": percentile(waits, 0.95), "max": max(waits, default=float("nan")),
            "resync": resync, "calls": len(calls),
            "throttled": sum(1 for c in calls if c["status"] == 429),
            "sliding": max_in_window(times),
            "over": sum(1 for count in per_second.values() if count > rate)}


def run(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    pg = os.environ.get("TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    seed, rows = world(args.listings, args.sales)
    state = SandboxState()
    state.seed(seed)
    command = ([sys.executable, "-m", "config.cli"] if mode == "lanes" else
               [sys.executable, str(ROOT / "bench" / "_single_lane.py")])
    workers: list[subprocess.Popen[bytes]] = []
    with (tempfile.TemporaryDirectory() as tmp, PrivateRedis() as redis_server,
          fresh_postgres_database(pg) as db_url, start_sandbox(state) as sandbox):
        httpx.post(f"{sandbox.url}/_sandbox/faults",
                   json={"rate_cap": int(args.rate)}).raise_for_status()
        config = Path(tmp) / "connector.toml"
        config.write_text(f"""[connector]
rate_limit_per_second = {args.rate}
application_id = {APP_ID}
queue_name = "bench-sales-{os.getpid()}"
reconcile_interval_minutes = 600
""", encoding="utf-8")
        env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_server.url,
               "ML_API_URL": sandbox.url, "ML_SANDBOX": "1", "ML_CLIENT_ID": "123",
               "ML_CLIENT_SECRET": "shh",
               "CONNECTOR_SECRET_KEY": Fernet.generate_key().decode(),
               "CONNECTOR_CONFIG": str(config)}
        connector = Connector(Settings.load(env))
        items = sandbox.state.items
        final = {item: SALE_FIGURE - 1 if item.startswith("MLA9") else BULK_FIGURE
                 for _, item, _ in rows}  # once every sale SKU has sold one unit
        resync = float("nan")
        try:
            prepare(connector, rows)
            connector.bridge.stock_changed(updates=[
                {"sku": sku, "quantity": SALE_FIGURE if sku.startswith("SALE") else BULK_FIGURE}
                for sku in sorted({sku for sku, _, _ in rows})])
            subprocess.run([*command, "sync", "stock", "--all"], cwd=ROOT, env=env,
                           check=True, capture_output=True, timeout=600)
            since, started = time.time(), time.monotonic()
            workers = start_workers(command, env, Path(args.logs or tmp), mode, args.workers)
            wait_workers(redis_server.url, args.workers)
            sales = Sales(sandbox, connector)
            spacing = len(rows) * 2 / (args.rate / 1.1) * 0.8 / args.sales  # a read, a PUT
            for k in range(1, args.sales + 1):
                time.sleep(max(0.0, started + 3 + (k - 1) * spacing - time.monotonic()))
                sales.sell(k)
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                if math.isnan(resync) and all(items[i]["available_quantity"] == figure
                                            for i, figure in final.items()):
                    resync = time.monotonic() - started
                if not math.isnan(resync) and len(sales.latencies) == args.sales:
                    break
                time.sleep(0.1)
            sales.stop()
        finally:
            stop_workers(workers)
            connector.close()
        calls = [c for c in sandbox.calls(since) if not c["path"].startswith("/_sandbox")]
    return figures(mode, calls, list(sales.latencies.values()), resync, args.rate)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sales", type=int, default=30)
    parser.add_argument("--only", choices=["lanes", "single"])
    parser.add_argument("--logs", help="keep the workers' logs in this directory")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="give up a run this long after its last sale")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.listings} bulk listings + {args.sales} sale SKUs x 3 listings, "
          f"{args.workers} workers, {args.rate:g} requests/s (sandbox capped there)")
    results = [run(mode, args) for mode in ("lanes", "single")
               if args.only in (None, mode)]
    print("| run | sales measured | p50 s | p95 s | max s | resync s | ML requests | 429s | "
          "most in any second | seconds over the rate |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['mode']} | {r['measured']}/{args.sales} | {r['p50']:.2f} | {r['p95']:.2f} "
              f"| {r['max']:.2f} | {r['resync']:.1f} | {r['calls']} | {r['throttled']} "
              f"| {r['sliding']} | {r['over']} |")
    by_mode = {r["mode"]: r for r in results}
    ok = all(r["over"] == 0 and r["throttled"] == 0 for r in results)
    if "lanes" in by_mode:
        ok = ok and by_mode["lanes"]["p95"] <= 5 and by_mode["lanes"]["measured"] == args.sales
    if len(by_mode) == 2:
        ratio = by_mode["lanes"]["resync"] / by_mode["single"]["resync"]
        print(f"resync with lanes / single lane: {ratio:.3f} (target <= 1.10)")
        ok = ok and ratio <= 1.10
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
