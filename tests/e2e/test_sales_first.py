"""Sales first, on real RQ worker processes: a sale overtakes a queued bulk `sync stock --all`
while the sandbox caps ML's rate at the connector's configured limit."""

import os
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
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from ml_sandbox.server import start_sandbox
from tests import processes
from tests.e2e.conftest import SELLER, wait_for
from tests.services import database_url, fresh_postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

RATE = 5  # requests/s, the connector's limit and the sandbox's cap
BULK_ITEMS = 60  # two calls each (read, PUT): about 25 s of ML's rate
SALE_ITEMS = ["MLA9001", "MLA9002", "MLA9003"]  # all sell SKU HOT
ROOT = Path(__file__).resolve().parents[2]


def seed() -> dict:
    items = [{"id": f"MLA{n}", "seller_id": SELLER, "price": 100, "available_quantity": 1,
              "seller_sku": f"SKU-{n}"} for n in range(1, BULK_ITEMS + 1)]
    items += [{"id": item, "seller_id": SELLER, "price": 100, "available_quantity": 10,
               "seller_sku": "HOT"} for item in SALE_ITEMS]
    return {"app": {"client_id": "123", "client_secret": "shh", "application_id": 555},
            "sellers": [{"id": SELLER, "nickname": "TIENDA", "site_id": "MLA"}],
            "items": items,
            "tokens": [{"user_id": SELLER, "refresh_token": "TG-seed-1001",
                        "expires_in": 21600}]}


@pytest.fixture
def sandbox():
    running = start_sandbox()
    try:
        httpx.post(f"{running.url}/_sandbox/seed", json=seed()).raise_for_status()
        httpx.post(f"{running.url}/_sandbox/faults",
                   json={"rate_cap": RATE}).raise_for_status()
        yield running
    finally:
        running.stop()


def test_a_sale_overtakes_a_queued_bulk_sync(tmp_path, private_redis, sandbox):
    config = tmp_path / "connector.toml"
    config.write_text(f"""
[connector]
rate_limit_per_second = {RATE}
application_id = 555
queue_name = "lanes-{os.getpid()}-{time.time_ns()}"
sweep_interval_seconds = 5
reconcile_interval_minutes = 600
""")
    with fresh_postgres_database(database_url()) as db_url:
        env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": private_redis.url,
               "ML_API_URL": sandbox.url, "ML_SANDBOX": "1", "ML_CLIENT_ID": "123",
               "ML_CLIENT_SECRET": "shh",
               "CONNECTOR_SECRET_KEY": Fernet.generate_key().decode(),
               "CONNECTOR_CONFIG": str(config)}
        connector = Connector(Settings.load(env))
        workers: list[subprocess.Popen[bytes]] = []
        try:
            upgrade(connector.engine)
            rows = [MappingRow(f"SKU-{n}", Listing("main", f"MLA{n}"))
                    for n in range(1, BULK_ITEMS + 1)]
            rows += [MappingRow("HOT", Listing("main", item)) for item in SALE_ITEMS]
            with connector.uow as uow:
                apply_admin_tables(uow.session, MappingTable(rows, []),
                                   accounts=[Account("main", SELLER, "MLA")])
                uow.commit()
            connector.tokens.save("main", TokenSet(
                access_token="", refresh_token="TG-seed-1001", user_id=SELLER,
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            # the ERP's figures: every bulk listing goes from 1 to 5, HOT stays at 10
            connector.bridge.stock_changed(
                updates=[{"sku": f"SKU-{n}", "quantity": 5} for n in range(1, BULK_ITEMS + 1)]
                + [{"sku": "HOT", "quantity": 10}])
            sync = subprocess.run([sys.executable, "-m", "config.cli", "sync", "stock", "--all"],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                                  check=False)
            assert sync.returncode == 0, sync.stderr
            assert f"for {BULK_ITEMS + len(SALE_ITEMS)} item(s)" in sync.stdout
            for n in range(2):
                with (tmp_path / f"worker{n}.log").open("wb") as log:
                    workers.append(subprocess.Popen(
                        [sys.executable, "-m", "config.cli", "worker"], cwd=ROOT, env=env,
                        stdout=log, stderr=subprocess.STDOUT))
            items = sandbox.state.items

            def bulk_done() -> int:
                return sum(1 for n in range(1, BULK_ITEMS + 1)
                           if items[f"MLA{n}"]["available_quantity"] == 5)

            wait_for(lambda: bulk_done() >= 5, 60, "the bulk sync to get going")
            order = httpx.post(f"{sandbox.url}/_sandbox/orders", json={
                "seller_id": SELLER, "item_id": SALE_ITEMS[0], "quantity": 2,
                "status": "paid", "notify": False}).json()["order"]["id"]
            web = make_app(connector).test_client()
            sold_at = time.monotonic()
            assert web.post("/notifications", json={
                "resource": f"/orders/{order}", "user_id": SELLER, "topic": "orders_v2",
                "application_id": 555, "_id": f"n-{order}"}).status_code == 200
            wait_for(lambda: all(items[i]["available_quantity"] == 8 for i in SALE_ITEMS[1:]),
                     30, "the sale to move its other listings")
            sale_seconds = time.monotonic() - sold_at
            left = BULK_ITEMS - bulk_done()
            assert left >= 15, f"the sale waited for the bulk sync ({left} items left)"
            assert sale_seconds < 8, f"the sale took {sale_seconds:.1f} s"
            wait_for(lambda: bulk_done() == BULK_ITEMS, 90, "the bulk sync to finish")
            calls = [c for c in sandbox.calls(0) if not c["path"].startswith("/_sandbox")]
            assert not [c for c in calls if c["status"] == 429], "over the rate"
        finally:
            for process in workers:
                processes.stop(process)
            connector.close()
