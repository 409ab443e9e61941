"""The sandbox emulates User Products and multi-origin stock (ml_api.md §2.5-2.6): the seller's
model in ``/users``, UP items, the UP stock resource with ``x-version``, stores, the
asynchronous replication of ``available_quantity``, UPtin migrations and their notifications;
over real sockets with plain httpx."""

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ml_sandbox import DEMO_SEED, RunningSandbox
from tests.integration.ml_api.conftest import Callback, wait_until

pytestmark = pytest.mark.integration

CLASSIC, MULTI, FLEX = 123456789, 987654321, 555000111  # classic, multi-origin, UP sellers
FLEX_SEED: dict[str, Any] = {
    "sellers": [{"id": FLEX, "nickname": "FLEX_SELLER", "site_id": "MLA",
                 "user_product_seller": True},
                {"id": MULTI, "nickname": "DEMO_UP_SELLER", "site_id": "MLA",
                 "user_product_seller": True, "warehouse_management": True, "stores": [
                     *DEMO_SEED["sellers"][1]["stores"],
                     {"id": "70009", "network_node_id": "ARP70009", "tags": []}]}],
    "items": [
        {"id": "MLA3000000001", "seller_id": FLEX, "title": "Mate", "price": 100,
         "available_quantity": 10, "seller_sku": "GOURD", "user_product_id": "MLAU3000000001"},
        {"id": "MLA3000000002", "seller_id": FLEX, "title": "Mate", "price": 120,
         "listing_type_id": "gold_pro", "seller_sku": "GOURD",
         "user_product_id": "MLAU3000000001"},
        {"id": "MLA3000000003", "seller_id": FLEX, "title": "Bombilla", "price": 50,
         "seller_sku": "STRAW", "user_product_id": "MLAU3000000002",
         "logistic_type": "fulfillment", "selling_address": 4, "meli_facility": 6}]}


class Sellers:
    def __init__(self, sandbox: RunningSandbox) -> None:
        issued = sandbox.state.seed({**DEMO_SEED, "tokens": [
            {"user_id": CLASSIC}, {"user_id": MULTI}, {"user_id": FLEX}]})["tokens"]
        sandbox.state.seed(FLEX_SEED)
        self.url = sandbox.url
        self.clients = {user: httpx.Client(base_url=sandbox.url, headers={
            "Authorization": f"Bearer {issued[str(user)]['access_token']}"})
            for user in (CLASSIC, MULTI, FLEX)}
        self.control = httpx.Client(base_url=sandbox.url)
        self.config(replication_delay=0)

    def __getitem__(self, user: int) -> httpx.Client:
        return self.clients[user]

    def config(self, **settings: Any) -> None:
        self.control.post("/_sandbox/config", json=settings).raise_for_status()

    def quantity(self, item_id: str) -> int:
        return int(self.control.get("/_sandbox/state").json()["items"][item_id][
            "available_quantity"])

    def close(self) -> None:
        for client in [*self.clients.values(), self.control]:
            client.close()


@pytest.fixture
def sellers(sandbox: RunningSandbox) -> Iterator[Sellers]:
    world = Sellers(sandbox)
    yield world
    world.close()


def stock(client: httpx.Client, up_id: str) -> tuple[dict[str, Any], str]:
    answer = client.get(f"/user-products/{up_id}/stock")
    assert answer.status_code == 200, answer.text
    return answer.json(), answer.headers["x-version"]


def put_warehouses(client: httpx.Client, up_id: str, locations: list[dict[str, Any]],
                   version: str | None) -> httpx.Response:
    headers = {} if version is None else {"x-version": version}
    return client.put(f"/user-products/{up_id}/stock/type/seller_warehouse",
                      json={"locations": locations}, headers=headers)


def test_users_expose_the_sellers_model(sellers: Sellers) -> None:
    me = sellers[MULTI].get("/users/me").json()
    assert {"user_product_seller", "warehouse_management"} <= set(me["tags"])
    assert sellers[CLASSIC].get(f"/users/{MULTI}").json()["tags"] == me["tags"]
    flex = sellers[FLEX].get("/users/me").json()["tags"]
    assert "user_product_seller" in flex and "warehouse_management" not in flex
    assert sellers[CLASSIC].get("/users/me").json()["tags"] == ["normal"]


def test_items_of_a_user_product_are_single_variation_items(sellers: Sellers) -> None:
    api = sellers[MULTI]
    first, second = (api.get(f"/items/{i}").json() for i in ("MLA2000000001", "MLA2000000002"))
    assert first["variations"] == second["variations"] == []
    assert first["user_product_id"] == second["user_product_id"] == "MLAU2000000001"
    assert first["family_name"] == "Mate de calabaza"
    assert (first["available_quantity"], second["available_quantity"]) == (17, 17)
    found = api.get(f"/users/{MULTI}/items/search",
                    params={"user_product_id": "MLAU2000000001,MLAU2000000003"}).json()
    assert sorted(found["results"]) == ["MLA2000000001", "MLA2000000002", "MLA2000000004"]
    family_id = api.get("/user-products/MLAU2000000002").json()["family_id"]
    family = api.get(f"/sites/MLA/user-products-families/{family_id}").json()
    assert family["user_products_ids"] == ["MLAU2000000002", "MLAU2000000003"]
    assert sellers[CLASSIC].get("/items/MLA1000000001").json()["family_name"] is None
    assert sellers[FLEX].get("/user-products/MLAU2000000001").status_code == 403
    refused = api.put("/items/MLA2000000001", json={"variations": [{"id": 1}]})
    assert refused.status_code == 400 and refused.json()["error"] == "validation_error"


def test_stores_search_lists_the_sellers_stores(sellers: Sellers) -> None:
    found = sellers[MULTI].get(f"/users/{MULTI}/stores/search",
                               params={"tags": "stock_location"}).json()
    assert [(s["id"], s["network_node_id"]) for s in found["results"]] == [
        ("70001", "ARP70001"), ("70002", "ARP70002")]
    assert found["paging"] == {"limit": 50, "total": 2}
    assert found["results"][0]["user_id"] == str(MULTI)
    everything = sellers[MULTI].get(f"/users/{MULTI}/stores/search").json()
    assert everything["paging"]["total"] == 3
    assert sellers[FLEX].get(f"/users/{MULTI}/stores/search").status_code == 403


def test_stock_resource_versions_and_its_400_and_409(sellers: Sellers) -> None:
    api = sellers[MULTI]
    body, version = stock(api, "MLAU2000000001")
    assert body == {"locations": [
        {"type": "seller_warehouse", "network_node_id": "ARP70001", "store_id": "70001",
         "quantity": 12},
        {"type": "seller_warehouse", "network_node_id": "ARP70002", "store_id": "70002",
         "quantity": 5}], "user_id": MULTI, "id": "MLAU2000000001"}
    change = [{"store_id": "70001", "network_node_id": "ARP70001", "quantity": 3}]
    missing = put_warehouses(api, "MLAU2000000001", change, None)
    assert (missing.status_code, missing.json()) == (400, {
        "message": "Missing X-Version header", "error": "bad_request", "status": 400,
        "cause": []})
    stale = put_warehouses(api, "MLAU2000000001", change, str(int(version) - 1))
    assert (stale.status_code, stale.json()["message"]) == (409, "Version mismatch")
    done = put_warehouses(api, "MLAU2000000001", change, version)
    assert done.status_code == 200, done.text
    assert int(done.headers["x-version"]) == int(version) + 1
    assert [loc["quantity"] for loc in done.json()["locations"]] == [3, 5]
    again = put_warehouses(api, "MLAU2000000001", change, version)  # the old version again
    assert again.status_code == 409
    sellers.control.post("/_sandbox/faults", json={"next": [{"status": 409,
                                                             "path": "/user-products/"}]})
    forced = put_warehouses(api, "MLAU2000000001", change, done.headers["x-version"])
    assert (forced.status_code, forced.json()["error"]) == (409, "conflict")
    assert stock(api, "MLAU2000000001")[1] == done.headers["x-version"]
    assert sellers.quantity("MLA2000000001") == sellers.quantity("MLA2000000002") == 8


@pytest.mark.parametrize(("location", "message"), [
    ({"store_id": "99999", "quantity": 1}, "store not found: 99999"),
    ({"store_id": "70009", "quantity": 1}, "store is not configured to be a stock location"),
    ({"store_id": "", "quantity": 1}, "store cannot be null or empty"),
    ({"quantity": 1}, "store cannot be null or empty"),
    ({"store_id": "70001", "quantity": -2},
     "invalid quantity for store 70001: expected a non-negative integer"),
])
def test_store_errors_change_nothing(sellers: Sellers, location: dict[str, Any],
                                     message: str) -> None:
    api = sellers[MULTI]
    before, version = stock(api, "MLAU2000000001")
    answer = put_warehouses(api, "MLAU2000000001",
                            [{"store_id": "70002", "quantity": 0}, location], version)
    assert answer.status_code == 400
    assert answer.json() == {"message": message, "error": "bad_request", "status": 400,
                             "cause": []}
    assert stock(api, "MLAU2000000001") == (before, version)


def test_a_store_of_another_seller_and_the_other_location_types(sellers: Sellers) -> None:
    sellers.control.post("/_sandbox/stores", json={"user_id": FLEX, "id": "80001"})
    api = sellers[MULTI]
    _, version = stock(api, "MLAU2000000001")
    foreign = put_warehouses(api, "MLAU2000000001", [{"store_id": "80001", "quantity": 1}],
                             version)
    assert foreign.json()["message"] == "store does not belong to seller: 80001"
    full = api.put("/user-products/MLAU2000000001/stock/type/meli_facility",
                   json={"quantity": 1}, headers={"x-version": version})
    assert full.status_code == 400 and "meli_facility" in full.json()["message"]
    assert api.put("/user-products/MLAU2000000001/stock/type/selling_address",
                   json={"quantity": 1}, headers={"x-version": version}).status_code == 400
    flex = sellers[FLEX]
    _, flex_version = stock(flex, "MLAU3000000001")
    assert put_warehouses(flex, "MLAU3000000001", [{"store_id": "80001", "quantity": 1}],
                          flex_version).status_code == 400  # no warehouse_management tag
    no_item_put = api.put("/items/MLA2000000001", json={"available_quantity": 4})
    assert no_item_put.json()["message"] == (
        "the fields [available_quantity] are invalid for requested call")


def test_a_new_store_gets_its_stock_on_the_first_put(sellers: Sellers) -> None:
    sellers.control.post("/_sandbox/stores", json={"user_id": MULTI, "id": "70003",
                                                   "network_node_id": "ARP70003"})
    api = sellers[MULTI]
    _, version = stock(api, "MLAU2000000002")
    answer = put_warehouses(api, "MLAU2000000002", [{"store_id": "70003", "quantity": 2}],
                            version)
    assert [(loc["store_id"], loc["network_node_id"], loc["quantity"])
            for loc in answer.json()["locations"]] == [
        ("70001", "ARP70001", 4), ("70002", "ARP70002", 6), ("70003", "ARP70003", 2)]
    assert sellers.quantity("MLA2000000003") == 12


def test_replication_to_the_other_items_of_the_up_waits_for_the_delay(
        sellers: Sellers) -> None:
    sellers.config(replication_delay=60)  # nothing but a flush applies it
    api = sellers[FLEX]
    written = api.put("/items/MLA3000000001", json={"available_quantity": 7}).json()
    assert written["available_quantity"] == 7
    assert sellers.quantity("MLA3000000002") == 10  # not yet: ML copies it asynchronously
    pending = sellers.control.get("/_sandbox/replications").json()
    assert pending["delay"] == 60
    assert [p["user_product_id"] for p in pending["pending"]] == ["MLAU3000000001"]
    assert sellers.control.post("/_sandbox/replications/flush").json() == {
        "applied": ["MLAU3000000001"]}
    assert sellers.quantity("MLA3000000002") == 7
    assert sellers.control.get("/_sandbox/replications").json()["pending"] == []
    assert stock(api, "MLAU3000000001")[0]["locations"] == [
        {"type": "selling_address", "quantity": 7}]
    sellers.config(replication_delay=0)
    api.put("/items/MLA3000000002", json={"available_quantity": 0})
    item = api.get("/items/MLA3000000001").json()
    assert (item["available_quantity"], item["status"]) == (0, "paused")


def test_replication_happens_after_the_configured_delay(sellers: Sellers,
                                                       callback: Callback) -> None:
    delay = 0.3
    sellers.config(replication_delay=delay, callback_url=callback.url, notify_topics=["items"])
    started = time.monotonic()
    sellers[FLEX].put("/items/MLA3000000001", json={"available_quantity": 4})
    # no request reaches the sandbox meanwhile: its timer copies the stock and notifies
    wait_until(lambda: ("items", "/items/MLA3000000002") in {
        (n["topic"], n["resource"]) for n in callback.received}, 5, "the replication")
    assert time.monotonic() - started >= delay  # and not before
    assert sellers.quantity("MLA3000000002") == 4


def test_selling_address_and_full_stock(sellers: Sellers, callback: Callback) -> None:
    api = sellers[FLEX]
    assert api.get("/items/MLA3000000003").json()["available_quantity"] == 10
    refused = api.put("/items/MLA3000000003", json={"available_quantity": 3})
    assert refused.status_code == 400 and "fulfillment" in refused.json()["message"]
    _, version = stock(api, "MLAU3000000002")
    written = api.put("/user-products/MLAU3000000002/stock/type/selling_address",
                      json={"quantity": 1}, headers={"x-version": version})
    assert written.status_code == 200, written.text
    assert sellers.quantity("MLA3000000003") == 7  # 1 at the seller's + 6 at Full
    sellers.config(callback_url=callback.url)
    moved = sellers.control.post("/_sandbox/user-products/MLAU3000000002/stock", json={
        "locations": [{"type": "meli_facility", "quantity": 2}], "duplicates": 1}).json()
    assert int(moved["version"]) == int(written.headers["x-version"]) + 1
    assert [n["resource"] for n in callback.wait_for(2)] == [
        "/user-products/MLAU3000000002/stock"] * 2
    assert {n["topic"] for n in callback.received} == {"stock-location"}
    assert sellers.quantity("MLA3000000003") == 3


def test_sales_take_stock_from_a_store_and_cancellations_give_it_back(
        sellers: Sellers) -> None:
    control = sellers.control
    order = control.post("/_sandbox/orders", json={
        "item_id": "MLA2000000002", "quantity": 2, "store_id": "70002",
        "status": "paid"}).json()["order"]
    assert order["order_items"][0]["stock"] == {"store_id": "70002", "node_id": "ARP70002"}
    api = sellers[MULTI]
    assert [loc["quantity"] for loc in stock(api, "MLAU2000000001")[0]["locations"]] == [12, 3]
    assert sellers.quantity("MLA2000000001") == sellers.quantity("MLA2000000002") == 15
    shipment = api.get(f"/shipments/{order['shipping']['id']}",
                       headers={"x-format-new": "true"}).json()
    assert shipment["origin"]["node"]["node_id"] == "ARP70002"
    by_most = control.post("/_sandbox/orders", json={"item_id": "MLA2000000001",
                                                     "quantity": 1, "status": "paid",
                                                     "origin_pending": True}).json()["order"]
    assert by_most["order_items"][0]["stock"]["store_id"] == "70001"
    path = f"/shipments/{by_most['shipping']['id']}"
    assert api.get(path, headers={"x-format-new": "true"}).json()["origin"]["node"] is None
    control.post(f"/_sandbox{path}/status", json={"status": "ready_to_ship"})
    assert api.get(path, headers={"x-format-new": "true"}).json()["origin"]["node"] == {
        "logistic_center_id": None, "node_id": "ARP70001"}
    control.post(f"/_sandbox/orders/{order['id']}/cancel")
    assert [loc["quantity"] for loc in stock(api, "MLAU2000000001")[0]["locations"]] == [11, 5]
    too_many = control.post("/_sandbox/orders", json={"item_id": "MLA2000000001",
                                                      "quantity": 12, "store_id": "70001"})
    assert too_many.status_code == 400


def test_uptin_migration(sellers: Sellers, callback: Callback) -> None:
    control = sellers.control
    old_order = control.post("/_sandbox/orders", json={
        "item_id": "MLA1000000003", "variation_id": 180000000101}).json()["order"]
    sellers.config(callback_url=callback.url)
    result = control.post("/_sandbox/items/MLA1000000003/migrate").json()
    api = sellers[CLASSIC]
    old = api.get("/items/MLA1000000003").json()
    assert old["status"] == "closed"
    new = result["items"]
    assert [i["tags"] for i in new] == [["variations_migration_uptin"]] * 3
    assert all(i["variations"] == [] and i["family_name"] == old["title"] for i in new)
    assert len({i["user_product_id"] for i in new}) == 3  # one physical product each
    skus = [next(a["value_name"] for a in api.get(f"/items/{i['id']}", params={
        "include_attributes": "all"}).json()["attributes"] if a["id"] == "SELLER_SKU")
        for i in new]
    assert skus == ["TEE-BLK-M", "TEE-BLK-L", "TEE-WHT-M"]
    assert [i["available_quantity"] for i in new] == [7, 5, 0]
    assert [i["sold_quantity"] for i in new] == [1, 0, 0]
    family = api.get(f"/sites/MLA/user-products-families/{result['family_id']}").json()
    assert family["user_products_ids"] == [i["user_product_id"] for i in new]
    received = callback.wait_for(5)
    assert [(n["topic"], n["resource"]) for n in received] == [
        *(("items", f"/items/{i['id']}") for i in new), ("items", "/items/MLA1000000003"),
        ("user-products-families",
         f"/sites/MLA/user-products-families/{result['family_id']}")]
    assert "user_product_seller" in api.get("/users/me").json()["tags"]
    assert api.get(f"/orders/{old_order['id']}").json()["order_items"][0]["item"][
        "id"] == "MLA1000000003"
    assert control.post("/_sandbox/items/MLA1000000003/migrate").status_code == 400


def test_stock_location_notifications_drop_and_every_change(
        sellers: Sellers, callback: Callback) -> None:
    control = sellers.control
    control.post("/_sandbox/user-products/MLAU2000000001/stock", json={
        "locations": [{"type": "seller_warehouse", "store_id": "70001", "quantity": 20}],
        "drop": True})
    missed = sellers[MULTI].get("/missed_feeds", params={
        "app_id": DEMO_SEED["app"]["application_id"]}).json()["messages"]
    assert [(m["topic"], m["resource"]) for m in missed] == [
        ("stock-location", "/user-products/MLAU2000000001/stock")]
    assert json.loads(missed[0]["request"]["data"])["user_id"] == MULTI
    sellers.config(callback_url=callback.url, notify_topics=["stock-location", "items"])
    _, version = stock(sellers[MULTI], "MLAU2000000001")
    put_warehouses(sellers[MULTI], "MLAU2000000001", [{"store_id": "70002", "quantity": 1}],
                   version)
    received = callback.wait_for(3)  # the stock, then both items the replication changed
    assert sorted((n["topic"], n["resource"]) for n in received) == [
        ("items", "/items/MLA2000000001"), ("items", "/items/MLA2000000002"),
        ("stock-location", "/user-products/MLAU2000000001/stock")]
    assert sellers.control.post("/_sandbox/config", json={
        "replication_delay": -1}).status_code == 400
