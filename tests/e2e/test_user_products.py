"""User Products end to end, through the sandbox: a multi-origin seller with two warehouses
gets rule 1 per store through sales (of known and unknown origin), cancellations, accounted
orders, ML-side changes and 409 races; a UP seller without multi-origin stock gets one write
per UP; the CLI shows the model and the stores (migrations: test_up_migration.py)."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from adapters.sql.admin import apply_admin_tables
from config.wsgi import make_app
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.commands import RefreshUserProducts
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.domain.user_products import StoreRef
from ml_sandbox.server import start_sandbox
from tests.e2e.conftest import sandbox_connector

pytestmark = pytest.mark.e2e

MULTI, SINGLE = 2001, 2003
UP, UP1 = "MLAU3000000001", "MLAU3000000002"
FULL_UP, FULL_UP2 = "MLAU3000000003", "MLAU3000000004"
STORES = (StoreRef("north", "70001", "ARP70001"), StoreRef("south", "70002", "ARP70002"))
SEED = {
    "app": {"client_id": "123", "client_secret": "shh", "application_id": 555},
    "sellers": [
        {"id": MULTI, "nickname": "MULTI", "site_id": "MLA", "user_product_seller": True,
         "warehouse_management": True, "stores": [
             {"id": "70001", "network_node_id": "ARP70001"},
             {"id": "70002", "network_node_id": "ARP70002"}]},
        {"id": SINGLE, "nickname": "SINGLE", "site_id": "MLA", "user_product_seller": True},
    ],
    "items": [
        *({"id": f"MLA3{n}", "seller_id": MULTI, "title": "Mate", "price": 100 + n,
           "seller_sku": "MATE", "user_product_id": UP,
           **({"stock_locations": [{"store_id": "70001", "quantity": 1},
                                   {"store_id": "70002", "quantity": 1}]} if n == 1 else {})}
          for n in (1, 2, 3)),
        *({"id": f"MLA5{n}", "seller_id": SINGLE, "title": "Termo", "price": 200,
           "seller_sku": "TERMO", "user_product_id": UP1, "available_quantity": 1}
          for n in (1, 2, 3)),
        # Full + Flex: ML's warehouse holds 5, the seller's own address 1
        {"id": "MLA61", "seller_id": SINGLE, "title": "Bombilla", "price": 50,
         "seller_sku": "BOMBILLA", "user_product_id": FULL_UP, "logistic_type": "fulfillment",
         "meli_facility": 5, "selling_address": 1},
        {"id": "MLA62", "seller_id": SINGLE, "title": "Yerbera", "price": 50,
         "seller_sku": "YERBERA", "user_product_id": FULL_UP2, "meli_facility": 4,
         "selling_address": 1},  # Full stock the item's logistic type does not tell
    ],
    "tokens": [{"user_id": MULTI, "refresh_token": "TG-seed-2001", "expires_in": 21600},
               {"user_id": SINGLE, "refresh_token": "TG-seed-2003", "expires_in": 21600}],
}
ACCOUNTS = [Account("multi", MULTI, "MLA", warehouses=frozenset({"north", "south"}),
                    stores=STORES),
            Account("single", SINGLE, "MLA")]
TABLE = MappingTable([*(MappingRow("MATE", Listing("multi", f"MLA3{n}")) for n in (1, 2, 3)),
                      *(MappingRow("TERMO", Listing("single", f"MLA5{n}")) for n in (1, 2, 3)),
                      MappingRow("BOMBILLA", Listing("single", "MLA61")),
                      MappingRow("YERBERA", Listing("single", "MLA62"))])


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")  # for the CLI
    sandbox = start_sandbox()
    httpx.post(f"{sandbox.url}/_sandbox/seed", json=SEED).raise_for_status()
    connector = sandbox_connector(tmp_path, sandbox.url)
    with connector.uow as uow:
        apply_admin_tables(uow.session, TABLE, accounts=ACCOUNTS)
        uow.commit()
    for name, user in (("multi", MULTI), ("single", SINGLE)):
        connector.tokens.save(name, TokenSet(
            access_token="", refresh_token=f"TG-seed-{user}",
            expires_at=datetime.now(UTC) - timedelta(seconds=1), user_id=user))
    for name in ("multi", "single"):  # what `accounts list --refresh` does
        connector.jobs.handle(RefreshUserProducts(name))
    settle(connector, sandbox)  # the pushes the refresh queued: nothing to publish yet
    client = make_app(connector).test_client()
    yield connector, sandbox, client
    connector.close()
    sandbox.stop()


def settle(connector, sandbox):
    connector.jobs.dispatch()
    connector.queue.join()
    sandbox.flush_replications()


def stores(sandbox) -> dict[str, int]:
    up = sandbox.state.user_products[UP]
    return {loc["store_id"]: loc["quantity"] for loc in up["locations"]
            if loc["type"] == "seller_warehouse"}


def calls(sandbox, since=0.0):
    return [(c["method"], c["path"]) for c in sandbox.calls(since)
            if not c["path"].startswith("/oauth")]


def sell(sandbox, client, item_id, quantity, store_id):
    order = httpx.post(f"{sandbox.url}/_sandbox/orders", json={
        "seller_id": MULTI, "item_id": item_id, "quantity": quantity, "status": "paid",
        "store_id": store_id, "notify": False}).json()["order"]
    notify(client, f"/orders/{order['id']}", "orders_v2")
    return order["id"]


def notify(client, resource, topic, user_id=MULTI):
    answer = client.post("/notifications", json={
        "resource": resource, "user_id": user_id, "topic": topic, "application_id": 555})
    assert answer.status_code == 200


def test_the_model_is_known_per_account_and_per_listing(world):
    connector, _, _ = world
    with connector.uow as uow:
        multi = uow.user_products.seller_model("multi")
        single = uow.user_products.seller_model("single")
        assert (multi.user_product_seller, multi.multi_origin) == (True, True)
        assert (single.user_product_seller, single.multi_origin) == (True, False)
        known = uow.user_products.known_items("multi", ["MLA31", "MLA32", "MLA33"])
        assert {k.user_product_id for k in known.values()} == {UP}


def test_multi_origin_stock_follows_rule_1_per_warehouse(world):
    connector, sandbox, client = world
    started = datetime.now().timestamp()
    connector.bridge.stock_changed(updates=[
        {"sku": "MATE", "quantity": 10, "warehouse": "north"},
        {"sku": "MATE", "quantity": 4, "warehouse": "south"}])
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 10, "70002": 4}
    made = calls(sandbox, started)
    # one stock write for the UP, whatever its three items: multiget, stock read, stock write
    assert made == [("GET", "/items"), ("GET", f"/user-products/{UP}/stock"),
                    ("PUT", f"/user-products/{UP}/stock/type/seller_warehouse")]
    assert all(sandbox.state.items[f"MLA3{n}"]["available_quantity"] == 14 for n in (1, 2, 3))

    # a sale from the south store holds against the south warehouse only
    order = sell(sandbox, client, "MLA32", 3, "70002")
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 10, "70002": 1}
    with connector.uow as uow:
        (hold,) = uow.stock.holds_for_order(order)
        assert hold.origin_node == "ARP70002"

    # the ERP accounts for it, then reports the shelf: not counted twice
    connector.bridge.order_accounted(order)
    connector.bridge.stock_changed("MATE", 1, warehouse="south")
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 10, "70002": 1}

    # a sale from the north store, then cancelled: its units come back
    order = sell(sandbox, client, "MLA33", 2, "70001")
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 8, "70002": 1}
    httpx.post(f"{sandbox.url}/_sandbox/orders/{order}/cancel",
               json={"notify": False}).raise_for_status()
    notify(client, f"/orders/{order}", "orders_v2")
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 10, "70002": 1}
    types = [e.type.value for e in connector.bridge.events().events]
    assert types.count("order.cancelled") == 1


def test_a_409_is_read_again_and_written_with_the_new_version(world):
    connector, sandbox, _ = world
    connector.bridge.stock_changed(updates=[
        {"sku": "MATE", "quantity": 6, "warehouse": "north"},
        {"sku": "MATE", "quantity": 2, "warehouse": "south"}])
    settle(connector, sandbox)
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"next": [
        {"status": 409, "path": f"/user-products/{UP}/stock/type"},
        {"status": 409, "path": f"/user-products/{UP}/stock/type"}]}).raise_for_status()
    started = datetime.now().timestamp()
    connector.bridge.stock_changed("MATE", 9, warehouse="north")
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 9, "70002": 2}
    stock_calls = [c for c in calls(sandbox, started) if c[1].startswith("/user-products")]
    assert stock_calls == [("GET", f"/user-products/{UP}/stock"),
                           ("PUT", f"/user-products/{UP}/stock/type/seller_warehouse")] * 3


def test_an_ml_side_change_is_corrected_by_the_stock_location_notification(world):
    connector, sandbox, client = world
    connector.bridge.stock_changed(updates=[
        {"sku": "MATE", "quantity": 5, "warehouse": "north"},
        {"sku": "MATE", "quantity": 5, "warehouse": "south"}])
    settle(connector, sandbox)
    httpx.post(f"{sandbox.url}/_sandbox/user-products/{UP}/stock", json={
        "locations": [{"type": "seller_warehouse", "store_id": "70001", "quantity": 40}],
        "notify": False}).raise_for_status()
    notify(client, f"/user-products/{UP}/stock", "stock-location")
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 5, "70002": 5}


def test_a_seller_without_multi_origin_gets_one_item_write_per_up(world):
    connector, sandbox, _ = world
    started = datetime.now().timestamp()
    connector.bridge.stock_changed("TERMO", 7)
    settle(connector, sandbox)
    made = calls(sandbox, started)
    assert made == [("GET", "/items"), ("PUT", "/items/MLA51")]
    assert [sandbox.state.items[f"MLA5{n}"]["available_quantity"] for n in (1, 2, 3)] == [7] * 3


def test_the_seller_stores_are_listed_from_ml(world):
    connector, _, _ = world
    with connector.uow as uow:
        account = uow.accounts.get("multi")
    found = connector.user_products.stores(account)
    assert [(s.id, s.network_node_id, s.stock_location) for s in found] == [
        ("70001", "ARP70001", True), ("70002", "ARP70002", True)]


def test_a_store_ml_refuses_is_audited_and_nothing_else_written(world):
    connector, sandbox, _ = world
    with connector.uow as uow:  # the admin maps a warehouse to a store that is not the seller's
        account = uow.accounts.get("multi")
        uow.accounts.upsert(Account("multi", MULTI, "MLA", warehouses=account.warehouses,
                                    stores=(STORES[0], StoreRef("south", "79999", "ARP79999"))))
        uow.commit()
    connector.bridge.stock_changed(updates=[
        {"sku": "MATE", "quantity": 6, "warehouse": "north"},
        {"sku": "MATE", "quantity": 2, "warehouse": "south"}])
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 1, "70002": 1}, "nothing half-applied"
    with connector.uow as uow:
        (entry,) = [e for e in uow.audit.entries(account="multi", item_id=UP, limit=5)
                    if e.action == "push-stock"]
    assert entry.outcome.value == "rejected" and "79999" in entry.reason


def test_the_cli_shows_the_model_refreshes_it_and_lists_the_stores(world, capsys):
    from config import jobs
    from config.cli import main

    connector, _, _ = world
    jobs.use(connector)
    with connector.uow as uow:  # forget what the fixture read: `--refresh` reads it again
        uow.session.execute(text("DELETE FROM ml_seller_models"))
        uow.commit()
    assert main(["accounts", "list", "--json"]) == 0
    assert {a["name"]: a["model"] for a in json.loads(capsys.readouterr().out)} == {
        "multi": "unknown", "single": "unknown"}
    assert main(["accounts", "list", "--refresh"]) == 0
    out, err = capsys.readouterr()
    assert "multi: user products, multi-origin; 3 mapped item(s) on 1 user product(s)" in err
    lines = dict(line.split("\t", 1) for line in out.splitlines())
    assert "\tuser products, multi-origin\t" in lines["multi"]
    assert "\tuser products\t" in lines["single"]
    assert main(["accounts", "stores", "multi"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "70001\tARP70001\tStore 70001\twarehouse north",
        "70002\tARP70002\tStore 70002\twarehouse south"]


def test_a_sale_of_unknown_origin_counts_against_every_warehouse(world):
    connector, sandbox, client = world
    connector.bridge.stock_changed(updates=[
        {"sku": "MATE", "quantity": 10, "warehouse": "north"},
        {"sku": "MATE", "quantity": 4, "warehouse": "south"}])
    settle(connector, sandbox)
    httpx.post(f"{sandbox.url}/_sandbox/user-products/{UP}/stock", json={
        "locations": [{"type": "meli_facility", "quantity": 5}],
        "notify": False}).raise_for_status()  # Full inbound
    order = httpx.post(f"{sandbox.url}/_sandbox/orders", json={
        "seller_id": MULTI, "item_id": "MLA31", "quantity": 3, "status": "paid",
        "logistic_type": "fulfillment", "notify": False}).json()["order"]
    assert "stock" not in order["order_items"][0]
    notify(client, f"/orders/{order['id']}", "orders_v2")
    settle(connector, sandbox)
    with connector.uow as uow:
        (hold,) = uow.stock.holds_for_order(order["id"])
        assert hold.origin_node is None
    assert stores(sandbox) == {"70001": 7, "70002": 1}

    connector.bridge.order_accounted(order["id"])
    connector.bridge.stock_changed(updates=[
        {"sku": "MATE", "quantity": 10, "warehouse": "north"},
        {"sku": "MATE", "quantity": 4, "warehouse": "south"}])
    settle(connector, sandbox)
    assert stores(sandbox) == {"70001": 10, "70002": 4}


def locations(sandbox, up_id):
    return {loc["type"]: loc["quantity"]
            for loc in sandbox.state.user_products[up_id]["locations"]}


def test_full_and_flex_write_the_sellers_part_and_never_full(world):
    connector, sandbox, _ = world
    started = datetime.now().timestamp()
    connector.bridge.stock_changed("BOMBILLA", 7)
    settle(connector, sandbox)
    assert locations(sandbox, FULL_UP) == {"selling_address": 7, "meli_facility": 5}
    assert calls(sandbox, started) == [
        ("GET", "/items"), ("GET", f"/user-products/{FULL_UP}/stock"),
        ("PUT", f"/user-products/{FULL_UP}/stock/type/selling_address")]
    assert sandbox.state.items["MLA61"]["available_quantity"] == 12  # ML shows the sum

    # Full stock the item does not announce: ML refuses the item write, the stock resource
    # takes it in the same push
    started = datetime.now().timestamp()
    connector.bridge.stock_changed("YERBERA", 3)
    settle(connector, sandbox)
    assert locations(sandbox, FULL_UP2) == {"selling_address": 3, "meli_facility": 4}
    assert calls(sandbox, started) == [
        ("GET", "/items"), ("PUT", "/items/MLA62"),
        ("GET", f"/user-products/{FULL_UP2}/stock"),
        ("PUT", f"/user-products/{FULL_UP2}/stock/type/selling_address")]
