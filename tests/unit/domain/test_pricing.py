"""Rule 6: floor, ceiling, targets, steps and min_change, in Decimal."""

from decimal import Decimal

import pytest
from attrs import evolve
from hypothesis import assume, given
from hypothesis import strategies as st

from connector_core.domain.mapping import Listing
from connector_core.domain.pricing import (
    PriceDecision,
    PriceInputs,
    PriceOutcome,
    PricingPolicy,
    PricingRule,
    Strategy,
    combine_for_item,
    currency_step,
    decide_price,
)

D = Decimal


def money(lo: str = "0", hi: str = "100000") -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=D(lo), max_value=D(hi), places=2, allow_nan=False,
                       allow_infinity=False)


def rates(hi: str = "0.6") -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=D(0), max_value=D(hi), places=4)


@st.composite
def rules(draw: st.DrawFn) -> PricingRule:
    min_markup = draw(rates("1"))
    ceiling_kind = draw(st.sampled_from(["none", "price", "markup"]))
    return PricingRule(
        min_markup=min_markup,
        target_markup=draw(st.none() | rates("2").map(lambda r: r + min_markup)),
        max_price=draw(money("1")) if ceiling_kind == "price" else None,
        max_markup=draw(rates("3")) if ceiling_kind == "markup" else None,
        fee_rate=draw(rates("0.5")),
        fixed_fee=draw(money("0", "50")),
        shipping_cost=draw(money("0", "80")),
        min_change=draw(money("0", "20")),
        undercut=draw(st.none() | money("0", "10")),
        strategy=draw(st.none() | st.sampled_from(list(Strategy))),
    )


@st.composite
def inputs(draw: st.DrawFn) -> PriceInputs:
    return PriceInputs(
        cost=draw(st.none() | money("0.01", "50000")),
        list_price=draw(st.none() | money("0.01")),
        competitor_price=draw(st.none() | money("0.01")),
        current_price=draw(st.none() | money("0.01")),
        currency_id=draw(st.sampled_from(["ARS", "BRL", "MXN", "CLP", "COP", "UYU"])),
    )


def on_step(price: Decimal, currency: str) -> bool:
    return price % currency_step(currency) == 0


@given(rules(), inputs())
def test_a_published_price_keeps_the_margin_the_ceiling_and_the_step(rule, given_inputs):
    """Whenever a price is published it nets at least cost*(1+min_markup), is at most the
    ceiling and sits on the currency's step."""
    decision = decide_price(rule, given_inputs)
    if not decision.publish:
        return
    price = decision.price
    assert price is not None and given_inputs.cost is not None
    assert rule.net(price) >= given_inputs.cost * (1 + rule.min_markup)
    if decision.ceiling is not None:
        assert price <= decision.ceiling
    assert on_step(price, given_inputs.currency_id)


@given(rules(), inputs())
def test_the_floor_is_the_smallest_price_on_the_step_that_keeps_the_margin(rule, given_inputs):
    assume(given_inputs.cost is not None)
    step = currency_step(given_inputs.currency_id)
    floor = rule.floor(given_inputs.cost, step)
    wanted = given_inputs.cost * (1 + rule.min_markup)
    assert rule.net(floor) >= wanted
    assert floor == step or rule.net(floor - step) < wanted
    assert on_step(floor, given_inputs.currency_id)


@given(rules(), inputs(), st.integers(1, 10_000))
def test_nothing_is_published_when_no_price_can_keep_both_bounds(rule, given_inputs, below):
    """A ceiling under the floor (by any amount) publishes nothing, whatever the target."""
    cost = given_inputs.cost if given_inputs.cost is not None else D(100)
    step = currency_step(given_inputs.currency_id)
    floor = rule.floor(cost, step)
    ceiling = max(floor - below * step, D(0))
    capped = evolve(rule, max_price=ceiling, max_markup=None)
    decision = decide_price(capped, evolve(given_inputs, cost=cost))
    assert decision.outcome is PriceOutcome.INFEASIBLE
    assert decision.price is None and not decision.publish


@given(rules(), inputs())
def test_small_changes_inside_the_bounds_are_not_published(rule, given_inputs):
    decision = decide_price(rule, given_inputs)
    current = given_inputs.current_price
    if decision.publish and current is not None:
        assert decision.price != current
        inside = current >= decision.floor and (decision.ceiling is None
                                                or current <= decision.ceiling)
        if inside:
            assert abs(decision.price - current) >= rule.min_change


def test_missing_cost_publishes_nothing():
    decision = decide_price(PricingRule(), PriceInputs(list_price=D(100)))
    assert decision.outcome is PriceOutcome.MISSING_COST and not decision.publish


def test_whole_unit_currencies_get_whole_prices_and_the_floor_rounds_up():
    rule = PricingRule(min_markup=D("0.1"), fee_rate=D("0.13"), target_markup=D("0.3"))
    decision = decide_price(rule, PriceInputs(cost=D(1000), currency_id="CLP"))
    # net(p) >= 1100 -> p >= 1264.37... -> 1265 in whole pesos
    assert decision.floor == D(1265)
    assert decision.price == D(1495)  # 1300 / 0.87 = 1494.25 -> 1495
    assert decision.publish


def test_list_price_is_clamped_up_to_the_floor():
    rule = PricingRule(min_markup=D("0.2"), fee_rate=D("0.1"), shipping_cost=D(5))
    decision = decide_price(rule, PriceInputs(cost=D(100), list_price=D(120)))
    assert decision.floor == D("138.89")  # (120 + 5) / 0.9 = 138.888...
    assert decision.price == D("138.89")
    assert decision.source is Strategy.LIST_PRICE


def test_list_price_is_clamped_down_to_the_ceiling():
    decision = decide_price(PricingRule(max_markup=D("0.5")),
                            PriceInputs(cost=D(100), list_price=D(300)))
    assert decision.price == D("150.00")


def test_competitive_target_undercuts_the_competitor():
    rule = PricingRule(undercut=D("1.50"), max_price=D(500))
    decision = decide_price(rule, PriceInputs(cost=D(100), competitor_price=D(200)))
    assert decision.price == D("198.50")
    assert decision.source is Strategy.COMPETITIVE


def test_competitive_rule_without_a_competitor_falls_back_to_the_list_price():
    rule = PricingRule(undercut=D(1))
    decision = decide_price(rule, PriceInputs(cost=D(100), list_price=D(180)))
    assert decision.price == D("180.00")
    assert decision.source is Strategy.LIST_PRICE


def test_infeasible_bounds_explain_both_figures():
    decision = decide_price(PricingRule(min_markup=D("0.5"), max_price=D(120)),
                            PriceInputs(cost=D(100), list_price=D(110)))
    assert decision.outcome is PriceOutcome.INFEASIBLE
    assert "150.00" in decision.reason and "120.00" in decision.reason


def test_min_change_does_not_keep_a_price_below_its_floor():
    rule = PricingRule(min_markup=D("0.2"), min_change=D(10))
    decision = decide_price(rule, PriceInputs(cost=D(100), list_price=D(100),
                                              current_price=D("118")))
    assert decision.publish and decision.price == D("120.00")


def test_change_below_min_change_is_not_published():
    rule = PricingRule(min_change=D(5))
    decision = decide_price(rule, PriceInputs(cost=D(10), list_price=D(103),
                                              current_price=D(100)))
    assert decision.outcome is PriceOutcome.BELOW_MIN_CHANGE


@pytest.mark.parametrize("bad", [
    {"fee_rate": D(1)}, {"max_price": D(10), "max_markup": D(1)},
    {"min_markup": D("0.5"), "target_markup": D("0.2")}, {"fixed_fee": D(-1)},
])
def test_invalid_rules_are_refused(bad):
    with pytest.raises(ValueError):
        PricingRule(**bad)


def test_policy_prefers_listing_over_sku_over_default():
    listing = Listing("main", "MLA1")
    policy = PricingPolicy(default=PricingRule(min_markup=D("0.1")),
                           by_sku={"A": PricingRule(min_markup=D("0.2"))},
                           by_listing={listing: PricingRule(min_markup=D("0.3"))})
    assert policy.rule_for("A", listing).min_markup == D("0.3")
    assert policy.rule_for("A", Listing("main", "MLA2")).min_markup == D("0.2")
    assert policy.rule_for("B").min_markup == D("0.1")


def test_an_item_override_covers_its_variations_unless_a_variation_has_its_own():
    item, variation = Listing("main", "MLA1"), Listing("main", "MLA1", 7)
    policy = PricingPolicy(by_sku={"A": PricingRule(min_markup=D("0.2"))},
                           by_listing={item: PricingRule(min_markup=D("0.3")),
                                       variation: PricingRule(min_markup=D("0.4"))})
    assert policy.rule_for("A", Listing("main", "MLA1", 8)).min_markup == D("0.3")
    assert policy.rule_for("A", variation).min_markup == D("0.4")
    assert policy.rule_for("A", Listing("main", "MLA2", 8)).min_markup == D("0.2")


@given(st.lists(st.tuples(rules(), inputs()), min_size=1, max_size=4), money("0.01"))
def test_one_price_for_all_variations_fits_every_variations_bounds(pairs, current):
    decisions: list[PriceDecision] = []
    for rule, given_inputs in pairs:
        decisions.append(decide_price(rule, PriceInputs(
            cost=given_inputs.cost, list_price=given_inputs.list_price, currency_id="ARS")))
    combined = combine_for_item(decisions, current, D(0))
    if combined.publish:
        for single in decisions:
            assert single.floor is not None and combined.price >= single.floor
            assert single.ceiling is None or combined.price <= single.ceiling
    elif all(d.floor is not None and d.target is not None for d in decisions):
        floor = max(d.floor for d in decisions)
        ceilings = [d.ceiling for d in decisions if d.ceiling is not None]
        assert combined.outcome is PriceOutcome.UNCHANGED or (ceilings and floor > min(ceilings))
