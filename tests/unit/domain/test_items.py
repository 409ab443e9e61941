"""Rule 7: an update never drops a variation and sends one price to all of them."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from connector_core.domain.items import MarketItem, MarketVariation, plan_item_update


@st.composite
def items(draw: st.DrawFn) -> MarketItem:
    ids = draw(st.lists(st.integers(1, 10**12), unique=True, max_size=6))
    return MarketItem(
        id="MLA1", site_id="MLA", seller_id=1, status="active",
        price=Decimal(draw(st.integers(1, 500))), currency_id="ARS",
        available_quantity=draw(st.integers(0, 50)),
        variations=tuple(MarketVariation(i, draw(st.integers(0, 50)),
                                         Decimal(draw(st.integers(1, 500)))) for i in ids))


@given(items(), st.data())
def test_every_variation_id_is_sent_whatever_the_update(item, data):
    keys = [v.id for v in item.variations] + [None, 999]
    wanted = data.draw(st.dictionaries(st.sampled_from(keys), st.integers(0, 60)))
    price = data.draw(st.none() | st.integers(1, 600).map(Decimal))
    update, problems = plan_item_update(item, wanted, price)
    if item.has_variations:
        assert update.variations is not None
        assert [v.id for v in update.variations] == [v.id for v in item.variations]
        prices = {v.price for v in update.variations}
        assert prices in ({None}, {price})
        assert update.available_quantity is None and update.price is None
        for v, sent in zip(item.variations, update.variations, strict=True):
            if v.id in wanted and wanted[v.id] != v.available_quantity:
                assert sent.available_quantity == wanted[v.id]
            else:
                assert sent.available_quantity is None
    else:
        assert update.variations is None
        if None in wanted and wanted[None] != item.available_quantity:
            assert update.available_quantity == wanted[None]
    unknown = [k for k in wanted if k == 999 or (k is not None and not item.has_variations)]
    assert len(problems) >= len(unknown)


def test_nothing_is_sent_when_ml_already_shows_the_figures():
    item = MarketItem(id="MLA1", site_id="MLA", seller_id=1, status="active",
                      price=Decimal(10), currency_id="ARS", available_quantity=5,
                      variations=(MarketVariation(1, 5, Decimal(10)),))
    update, problems = plan_item_update(item, {1: 5}, Decimal(10))
    assert update.empty and not problems


def test_an_item_with_variations_mapped_without_a_variation_is_reported_not_sent():
    item = MarketItem(id="MLA1", site_id="MLA", seller_id=1, status="active",
                      price=Decimal(10), currency_id="ARS", available_quantity=5,
                      variations=(MarketVariation(1, 5, Decimal(10)),))
    update, problems = plan_item_update(item, {None: 3})
    assert update.empty
    assert "mapped without a variation id" in problems[0].message
