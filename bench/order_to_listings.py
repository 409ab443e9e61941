"""Order to listings: from an ML order notification to the last affected listing updated.

In-process jobs, SQLite in a temporary directory, the sandbox on a thread (loopback), the web
app's ``POST /notifications`` through Flask's test client, a rate limit of 50 requests/s.
SKU ``A`` is sold on a plain item, on a variation of a second item and (2 per kit) in a kit
on a third. 200 orders of one unit, one after the other, on the plain item: each is timed
from posting its notification to the sandbox's receipt of the last PUT it caused (the
variation's item, and the kit every other order; ML moved the sold listing itself).

Figures: p50/p95/max over the orders; the baseline is the time of one ML request (a GET of
an item) measured in the same run, so the figure reads as a number of ML round trips.

    .venv/bin/python bench/order_to_listings.py [--orders 200] [--rate 50]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _world import APP_ID, SELLER, machine, percentile, prepare
from cryptography.fernet import Fernet

from adapters.inprocess_queue import InProcessTaskQueue
from config.bootstrap import Connector
from config.settings import Settings
from config.wsgi import make_app
from connector_core.domain.mapping import Kit
from ml_sandbox import SandboxState
from ml_sandbox.server import start_sandbox

SEED = {
    "app": {"client_id": "123", "client_secret": "shh", "application_id": APP_ID},
    "sellers": [{"id": SELLER, "nickname": "BENCH", "site_id": "MLA"}],
    "items": [
        {"id": "MLA1", "seller_id": SELLER, "price": 100, "available_quantity": 1},
        {"id": "MLA2", "seller_id": SELLER, "price": 100, "variations": [
            {"id": 21, "available_quantity": 1}, {"id": 22, "available_quantity": 1}]},
        {"id": "MLA3", "seller_id": SELLER, "price": 300, "available_quantity": 1},
    ],
    "tokens": [{"user_id": SELLER, "refresh_token": "TG-bench-1001", "expires_in": 21600,
                "access_token": "APP_USR-bench-1001"}],
}
LISTINGS: list[tuple[str, str, int | None]] = [
    ("A", "MLA1", None), ("A", "MLA2", 21), ("B", "MLA2", 22), ("KIT", "MLA3", None)]
KITS = [Kit("KIT", {"A": 2})]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.orders} orders, in-process jobs, SQLite, rate limit {args.rate:g}/s")
    state = SandboxState()
    state.seed(SEED)
    with tempfile.TemporaryDirectory() as tmp, start_sandbox(state) as sandbox:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                            ml_api_url=sandbox.url, ml_sandbox=True, ml_client_id="123",
                            ml_client_secret="shh",
                            secret_key=Fernet.generate_key().decode(),
                            rate_limit_per_second=args.rate, application_id=APP_ID)
        connector = Connector(settings)
        queue = connector.queue
        assert isinstance(queue, InProcessTaskQueue)
        try:
            prepare(connector, LISTINGS, KITS)
            web = make_app(connector).test_client()
            connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 100_000},
                                                    {"sku": "B", "quantity": 5}])
            connector.jobs.dispatch()
            queue.join()
            baseline = ml_round_trip(sandbox.url, "APP_USR-bench-1001")
            latencies = []
            for n in range(args.orders):
                created = httpx.post(f"{sandbox.url}/_sandbox/orders", json={
                    "seller_id": SELLER, "item_id": "MLA1", "quantity": 1, "status": "paid",
                    "notify": False}, timeout=10)
                order_id = created.json()["order"]["id"]
                since = time.time()
                answer = web.post("/notifications", json={
                    "_id": f"o-{n}", "resource": f"/orders/{order_id}", "user_id": SELLER,
                    "topic": "orders_v2", "application_id": APP_ID, "attempts": 1})
                if answer.status_code != 200:
                    raise SystemExit(f"notification answered {answer.status_code}")
                connector.jobs.dispatch()
                queue.join()
                puts = [c for c in sandbox.calls(since) if c["method"] == "PUT"]
                # MLA2 moves every order; the kit (2 units) every other order
                if "/items/MLA2" not in {c["path"] for c in puts}:
                    raise SystemExit(f"order {n}: PUTs {[c['path'] for c in puts]}")
                latencies.append(max(float(c["time"]) for c in puts) - since)
            expected_kit = (100_000 - args.orders) // 2
            kit = sandbox.state.items["MLA3"]["available_quantity"]
        finally:
            connector.close()
    ms = [x * 1000 for x in latencies]
    print(f"  notification -> last listing updated: p50 {percentile(ms, 0.5):.0f} ms, "
          f"p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms, mean "
          f"{statistics.mean(ms):.0f} ms")
    if baseline:
        print(f"  one ML GET round trip (baseline): {baseline * 1000:.1f} ms -> p50 = "
              f"{percentile(ms, 0.5) / (baseline * 1000):.0f} round trips")
    print(f"  kit listing at the end: {kit} (expected {expected_kit})")
    return 0 if kit == expected_kit else 1


def ml_round_trip(url: str, token: str) -> float:
    """Median time of 20 GETs of an item straight to the sandbox."""
    times = []
    with httpx.Client(timeout=10) as client:
        for _ in range(20):
            began = time.perf_counter()
            client.get(f"{url}/items/MLA1", headers={"Authorization": f"Bearer {token}"})
            times.append(time.perf_counter() - began)
    return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
