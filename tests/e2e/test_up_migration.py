"""A UPtin migration on the sandbox: the old item closes, the connector records it and the
new items, stops pushing to the closed one, and `mappings verify`/`discover` lead the admin
to the new rows."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.sql.admin import apply_admin_tables, stored_table
from config.commands._up_accounts import replacements_finder
from config.wsgi import make_app
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.services.catalog import verify
from connector_core.services.catalog_discovery import discover
from ml_sandbox.server import start_sandbox
from tests.e2e.conftest import sandbox_connector

pytestmark = pytest.mark.e2e

SELLER = 2002
SEED = {
    "app": {"client_id": "123", "client_secret": "shh", "application_id": 555},
    "sellers": [{"id": SELLER, "nickname": "CLASSIC", "site_id": "MLA"}],
    "items": [{"id": "MLA40", "seller_id": SELLER, "title": "Remera", "price": 100,
               "variations": [{"id": 401, "available_quantity": 1, "seller_sku": "V1"},
                              {"id": 402, "available_quantity": 1, "seller_sku": "V2"}]}],
    "tokens": [{"user_id": SELLER, "refresh_token": "TG-seed-2002", "expires_in": 21600}],
}
TABLE = MappingTable([MappingRow("V1", Listing("shop", "MLA40", 401)),
                      MappingRow("V2", Listing("shop", "MLA40", 402))])


@pytest.fixture
def world(tmp_path):
    sandbox = start_sandbox()
    httpx.post(f"{sandbox.url}/_sandbox/seed", json=SEED).raise_for_status()
    connector = sandbox_connector(tmp_path, sandbox.url)
    with connector.uow as uow:
        apply_admin_tables(uow.session, TABLE, accounts=[Account("shop", SELLER, "MLA")])
        uow.commit()
    connector.tokens.save("shop", TokenSet(
        access_token="", refresh_token="TG-seed-2002",
        expires_at=datetime.now(UTC) - timedelta(seconds=1), user_id=SELLER))
    yield connector, sandbox, make_app(connector).test_client()
    connector.close()
    sandbox.stop()


def settle(connector, sandbox):
    connector.jobs.dispatch()
    connector.queue.join()
    sandbox.flush_replications()


def test_a_migration_strands_no_mapping(world):
    connector, sandbox, client = world
    connector.bridge.stock_changed(updates=[{"sku": "V1", "quantity": 5},
                                            {"sku": "V2", "quantity": 3}])
    settle(connector, sandbox)
    migrated = httpx.post(f"{sandbox.url}/_sandbox/items/MLA40/migrate",
                          json={"notify": False}).json()
    new_items = sorted(i["id"] if isinstance(i, dict) else i for i in migrated["items"])
    for topic, resource in (
            ("items", "/items/MLA40"),
            ("user-products-families",
             f"/sites/MLA/user-products-families/{migrated['family_id']}")):
        answer = client.post("/notifications", json={
            "resource": resource, "user_id": SELLER, "topic": topic, "application_id": 555})
        assert answer.status_code == 200
    settle(connector, sandbox)

    with connector.uow as uow:  # recorded: the closed item, the new ones and the new model
        assert uow.user_products.known_items("shop", ["MLA40"])["MLA40"].closed
        assert uow.user_products.migrated_in("shop", ["V1", "V2"]) == {
            sku: [item] for sku, item in _by_sku(sandbox, new_items).items()}
        assert uow.user_products.seller_model("shop").user_product_seller

    started = datetime.now().timestamp()
    connector.bridge.stock_changed("V1", 4)
    settle(connector, sandbox)
    assert not [c for c in sandbox.calls(started) if c["path"].startswith("/items")], \
        "pushes to the closed item stopped"

    with connector.uow as uow:
        rows, _, _ = stored_table(uow.session)
        accounts = {a.name: a for a in uow.accounts.list()}
    report = verify(connector.gateway, accounts, rows,
                    replacements=replacements_finder(connector))
    messages = {(f.sku, f.item_id): f.message for f in report.problems}
    assert set(messages) == {("V1", "MLA40"), ("V2", "MLA40")}
    for sku, message in messages.items():
        assert "stranded: its SKU is now sold by" in message
        assert _by_sku(sandbox, new_items)[sku[0]] in message
    proposed = discover(connector.gateway, accounts["shop"], rows).proposed
    assert {(r.sku, r.listing.item_id) for r in proposed} == {
        (sku, item) for sku, item in _by_sku(sandbox, new_items).items()}


def _sku(sandbox, item_id):
    return next(a["value_name"] for a in sandbox.state.items[item_id]["attributes"]
                if a["id"] == "SELLER_SKU")


def _by_sku(sandbox, items):
    return {_sku(sandbox, i): i for i in items}
