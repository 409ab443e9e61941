"""The chaos scenario (issue 16): real `meli-connector worker` processes on PostgreSQL and a
Redis of our own, ML slow on ``GET /orders/{id}``, every order notified exactly once, workers
SIGKILLed while an order read is in flight (and restarted at once, as systemd would), Redis
killed and restarted empty once, and no ``reconcile``. Used by ``tests/e2e/test_chaos.py``
(which asserts) and ``bench/recovery.py`` (which reports the figures).

What it measures: for every order, when its ``order.paid`` event first appeared in the ERP
feed; the slowest recovery is the latest of those, counted from the last fault.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from attrs import frozen
from cryptography.fernet import Fernet

from adapters.sql.admin import AdminTables
from adapters.sql.migrate import upgrade
from config.bootstrap import Connector
from config.settings import Settings
from config.wsgi import make_app
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from ml_sandbox.server import RunningSandbox, start_sandbox
from tests import processes
from tests.e2e.conftest import SELLER, PrivateRedis, wait_for
from tests.services import fresh_postgres_database

APP_ID = 555
SEED = {
    "app": {"client_id": "123", "client_secret": "shh", "application_id": APP_ID},
    "sellers": [{"id": SELLER, "nickname": "TIENDA", "site_id": "MLA"}],
    "items": [{"id": "MLA1", "seller_id": SELLER, "price": 100, "available_quantity": 100000,
               "seller_sku": "A"}],
    "tokens": [{"user_id": SELLER, "refresh_token": "TG-seed-1001", "expires_in": 21600}],
}


@frozen
class ChaosReport:
    orders: int
    paid_once: int  # orders with exactly one order.paid
    duplicated: tuple[int, ...]  # orders with more than one
    kills: int
    slowest_recovery_s: float  # the last order.paid, after the last fault
    last_fault_to_done_s: float | None  # None: not every order was paid in time

    def line(self) -> str:
        return (f"{self.orders} orders, {self.kills} SIGKILLs of every worker and one empty "
                f"Redis restart: {self.paid_once} with exactly one order.paid; slowest "
                f"recovery {self.slowest_recovery_s:.1f} s after the last fault")


class Chaos:
    def __init__(self, tmp: Path, db_url: str, redis: PrivateRedis, sandbox: RunningSandbox, *,
                 workers: int, lease_seconds: float | None) -> None:
        self.tmp, self.redis, self.sandbox = tmp, redis, sandbox
        lease = f"job_lease_seconds = {lease_seconds}\n" if lease_seconds else ""
        config = tmp / "connector.toml"
        config.write_text(f"""
[connector]
rate_limit_per_second = 50
application_id = {APP_ID}
queue_name = "chaos-{os.getpid()}-{time.time_ns()}"
job_timeout_seconds = 600
sweep_interval_seconds = 5
reconcile_interval_minutes = 600
{lease}""")
        self.env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis.url,
                    "ML_API_URL": sandbox.url, "ML_SANDBOX": "1", "ML_CLIENT_ID": "123",
                    "ML_CLIENT_SECRET": "shh",
                    "CONNECTOR_SECRET_KEY": Fernet.generate_key().decode(),
                    "CONNECTOR_CONFIG": str(config)}
        self.connector = Connector(Settings.load(self.env))
        upgrade(self.connector.engine)
        table = MappingTable([MappingRow("A", Listing("main", "MLA1"))])
        wanted = AdminTables(table, accounts=[Account("main", SELLER, "MLA")])
        self.connector.admin_tables.apply(lambda _stored: wanted, dry_run=False)
        self.connector.tokens.save("main", TokenSet(
            access_token="", refresh_token="TG-seed-1001", user_id=SELLER,
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        self.web = make_app(self.connector).test_client()
        self.slots: list[subprocess.Popen[bytes] | None] = [None] * workers
        self.started = 0
        self.paid_at: dict[int, float] = {}

    # --- processes ------------------------------------------------------------------------

    def start(self, slot: int) -> None:
        with (self.tmp / f"worker{self.started}.log").open("wb") as log:
            self.slots[slot] = subprocess.Popen(
                [sys.executable, "-m", "config.cli", "worker"], env=self.env, stdout=log,
                stderr=subprocess.STDOUT)
        self.started += 1

    def supervise(self) -> None:
        """Restart any worker that exited (Redis gone, say), as a service manager would."""
        for slot, process in enumerate(self.slots):
            if process is None or process.poll() is not None:
                if process is not None:
                    process.wait()
                self.start(slot)

    def kill_all(self) -> None:
        for process in self.slots:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
        for process in self.slots:
            if process is not None:
                process.wait(10)

    def stop(self) -> None:
        for process in self.slots:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self.slots:  # rq's pubsub thread can hang its exit: then killed
            if process is not None:
                processes.stop(process)

    # --- what happens -----------------------------------------------------------------------

    def order_read_in_flight(self) -> bool:
        return any(c["status"] is None and c["method"] == "GET"
                   and c["path"].startswith("/orders/") for c in self.sandbox.calls())

    def notify(self, order_id: int) -> int:
        body = {"resource": f"/orders/{order_id}", "user_id": SELLER, "topic": "orders_v2",
                "application_id": APP_ID, "_id": f"n-{order_id}"}
        return self.web.post("/notifications", json=body).status_code

    def paid(self) -> Counter[int]:
        events = []
        after = 0
        while True:
            page = self.connector.bridge.events(after=after, limit=500)
            events += page.events
            if not page.events:
                break
            after = page.next
        paid = Counter(e.order_id for e in events if e.type.value == "order.paid")
        now = time.monotonic()
        for order_id in paid:
            self.paid_at.setdefault(order_id, now)
        return paid


def run_chaos(tmp: Path, redis: PrivateRedis, *, orders: int = 40, workers: int = 2,
              kills: int = 3, slow_ms: int = 1200, lease_seconds: float | None = None,
              deadline_s: float = 120.0) -> ChaosReport:
    """The scenario; returns what it saw (the caller asserts or reports)."""
    with _world(tmp, redis, workers=workers, lease_seconds=lease_seconds) as chaos:
        httpx.post(f"{chaos.sandbox.url}/_sandbox/faults",
                   json={"path_latency_ms": {"/orders/": slow_ms}}).raise_for_status()
        order_ids = []
        for _ in range(orders):
            body = {"seller_id": SELLER, "item_id": "MLA1", "quantity": 1, "status": "paid",
                    "notify": False}
            response = httpx.post(f"{chaos.sandbox.url}/_sandbox/orders", json=body)
            order_ids.append(int(response.json()["order"]["id"]))
        chaos.supervise()
        for order_id in order_ids:
            assert chaos.notify(order_id) == 200, "the webhook answers 200 once per order"
        for _ in range(kills):
            wait_for(chaos.order_read_in_flight, 60, "an order read in flight")
            chaos.kill_all()
            chaos.supervise()
            time.sleep(1.5)  # let the new workers start and claim again
        wait_for(chaos.order_read_in_flight, 60, "an order read in flight")
        chaos.redis.stop()  # Redis gone, and back empty: RQ's queue is lost
        chaos.kill_all()  # a worker mid-job dies with it
        chaos.redis.start()
        chaos.supervise()
        last_fault = time.monotonic()
        done_at = None
        while time.monotonic() < last_fault + deadline_s:
            chaos.supervise()
            if len(chaos.paid()) == len(order_ids):
                done_at = time.monotonic()
                break
            time.sleep(0.5)
        paid = chaos.paid()
        return ChaosReport(
            orders=len(order_ids),
            paid_once=sum(1 for o in order_ids if paid[o] == 1),
            duplicated=tuple(sorted(o for o in order_ids if paid[o] > 1)),
            kills=kills + 1,
            slowest_recovery_s=max((chaos.paid_at[o] - last_fault for o in order_ids
                                    if o in chaos.paid_at), default=0.0),
            last_fault_to_done_s=None if done_at is None else done_at - last_fault)


@contextmanager
def _world(tmp: Path, redis: PrivateRedis, *, workers: int,
           lease_seconds: float | None) -> Iterator[Chaos]:
    from tests.services import database_url

    sandbox = start_sandbox()
    try:
        httpx.post(f"{sandbox.url}/_sandbox/seed", json=SEED).raise_for_status()
        with fresh_postgres_database(database_url()) as db_url:
            chaos = Chaos(tmp, db_url, redis, sandbox, workers=workers,
                          lease_seconds=lease_seconds)
            try:
                yield chaos
            finally:
                chaos.stop()
                chaos.connector.close()
    finally:
        sandbox.stop()
