"""The sandbox answers with ML's shapes: every key of a real payload (``tests/fixtures/ml``) is
in the sandbox's payload for the same resource, with the same JSON type, at every depth. The
sandbox may add keys ml_api.md documents; it may not drop or retype ML's."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ml_sandbox import DEMO_SEED, RunningSandbox
from tests.integration.ml_api.conftest import Callback

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ml"
GLOBAL_SELLING_ONLY = {"text_translated", "marketplace_item_id", "site_id"}  # CBT questions
TOKENS = {t["user_id"]: t["access_token"] for t in DEMO_SEED["tokens"]}
CLASSIC, MULTI = 123456789, 987654321


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def differences(real: Any, ours: Any, path: str = "$",
                skip: frozenset[str] = frozenset()) -> list[str]:
    """Where ``ours`` lacks a key of ``real`` or has another type (null matches anything)."""
    if real is None or ours is None:
        return []
    if kind(real) != kind(ours):
        return [f"{path}: ML has {kind(real)}, the sandbox {kind(ours)}"]
    if isinstance(real, dict):
        found = []
        for key, value in real.items():
            if key in skip:
                continue
            if key not in ours:
                found.append(f"{path}.{key}: missing")
            else:
                found += differences(value, ours[key], f"{path}.{key}", skip)
        return found
    if isinstance(real, list) and real and ours:
        return differences(real[0], ours[0], f"{path}[0]", skip)
    return []


def test_the_comparison_catches_what_it_should() -> None:
    assert differences({"a": {"b": 1}}, {"a": {"b": 2.5, "c": 1}}) == []
    assert differences({"a": {"b": 1}}, {"a": {}}) == ["$.a.b: missing"]
    assert differences({"a": [{"b": "x"}]}, {"a": [{"b": 1}]}) == [
        "$.a[0].b: ML has str, the sandbox number"]
    assert differences({"a": True}, {"a": 1}) == ["$.a: ML has boolean, the sandbox number"]


@pytest.fixture
def world(sandbox: RunningSandbox) -> Iterator[dict[int, httpx.Client]]:
    sandbox.state.seed(DEMO_SEED)
    sandbox.state.seed({"sellers": [{"id": 555, "user_product_seller": True}], "items": [
        {"id": "MLA77", "seller_id": 555, "available_quantity": 5}],
        "tokens": [{"user_id": 555, "access_token": "APP_USR-flex-555"}]})
    tokens = {**TOKENS, 555: "APP_USR-flex-555"}
    clients = {user: httpx.Client(base_url=sandbox.url, headers={
        "Authorization": f"Bearer {tokens[user]}"}) for user in (CLASSIC, MULTI, 555)}
    yield clients
    for client in clients.values():
        client.close()


def test_shipment_pack_and_order_shapes(world: dict[int, httpx.Client]) -> None:
    api = world[CLASSIC]
    made = api.post("/_sandbox/packs", json={"status": "paid", "orders": [
        {"item_id": "MLA1000000001"}, {"item_id": "MLA1000000004"}]}).json()
    sid = made["pack"]["shipment"]["id"]
    api.post(f"/_sandbox/shipments/{sid}/status", json={"status": "ready_to_ship",
                                                         "substatus": "printed"})
    shipment = api.get(f"/shipments/{sid}", headers={"x-format-new": "true"}).json()
    assert differences(fixture("shipment_gs_doc.json"), shipment) == []
    pack = api.get(f"/packs/{made['pack']['id']}").json()
    assert differences(fixture("pack_gs_doc.json"), pack) == []
    order = api.get(f"/orders/{made['orders'][0]['id']}").json()
    assert differences(fixture("order_gs_doc_2000003508419013.json")["shipping"],
                       order["shipping"]) == []
    assert kind(order["pack_id"]) == "number"


def test_question_shapes(world: dict[int, httpx.Client]) -> None:
    api = world[CLASSIC]
    question = api.post("/_sandbox/questions", json={"item_id": "MLA1000000001",
                                                     "text": "¿Hay stock?"}).json()["question"]
    api.post("/answers", json={"question_id": question["id"], "text": "Sí"})
    skip = frozenset(GLOBAL_SELLING_ONLY)
    read = api.get(f"/questions/{question['id']}").json()
    assert differences(fixture("question_gs_doc.json"), read, skip=skip) == []
    found = api.get("/questions/search", params={"seller_id": CLASSIC}).json()
    assert differences(fixture("questions_search_gs_doc.json"), found, skip=skip) == []


def test_user_product_stock_shapes(world: dict[int, httpx.Client]) -> None:
    warehouses = world[MULTI].get("/user-products/MLAU2000000001/stock")
    assert differences(fixture("user_product_stock_seller_warehouse_ml_doc.json"),
                       warehouses.json()) == []
    assert int(warehouses.headers["x-version"]) >= 1
    selling = world[555].get("/user-products/"
                             f"{world[555].get('/items/MLA77').json()['user_product_id']}/stock")
    assert differences(fixture("user_product_stock_selling_address_ml_doc.json"),
                       selling.json()) == []


def test_stock_location_notification_shape(world: dict[int, httpx.Client],
                                           callback: Callback) -> None:
    api = world[MULTI]
    api.post("/_sandbox/config", json={"callback_url": callback.url})
    api.post("/_sandbox/user-products/MLAU2000000001/stock", json={
        "locations": [{"type": "seller_warehouse", "store_id": "70001", "quantity": 1}]})
    (posted,) = callback.wait_for(1)
    real = fixture("notification_stock_locations_ml_doc.json")
    assert differences(real, posted) == [] and set(posted) == set(real)
