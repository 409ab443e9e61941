"""Rule 7 end to end: whatever the update, no variation is ever deleted on the sandbox.

The sandbox deletes omitted variations exactly as ML does and logs every deletion, so any
update that slipped through without every id would show up in ``deleted_variations``.
"""

import contextlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.ml_api import HttpxMercadoLibreGateway
from adapters.redis_locks import ThreadLocks
from connector_core.domain.errors import MarketplaceRejected
from connector_core.domain.items import ItemUpdate, VariationUpdate, plan_item_update
from ml_sandbox import RunningSandbox, start_sandbox
from tests.fakes import FakeTokenStore
from tests.ml_support import ACCOUNT, SELLER_ID, build_gateway, seed_tokens

VARIATION_IDS = [7001, 7002, 7003, 7004]


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[RunningSandbox, HttpxMercadoLibreGateway]]:
    with start_sandbox() as sandbox:
        issued = sandbox.state.seed({"sellers": [{"id": SELLER_ID}],
                                     "tokens": [{"user_id": SELLER_ID}]})
        tokens = FakeTokenStore()
        seed_tokens(tokens, issued["tokens"][str(SELLER_ID)])
        gateway, client = build_gateway(sandbox.url, tokens, ThreadLocks())
        try:
            yield sandbox, gateway
        finally:
            client.close()


def reset_item(sandbox: RunningSandbox, quantities: list[int], prices: list[int]) -> None:
    sandbox.state.add_item({"id": "MLA700", "seller_id": SELLER_ID, "variations": [
        {"id": vid, "available_quantity": q, "price": p, "seller_sku": f"SKU-{vid}"}
        for vid, q, p in zip(VARIATION_IDS, quantities, prices, strict=True)]})


quantities = st.lists(st.integers(0, 50), min_size=4, max_size=4)
prices = st.lists(st.sampled_from([1000, 1000, 1000, 1250]), min_size=4, max_size=4)
wanted = st.dictionaries(st.sampled_from([*VARIATION_IDS, 9999, None]), st.integers(0, 60),
                         max_size=6)
variation_update = st.builds(
    VariationUpdate, st.sampled_from([*VARIATION_IDS, 8888]),
    st.none() | st.integers(0, 60), st.none() | st.sampled_from([Decimal(900), Decimal(1100)]))


@pytest.mark.integration
@settings(max_examples=40, deadline=None)
@given(start=quantities, start_prices=prices, wanted_qty=wanted,
       price=st.none() | st.sampled_from([Decimal(999), Decimal("1234.50")]))
def test_planned_updates_never_delete_a_variation(
        env: Any, start: list[int], start_prices: list[int], wanted_qty: dict[Any, int],
        price: Decimal | None) -> None:
    sandbox, gateway = env
    reset_item(sandbox, start, start_prices)
    before = len(sandbox.state.deleted_variations)
    item = gateway.get_item(ACCOUNT, "MLA700")
    update, _problems = plan_item_update(item, wanted_qty, price)
    if not update.empty:
        after = gateway.update_item(ACCOUNT, update)
        assert [v.id for v in after.variations] == VARIATION_IDS
        for v in after.variations:
            if v.id in wanted_qty:
                assert v.available_quantity == wanted_qty[v.id]
        if price is not None:
            assert {v.price for v in after.variations} == {price}
    assert len(sandbox.state.deleted_variations) == before
    assert [v["id"] for v in sandbox.state.items["MLA700"]["variations"]] == VARIATION_IDS


@pytest.mark.integration
@settings(max_examples=40, deadline=None)
@given(start=quantities, sent=st.lists(variation_update, max_size=6),
       item_qty=st.none() | st.integers(0, 9))
@example(start=[0, 0, 0, 0], item_qty=None,  # every variation, in another order
         sent=[VariationUpdate(7002), VariationUpdate(7001), VariationUpdate(7003),
               VariationUpdate(7004)])
def test_arbitrary_updates_are_refused_rather_than_deleting(
        env: Any, start: list[int], sent: list[VariationUpdate], item_qty: int | None) -> None:
    sandbox, gateway = env
    reset_item(sandbox, start, [1000] * 4)
    before = len(sandbox.state.deleted_variations)
    gateway.get_item(ACCOUNT, "MLA700")
    update = ItemUpdate(item_id="MLA700", variations=tuple(sent),
                        available_quantity=item_qty) if sent else ItemUpdate(
        item_id="MLA700", available_quantity=item_qty)
    with contextlib.suppress(MarketplaceRejected):
        gateway.update_item(ACCOUNT, update)
    assert len(sandbox.state.deleted_variations) == before
    assert [v["id"] for v in sandbox.state.items["MLA700"]["variations"]] == VARIATION_IDS


@pytest.mark.integration
def test_the_sandbox_does_delete_omitted_variations(env: Any) -> None:
    """The emulator is faithful (else the tests above prove nothing)."""
    sandbox, _gateway = env
    reset_item(sandbox, [1, 2, 3, 4], [1000] * 4)
    token = next(iter(sandbox.state.access))
    response = httpx.put(f"{sandbox.url}/items/MLA700", json={"variations": [{"id": 7001}]},
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [v["id"] for v in response.json()["variations"]] == [7001]
    assert {d["variation_id"] for d in sandbox.state.deleted_variations[-3:]} == {
        7002, 7003, 7004}
