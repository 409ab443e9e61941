"""The production shape: RQ worker processes on Redis, PostgreSQL, the sandbox over sockets.

What must hold across processes and failures (CONTRACT §1 rules 3-5): duplicates hold once,
a worker killed with SIGKILL mid-job has its job run again without holding twice, and
notifications answered while Redis is down are all processed once it is back.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from adapters.sql.admin import apply_admin_tables
from adapters.sql.migrate import upgrade
from config.bootstrap import Connector
from config.settings import Settings
from config.wsgi import make_app
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.orders import ErpEvent
from ml_sandbox.server import start_sandbox
from tests import processes
from tests.e2e.conftest import SEED, SELLER, wait_for
from tests.services import database_url, fresh_postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

TABLE = MappingTable(
    [MappingRow("A", Listing("main", "MLA1")), MappingRow("A", Listing("main", "MLA2", 21)),
     MappingRow("B", Listing("main", "MLA2", 22)), MappingRow("KIT", Listing("main", "MLA3"))],
    [Kit("KIT", {"A": 2, "B": 1})])
JOB_TIMEOUT = 4
ERP_TOKEN = "erp-token-0123456789"


class World:
    def __init__(self, tmp: Path, db_url: str, redis_url: str, sandbox,
                 extra_config: str = "") -> None:
        self.sandbox = sandbox
        config = tmp / "connector.toml"
        config.write_text(f"""
[connector]
rate_limit_per_second = 50
application_id = 555
queue_name = "e2e-{os.getpid()}-{time.time_ns()}"
job_timeout_seconds = {JOB_TIMEOUT}
sweep_interval_seconds = 1
reconcile_interval_minutes = 60
{extra_config}""")
        self.env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
                    "ML_API_URL": sandbox.url, "ML_SANDBOX": "1", "ML_CLIENT_ID": "123",
                    "ML_CLIENT_SECRET": "shh",
                    "CONNECTOR_SECRET_KEY": Fernet.generate_key().decode(),
                    "CONNECTOR_CONFIG": str(config), "ERP_API_TOKEN": ERP_TOKEN}
        self.connector = Connector(Settings.load(self.env))
        upgrade(self.connector.engine)
        with self.connector.uow as uow:
            apply_admin_tables(uow.session, TABLE, accounts=[Account("main", SELLER, "MLA")])
            uow.commit()
        self.connector.tokens.save("main", TokenSet(
            access_token="", refresh_token="TG-seed-1001", user_id=SELLER,
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        self.web = make_app(self.connector).test_client()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs = tmp

    def start_worker(self) -> subprocess.Popen[bytes]:
        with (self.logs / f"worker{len(self.workers)}.log").open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "config.cli", "worker"],
                                       env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(process)
        return process

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.terminate()
        for process in self.workers:  # rq's pubsub thread can hang its exit: then killed
            processes.stop(process)

    def figures(self) -> tuple[int, ...]:
        items = self.sandbox.state.items
        mla2 = {v["id"]: v["available_quantity"] for v in items["MLA2"]["variations"]}
        return (items["MLA1"]["available_quantity"], mla2[21], mla2[22], mla2[23],
                items["MLA3"]["available_quantity"])

    def order(self, item_id: str, quantity: int, variation_id: int | None = None) -> int:
        body = {"seller_id": SELLER, "item_id": item_id, "quantity": quantity,
                "status": "paid", "notify": False}
        if variation_id is not None:
            body["variation_id"] = variation_id
        return int(httpx.post(f"{self.sandbox.url}/_sandbox/orders", json=body)
                   .json()["order"]["id"])

    def notify(self, order_id: int, ml_id: str | None = None) -> int:
        body = {"resource": f"/orders/{order_id}", "user_id": SELLER, "topic": "orders_v2",
                "application_id": 555, "_id": ml_id or f"n-{order_id}"}
        return self.web.post("/notifications", json=body).status_code

    def idle(self) -> bool:
        """No job waiting or running."""
        from sqlalchemy import func, select

        from adapters.sql.rows.jobs import JobRow
        with self.connector.uow as uow:
            return uow.session.scalar(select(func.count()).select_from(JobRow)) == 0

    def held(self, order_id: int) -> int:
        with self.connector.uow as uow:
            return sum(h.units for h in uow.stock.holds_for_order(order_id))

    def events(self) -> list[tuple[int, str]]:
        return [(e.order_id, e.type.value) for e in self.connector.bridge.events(limit=500).events
                if isinstance(e, ErpEvent)]


@pytest.fixture
def world(tmp_path, private_redis):
    yield from _world(tmp_path, private_redis)


@pytest.fixture
def windowed_world(tmp_path, private_redis):
    """Pushes held back by a 30 s push window, and no long-running worker."""
    yield from _world(tmp_path, private_redis, "push_delay_seconds = 30\n")


def _world(tmp_path, private_redis, extra_config=""):
    sandbox = start_sandbox()
    httpx.post(f"{sandbox.url}/_sandbox/seed", json=SEED).raise_for_status()
    with fresh_postgres_database(database_url()) as db_url:
        world = World(tmp_path, db_url, private_redis.url, sandbox, extra_config)
        world.redis = private_redis
        try:
            yield world
        finally:
            world.stop_workers()
            world.connector.close()
            sandbox.stop()


def burst(world: World) -> str:
    """``meli-connector worker --burst``, as an operator's script runs it."""
    done = subprocess.run([sys.executable, "-m", "config.cli", "worker", "--burst"],
                          env=world.env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_worker_burst_drains_an_erp_report_and_a_notification_before_it_returns(
        windowed_world):
    world = windowed_world
    answer = world.web.post("/erp/stock", headers={"Authorization": f"Bearer {ERP_TOKEN}"},
                            json={"updates": [{"sku": "A", "quantity": 10},
                                              {"sku": "B", "quantity": 4}]})
    assert answer.status_code == 202
    assert world.figures() == (1, 1, 1, 9, 1)  # held back by the push window
    said = burst(world)
    assert world.figures() == (10, 10, 4, 9, 4)  # on ML when the command returned
    assert ", 0 failed" in said

    order_id = world.order("MLA1", 3)
    assert world.notify(order_id) == 200
    burst(world)
    assert world.figures() == (7, 7, 4, 9, 3)
    assert world.events() == [(order_id, "order.created"), (order_id, "order.paid")]
    assert world.idle()


def test_a_sale_moves_every_listing_and_five_duplicates_hold_once(world):
    world.start_worker()
    world.start_worker()
    world.connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 10},
                                                  {"sku": "B", "quantity": 4}])
    wait_for(lambda: world.figures() == (10, 10, 4, 9, 4), 60, "the first publication")
    order_id = world.order("MLA1", 3)
    assert {world.notify(order_id, "same") for _ in range(5)} == {200}
    wait_for(lambda: world.figures() == (7, 7, 4, 9, 3), 60, "the sale to move the others")
    assert world.held(order_id) == 3
    assert world.events() == [(order_id, "order.created"), (order_id, "order.paid")]


def test_a_worker_killed_mid_job_has_its_job_run_again_without_holding_twice(world):
    first = world.start_worker()
    world.connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 10},
                                                  {"sku": "B", "quantity": 4}])
    wait_for(lambda: world.figures() == (10, 10, 4, 9, 4), 60, "the first publication")
    order_id = world.order("MLA2", 2, variation_id=21)
    httpx.post(f"{world.sandbox.url}/_sandbox/faults", json={"latency_ms": 2500})
    httpx.delete(f"{world.sandbox.url}/_sandbox/calls")
    assert world.notify(order_id) == 200

    def fetching_the_order() -> bool:
        calls = httpx.get(f"{world.sandbox.url}/_sandbox/calls").json()
        return any(c["path"] == f"/orders/{order_id}" for c in calls)

    wait_for(fetching_the_order, 20, "the worker to start the order job")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    httpx.delete(f"{world.sandbox.url}/_sandbox/faults").raise_for_status()
    world.start_worker()
    wait_for(lambda: world.figures() == (8, 8, 4, 9, 4), 60,
             "the killed job to run again and move the listings")
    assert world.held(order_id) == 2
    assert world.events() == [(order_id, "order.created"), (order_id, "order.paid")]


def test_notifications_answered_while_redis_is_down_are_processed_when_it_returns(world):
    world.start_worker()
    world.connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 50},
                                                  {"sku": "B", "quantity": 50}])
    wait_for(lambda: world.figures()[0] == 50, 60, "the first publication")
    orders = [world.order("MLA1", 1) for _ in range(8)]
    world.stop_workers()
    world.redis.stop()
    started = time.monotonic()
    answers = [world.notify(order_id) for order_id in orders]
    elapsed = time.monotonic() - started
    assert answers == [200] * len(orders)
    assert elapsed / len(orders) < 0.5, f"{elapsed / len(orders):.3f}s per notification"
    world.redis.start()  # back, and empty
    world.start_worker()
    wait_for(lambda: all(world.held(o) == 1 for o in orders), 60,
             "every notification to be processed after Redis came back")
    wait_for(lambda: world.figures()[0] == 50 - len(orders), 30, "the listings to follow")
    paid = [o for o, kind in world.events() if kind == "order.paid"]
    assert sorted(paid) == sorted(orders)


def test_cancellation_accounted_then_report_and_a_dropped_notification(world):
    world.start_worker()
    world.connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 10},
                                                  {"sku": "B", "quantity": 4}])
    wait_for(lambda: world.figures() == (10, 10, 4, 9, 4), 60, "the first publication")
    sold = world.order("MLA1", 3)
    assert world.notify(sold) == 200
    wait_for(lambda: world.figures() == (7, 7, 4, 9, 3), 60, "the sale to move the others")
    # The ERP accounts for the sale, then reports the shelf that includes it: 7, not 4.
    world.connector.bridge.order_accounted(sold)
    world.connector.bridge.stock_changed("A", 7)
    wait_for(world.idle, 20, "the pushes after the report to run")
    assert world.figures() == (7, 7, 4, 9, 3), "the sale was subtracted twice"
    # A sale whose notification ML never delivered (it only reached /missed_feeds).
    dropped = int(httpx.post(f"{world.sandbox.url}/_sandbox/orders", json={
        "seller_id": SELLER, "item_id": "MLA2", "variation_id": 22, "quantity": 2,
        "status": "paid", "drop": True}).json()["order"]["id"])
    lines = world.connector.scheduler.reconcile_now("main")
    assert any("1 to apply" in line for line in lines)
    wait_for(lambda: world.figures() == (7, 7, 2, 9, 2), 20, "reconcile to apply the order")
    # Cancelled: its units come back everywhere.
    httpx.post(f"{world.sandbox.url}/_sandbox/orders/{dropped}/cancel",
               json={"notify": False}).raise_for_status()
    assert world.notify(dropped, "cancel") == 200
    wait_for(lambda: world.figures() == (7, 7, 4, 9, 3), 20, "the cancellation to release")
    assert world.held(dropped) == 0
    assert [kind for order, kind in world.events() if order == dropped] == [
        "order.created", "order.paid", "order.cancelled"]


def test_shipping_labels_and_questions_through_rq_workers(world):
    """Issue 22 on the production shape: the after-sale jobs run in RQ worker processes."""
    from erp_bridge.payloads import event_json

    def feed(kind: str) -> list[dict]:
        return [event_json(e) for e in world.connector.bridge.events(limit=500).events
                if str(e.type).startswith(kind)]

    def post(topic: str, resource: str, ml_id: str) -> int:
        return world.web.post("/notifications", json={
            "resource": resource, "user_id": SELLER, "topic": topic, "application_id": 555,
            "_id": ml_id}).status_code

    world.start_worker()
    world.start_worker()
    order_id = world.order("MLA1", 1)
    assert world.notify(order_id) == 200
    shipment_id = world.sandbox.state.orders[order_id]["shipping"]["id"]
    wait_for(lambda: len(feed("order.shipping")) == 1, 20, "the shipment's first status")
    httpx.post(f"{world.sandbox.url}/_sandbox/shipments/{shipment_id}/status",
               json={"status": "ready_to_ship", "notify": False}).raise_for_status()
    assert {post("shipments", f"/shipments/{shipment_id}", f"s-{n % 2}")
            for n in range(4)} == {200}
    wait_for(lambda: [e["shipment"]["status"] for e in feed("order.shipping")] == [
        "handling", "ready_to_ship"], 20, "ready_to_ship, once")
    label = world.connector.bridge.shipment_labels([shipment_id], "zpl2")
    assert label.content.startswith(b"^XA")

    asked = httpx.post(f"{world.sandbox.url}/_sandbox/questions", json={
        "item_id": "MLA1", "text": "¿Tiene garantía?", "notify": False}).json()["question"]
    assert post("questions", f"/questions/{asked['id']}", "q-1") == 200
    wait_for(lambda: len(feed("question.")) == 1, 20, "question.received")
    world.connector.bridge.answer_question(asked["id"], "Sí, 12 meses.")
    assert [(e["type"], e["answered_by"]) for e in feed("question.")] == [
        ("question.received", None), ("question.answered", "erp")]
    wait_for(world.idle, 20, "every job done")
