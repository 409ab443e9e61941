"""Hostile input on the sandbox's User Products and after-sale endpoints: whatever the body,
header or query, the answer is ML's 4xx body (never a 5xx), and a refused UP stock write
changes neither the stock nor its version."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ml_sandbox import DEMO_SEED, start_sandbox

pytestmark = pytest.mark.integration

TOKENS = {t["user_id"]: t["access_token"] for t in DEMO_SEED["tokens"]}
ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["locations", "quantity", "store_id", "network_node_id",
                         "question_id", "text", "available_quantity", "x"]) | st.text(
            max_size=8), inner, max_size=4),
    max_leaves=12)
location = st.fixed_dictionaries({}, optional={
    "store_id": st.sampled_from(["70001", "70002", "70009", "", "1"]) | json_values,
    "network_node_id": json_values,
    "quantity": st.integers(-3, 30) | json_values})


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with start_sandbox() as sandbox:
        sandbox.state.seed(DEMO_SEED)
        sandbox.state.seed({"sellers": [{"id": 987654321, "stores": [
            *DEMO_SEED["sellers"][1]["stores"], {"id": "70009", "tags": []}],
            "user_product_seller": True, "warehouse_management": True}]})
        with httpx.Client(base_url=sandbox.url, headers={
                "Authorization": f"Bearer {TOKENS[987654321]}"}) as client:
            client.post("/_sandbox/config", json={"replication_delay": 0})
            yield client


def refused_like_ml(answer: httpx.Response) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert set(answer.json()) >= {"message", "error", "status", "cause"}


@settings(max_examples=60, deadline=None)
@example(kind="seller_warehouse", version="7²", body={})
@given(kind=st.sampled_from(["seller_warehouse", "selling_address", "meli_facility", "x"]),
       version=st.none() | ASCII.map(str.strip) | st.just("CURRENT"),  # as HTTP sends it
       body=json_values | st.fixed_dictionaries({"locations": st.lists(location,
                                                                        max_size=3)}))
def test_up_stock_writes(api: httpx.Client, kind: str, version: str | None,
                         body: Any) -> None:
    before = api.get("/user-products/MLAU2000000001/stock")
    if version == "CURRENT":
        version = before.headers["x-version"]
    answer = api.put(f"/user-products/MLAU2000000001/stock/type/{kind}", json=body,
                     headers={} if version is None else {
                         "x-version": version.encode("latin-1")})
    refused_like_ml(answer)
    if answer.status_code != 200:  # nothing half-applied
        after = api.get("/user-products/MLAU2000000001/stock")
        assert (after.json(), after.headers["x-version"]) == (
            before.json(), before.headers["x-version"])


@settings(max_examples=40, deadline=None)
@given(body=json_values, item=st.sampled_from(["MLA2000000001", "MLA1000000001"]))
def test_item_puts_and_answers(api: httpx.Client, body: Any, item: str) -> None:
    refused_like_ml(api.put(f"/items/{item}", json=body))
    refused_like_ml(api.post("/answers", json=body))


@settings(max_examples=40, deadline=None)
@given(params=st.dictionaries(st.sampled_from([
    "shipment_ids", "response_type", "savePdf", "item", "seller_id", "status", "limit",
    "offset", "sort_fields", "sort_types", "from", "tags"]),
    ASCII | st.text(max_size=10) | st.sampled_from(["1²", "٣", "12,²"]), max_size=5),
    path=st.sampled_from(["/shipment_labels", "/questions/search",
                          "/users/987654321/stores/search"]))
@example(params={"shipment_ids": "1²"}, path="/shipment_labels")
@example(params={"seller_id": "9²"}, path="/questions/search")
def test_queries(api: httpx.Client, params: dict[str, str], path: str) -> None:
    refused_like_ml(api.get(path, params=params))
