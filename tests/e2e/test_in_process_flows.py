"""The connector's flows on the laptop shape: SQLite, in-process jobs, the sandbox over real
sockets, the real ML gateway (OAuth refresh, rate limiter), and the web app."""

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from attrs import evolve

from adapters.sql.admin import apply_admin_tables
from config.bootstrap import Connector
from config.settings import Settings
from config.wsgi import make_app
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.orders import ErpEvent
from ml_sandbox.server import start_sandbox
from tests.e2e.conftest import SEED, SELLER, sandbox_connector

pytestmark = pytest.mark.e2e

TABLE = MappingTable(
    [MappingRow("A", Listing("main", "MLA1")), MappingRow("A", Listing("main", "MLA2", 21)),
     MappingRow("B", Listing("main", "MLA2", 22)), MappingRow("KIT", Listing("main", "MLA3"))],
    [Kit("KIT", {"A": 2, "B": 1})])


@pytest.fixture
def world(tmp_path):
    sandbox = start_sandbox()
    httpx.post(f"{sandbox.url}/_sandbox/seed", json=SEED).raise_for_status()
    connector = sandbox_connector(tmp_path, sandbox.url)
    with connector.uow as uow:
        apply_admin_tables(uow.session, TABLE, accounts=[Account("main", SELLER, "MLA")])
        uow.commit()
    # Only a refresh token, as `accounts add` stores it: the first call must refresh.
    connector.tokens.save("main", TokenSet(access_token="", refresh_token="TG-seed-1001",
                                           expires_at=datetime.now(UTC) - timedelta(seconds=1),
                                           user_id=SELLER))
    client = make_app(connector).test_client()
    yield connector, sandbox, client
    connector.close()
    sandbox.stop()


def ml_item(sandbox, item_id):
    return sandbox.state.items[item_id]


def figures(sandbox):
    mla2 = {v["id"]: v["available_quantity"] for v in ml_item(sandbox, "MLA2")["variations"]}
    return (ml_item(sandbox, "MLA1")["available_quantity"], mla2[21], mla2[22], mla2[23],
            ml_item(sandbox, "MLA3")["available_quantity"])


def settle(connector):
    connector.jobs.dispatch()
    connector.queue.join()


def test_stock_report_publishes_every_listing_and_a_sale_moves_the_others(world):
    connector, sandbox, client = world
    connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 10},
                                            {"sku": "B", "quantity": 4}])
    settle(connector)
    assert figures(sandbox) == (10, 10, 4, 9, 4)  # kit: min(10 // 2, 4 // 1)

    created = httpx.post(f"{sandbox.url}/_sandbox/orders", json={
        "seller_id": SELLER, "item_id": "MLA1", "quantity": 3, "status": "paid",
        "notify": False}).json()
    order_id = created["order"]["id"]
    note = {"_id": "n1", "resource": f"/orders/{order_id}", "user_id": str(SELLER),
            "topic": "orders_v2", "application_id": 555, "attempts": 1}
    answers = [client.post("/notifications", json=note) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    settle(connector)
    assert figures(sandbox) == (7, 7, 4, 9, 3)

    page = connector.bridge.events()
    assert [(e.order_id, e.type.value) for e in page.events if isinstance(e, ErpEvent)] == [
        (order_id, "order.created"), (order_id, "order.paid")]
    with connector.uow as uow:
        assert sum(h.units for h in uow.stock.holds_for_order(order_id)) == 3

    # The ERP accounts for the sale and then reports the shelf: nothing counted twice.
    connector.bridge.order_accounted(order_id)
    connector.bridge.stock_changed("A", 7)
    settle(connector)
    assert figures(sandbox) == (7, 7, 4, 9, 3)


def test_a_cancellation_releases_and_a_dropped_notification_is_reconciled(world):
    connector, sandbox, client = world
    connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 10},
                                            {"sku": "B", "quantity": 4}])
    settle(connector)
    created = httpx.post(f"{sandbox.url}/_sandbox/orders", json={
        "seller_id": SELLER, "item_id": "MLA2", "variation_id": 22, "quantity": 2,
        "status": "paid", "notify": False}).json()
    order_id = created["order"]["id"]
    lines = connector.scheduler.reconcile_now("main")
    settle(connector)
    assert "1 to apply" in lines[0]
    assert figures(sandbox)[2] == 2 and figures(sandbox)[4] == 2
    httpx.post(f"{sandbox.url}/_sandbox/orders/{order_id}/cancel",
               json={"notify": False}).raise_for_status()
    client.post("/notifications", json={"resource": f"/orders/{order_id}", "user_id": SELLER,
                                        "topic": "orders_v2", "application_id": 555})
    settle(connector)
    assert figures(sandbox)[2] == 4 and figures(sandbox)[4] == 4
    types = [e.type.value for e in connector.bridge.events().events if isinstance(e, ErpEvent)]
    assert types == ["order.created", "order.paid", "order.cancelled"]


def test_pushes_never_delete_a_variation_and_coalesce_to_one_put_per_item(world):
    connector, sandbox, _ = world
    httpx.delete(f"{sandbox.url}/_sandbox/calls").raise_for_status()
    for quantity in range(20, 30):
        connector.bridge.stock_changed("A", quantity)
    connector.bridge.stock_changed("B", 5)
    settle(connector)
    puts = [c for c in httpx.get(f"{sandbox.url}/_sandbox/calls").json()
            if c["method"] == "PUT"]
    assert figures(sandbox) == (29, 29, 5, 9, 5)
    assert {v["id"] for v in ml_item(sandbox, "MLA2")["variations"]} == {21, 22, 23}
    assert len(puts) <= 3 * 2, f"{len(puts)} PUTs for 11 changes over 3 items"
    deleted = httpx.get(f"{sandbox.url}/_sandbox/state").json()["deleted_variations"]
    assert not deleted


class TestOperatorCommands:
    """`sync`, `reconcile` and `jobs` as an operator runs them (in-process jobs)."""

    def run(self, connector, capsys, *argv):
        from config import jobs
        from config.cli import main

        jobs.use(connector)
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    def test_sync_pushes_what_the_erp_says(self, world, capsys):
        connector, sandbox, _ = world
        with connector.uow as uow:  # recorded directly: no push queued by the report itself
            from connector_core.domain.stock import StockReport
            uow.stock.save_report_if_newer(StockReport("A", "default", 6, datetime.now(UTC)))
            uow.stock.save_report_if_newer(StockReport("B", "default", 6, datetime.now(UTC)))
            uow.commit()
        code, out, _ = self.run(connector, capsys, "sync", "stock", "--sku", "B", "--json")
        assert code == 0 and '"items": 2' in out  # MLA2 (variation 22) and the kit MLA3
        assert figures(sandbox)[2] == 6 and figures(sandbox)[0] == 1  # MLA1 not touched
        code, out, _ = self.run(connector, capsys, "sync", "stock", "--all")
        assert code == 0 and figures(sandbox) == (6, 6, 6, 9, 3)

    def test_bad_input_is_one_line_and_non_zero(self, world, capsys):
        connector, _, _ = world
        code, _, err = self.run(connector, capsys, "sync", "stock")
        assert code == 2 and err.strip() == "meli-connector sync: give --sku SKU or --all"
        code, _, err = self.run(connector, capsys, "sync", "stock", "--sku", "NOPE")
        assert code == 2 and "not on any mapping row" in err
        code, _, err = self.run(connector, capsys, "reconcile", "--since", "yesterday")
        assert code == 2 and "--since: expected an ISO-8601 time" in err
        code, _, err = self.run(connector, capsys, "jobs", "retry")
        assert code == 2 and "give a job ID or --all" in err

    def test_reconcile_recovers_an_order_no_notification_announced(self, world, capsys):
        connector, sandbox, _ = world
        connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 10},
                                                {"sku": "B", "quantity": 4}])
        settle(connector)
        httpx.post(f"{sandbox.url}/_sandbox/orders", json={
            "seller_id": SELLER, "item_id": "MLA1", "quantity": 4, "status": "paid",
            "drop": True}).raise_for_status()
        code, out, _ = self.run(connector, capsys, "reconcile", "--account", "main")
        assert code == 0 and "1 to apply" in out
        assert figures(sandbox) == (6, 6, 4, 9, 3)

    def test_a_job_that_keeps_failing_becomes_a_dead_letter_and_can_be_retried(
            self, world, capsys):
        from sqlalchemy import select, update

        from adapters.sql.rows.jobs import JobRow
        from connector_core.domain.commands import PushItem
        from connector_core.domain.jobs import MAX_ATTEMPTS

        connector, _, _ = world
        with connector.uow as uow:  # a push for an account that does not exist (yet)
            uow.jobs.add(PushItem("ghost", "MLA9"))
            uow.commit()
        settle(connector)  # runs and fails: UnknownAccount
        with connector.uow as uow:
            (row,) = uow.session.scalars(select(JobRow)).all()
            assert row.attempts == 1 and row.claimed_at is None
            # the sweeper's later attempts fail the same way; skip to the last one
            uow.session.execute(update(JobRow).values(attempts=MAX_ATTEMPTS))
            uow.commit()
        assert connector.jobs.sweep() == 0, "dead letters are not re-queued"
        code, out, _ = self.run(connector, capsys, "jobs", "failed", "--json")
        (dead,) = json.loads(out)
        assert code == 0 and dead["id"] == f"job-{row.id}" and dead["what"] == "push-ghost-MLA9"
        with connector.uow as uow:  # the operator fixes the cause...
            apply_admin_tables(uow.session, TABLE, accounts=[Account("ghost", 2002, "MLA")])
            uow.commit()
        code, out, _ = self.run(connector, capsys, "jobs", "retry", dead["id"])
        assert code == 0 and out.strip() == "re-ran 1 job(s)"
        with connector.uow as uow:
            assert uow.session.scalars(select(JobRow)).all() == []

    def test_new_work_for_an_item_whose_push_is_a_dead_letter_runs(self, world, capsys):
        from sqlalchemy import select, update

        from adapters.sql.rows.jobs import JobRow
        from connector_core.domain.commands import PushItem
        from connector_core.domain.jobs import MAX_ATTEMPTS

        connector, sandbox, _ = world
        connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 10},
                                                {"sku": "B", "quantity": 4}])
        settle(connector)
        assert figures(sandbox) == (10, 10, 4, 9, 4)
        with connector.uow as uow:  # MLA1's push used up its attempts (ML was down for long)
            uow.jobs.add(PushItem("main", "MLA1"))
            uow.session.execute(update(JobRow).values(
                attempts=MAX_ATTEMPTS, dispatched_at=connector.clock.now()))
            uow.commit()
        code, out, _ = self.run(connector, capsys, "jobs", "failed", "--json")
        assert code == 0 and [d["what"] for d in json.loads(out)] == ["push-main-MLA1"]
        connector.bridge.stock_changed("A", 6)  # ML is back; the ERP reports a new figure
        settle(connector)
        assert figures(sandbox) == (6, 6, 4, 9, 3), "the dead letter swallowed the new push"
        with connector.uow as uow:
            assert uow.session.scalars(select(JobRow)).all() == []
        code, out, _ = self.run(connector, capsys, "jobs", "failed", "--json")
        assert code == 0 and json.loads(out) == []


def test_metrics_count_ml_calls_jobs_and_pushes(world):
    connector, _, client = world
    connector.bridge.stock_changed("A", 3)
    settle(connector)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'connector_ml_calls_total{method="PUT",status="200"}' in text
    assert 'connector_jobs_total{kind="PushItem",outcome="done"}' in text
    assert 'connector_pushes_total{outcome="sent"}' in text
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["checks"]["database"] == {"ok": True, "detail": "sqlite"}


@pytest.mark.parametrize("argv", [["sync", "stock", "--all"], ["jobs", "failed"],
                                  ["reconcile"], ["mappings", "verify"],
                                  ["accounts", "connect", "demo"]])
def test_commands_on_an_unmigrated_database_say_so_in_one_line(tmp_path, capsys, argv):
    from config import jobs
    from config.cli import main

    jobs.use(Connector(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "run `meli-connector db upgrade`" in err and len(err.strip().splitlines()) == 1


def test_a_burst_of_erp_changes_inside_the_push_delay_is_one_put_per_item(world):
    connector, sandbox, _ = world
    # The window is long enough for five hook calls on a loaded machine (they take ms).
    delayed = Connector(evolve(connector.settings, push_delay_seconds=3.0))
    try:
        since = time.time()
        for sku, quantity in (("A", 10), ("B", 4), ("A", 8), ("B", 3), ("A", 6)):
            delayed.bridge.stock_changed(sku, quantity)  # each hook wakes the dispatcher
        assert time.time() - since < 3.0
        assert [c for c in sandbox.calls(since) if c["method"] == "PUT"] == []  # held back
        deadline = time.monotonic() + 20
        while figures(sandbox) != (6, 6, 3, 9, 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        delayed.queue.join()
        assert figures(sandbox) == (6, 6, 3, 9, 3)
        puts = sorted(c["path"] for c in sandbox.calls(since) if c["method"] == "PUT")
        assert puts == ["/items/MLA1", "/items/MLA2", "/items/MLA3"]
    finally:
        delayed.close()
