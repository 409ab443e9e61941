"""Price rules of CONTRACT §1 rule 6, in ``Decimal`` money on each currency's step.

    net(p)  = p * (1 - fee_rate) - fixed_fee - shipping_cost
    floor   = the smallest p on the currency's step with net(p) >= cost * (1 + min_markup)
    ceiling = max_price, else cost * (1 + max_markup), rounded *down* to the step; else none
    target  = the ERP list price | cost * (1 + target_markup) grossed up like the floor |
              the competitor's price minus ``undercut``; then clamped to [floor, ceiling]

Nothing is published when the cost is unknown, when floor > ceiling, when no target can be
formed, or when the change from the current price is smaller than ``min_change`` — unless the
current price is outside [floor, ceiling], in which case the bounds win over ``min_change``.
"""

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

from attrs import field, frozen

from connector_core.domain.mapping import Listing

# Currencies ML quotes in whole units. Everything else is quoted in cents.
WHOLE_UNIT_CURRENCIES = frozenset({"CLP", "COP", "PYG", "CRC", "VES", "VEF"})
CENT = Decimal("0.01")
UNIT = Decimal("1")


def currency_step(currency_id: str) -> Decimal:
    return UNIT if currency_id.upper() in WHOLE_UNIT_CURRENCIES else CENT


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return ((value / step).to_integral_value(rounding=rounding) * step).quantize(step)


class Strategy(StrEnum):
    LIST_PRICE = "list_price"
    COST_PLUS = "cost_plus"
    COMPETITIVE = "competitive"


def _dec(value: object) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        return Decimal(value)
    raise TypeError(f"expected a number, got {value!r}")


def _opt_dec(value: object) -> Decimal | None:
    return None if value is None else _dec(value)


def _opt_strategy(value: str | None) -> Strategy | None:
    return None if value is None else Strategy(value)


def _non_negative(_instance: object, attribute: object, value: Decimal | None) -> None:
    if value is not None and (not value.is_finite() or value < 0):
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be a number >= 0, "
                         f"got {value}")


@frozen(kw_only=True)
class PricingRule:
    """One pricing rule (the default, or an override for a SKU or a listing)."""

    min_markup: Decimal = field(default=Decimal(0), converter=_dec, validator=_non_negative)
    target_markup: Decimal | None = field(default=None, converter=_opt_dec,
                                          validator=_non_negative)
    max_price: Decimal | None = field(default=None, converter=_opt_dec, validator=_non_negative)
    max_markup: Decimal | None = field(default=None, converter=_opt_dec, validator=_non_negative)
    fee_rate: Decimal = field(default=Decimal(0), converter=_dec, validator=_non_negative)
    fixed_fee: Decimal = field(default=Decimal(0), converter=_dec, validator=_non_negative)
    shipping_cost: Decimal = field(default=Decimal(0), converter=_dec, validator=_non_negative)
    min_change: Decimal = field(default=Decimal(0), converter=_dec, validator=_non_negative)
    undercut: Decimal | None = field(default=None, converter=_opt_dec, validator=_non_negative)
    strategy: Strategy | None = field(default=None, converter=_opt_strategy)

    def __attrs_post_init__(self) -> None:
        if self.fee_rate >= 1:
            raise ValueError(f"fee_rate must be below 1, got {self.fee_rate}")
        if self.max_price is not None and self.max_markup is not None:
            raise ValueError("give max_price or max_markup, not both")
        if (self.target_markup is not None and self.target_markup < self.min_markup):
            raise ValueError(f"target_markup {self.target_markup} is below min_markup "
                             f"{self.min_markup}")

    @property
    def effective_strategy(self) -> Strategy:
        if self.strategy is not None:
            return self.strategy
        if self.undercut is not None:
            return Strategy.COMPETITIVE
        if self.target_markup is not None:
            return Strategy.COST_PLUS
        return Strategy.LIST_PRICE

    def net(self, price: Decimal) -> Decimal:
        return price * (1 - self.fee_rate) - self.fixed_fee - self.shipping_cost

    def gross_up(self, wanted_net: Decimal, step: Decimal) -> Decimal:
        """The smallest price on ``step`` whose ``net`` reaches ``wanted_net``."""
        price = _to_step((wanted_net + self.fixed_fee + self.shipping_cost) / (1 - self.fee_rate),
                         step, ROUND_CEILING)
        # Division may be inexact at 28 digits: settle on the exact grid point both ways.
        while price > 0 and self.net(price - step) >= wanted_net:
            price -= step
        while self.net(price) < wanted_net:
            price += step
        return max(price, step).quantize(step)

    def floor(self, cost: Decimal, step: Decimal) -> Decimal:
        return self.gross_up(cost * (1 + self.min_markup), step)

    def ceiling(self, cost: Decimal, step: Decimal) -> Decimal | None:
        if self.max_price is not None:
            return _to_step(self.max_price, step, ROUND_FLOOR)
        if self.max_markup is not None:
            return _to_step(cost * (1 + self.max_markup), step, ROUND_FLOOR)
        return None


@frozen
class PricingPolicy:
    """The default rule plus overrides. Most specific wins: the listing's own key (with its
    variation), then its item's key (``"account:ITEM"`` covers every variation), then the
    SKU, then the default."""

    default: PricingRule = PricingRule()
    by_sku: Mapping[str, PricingRule] = field(factory=dict)
    by_listing: Mapping[Listing, PricingRule] = field(factory=dict)

    def rule_for(self, sku: str, listing: Listing | None = None) -> PricingRule:
        if listing is not None:
            if listing in self.by_listing:
                return self.by_listing[listing]
            item = Listing(listing.account, listing.item_id)
            if item in self.by_listing:
                return self.by_listing[item]
        return self.by_sku.get(sku, self.default)

    def __hash__(self) -> int:
        return hash((self.default, tuple(self.by_sku.items()), tuple(self.by_listing.items())))


class PriceOutcome(StrEnum):
    PUBLISH = "publish"
    UNCHANGED = "unchanged"
    BELOW_MIN_CHANGE = "below_min_change"
    MISSING_COST = "missing_cost"
    NO_TARGET = "no_target"
    INFEASIBLE = "infeasible_bounds"


@frozen(kw_only=True)
class PriceInputs:
    cost: Decimal | None = field(default=None, converter=_opt_dec)
    list_price: Decimal | None = field(default=None, converter=_opt_dec)
    competitor_price: Decimal | None = field(default=None, converter=_opt_dec)
    current_price: Decimal | None = field(default=None, converter=_opt_dec)
    currency_id: str = "ARS"


@frozen(kw_only=True)
class PriceDecision:
    """What to do with a listing's price, and why. ``price`` is set only when publishing."""

    outcome: PriceOutcome
    price: Decimal | None = None
    floor: Decimal | None = None
    ceiling: Decimal | None = None
    target: Decimal | None = None
    source: Strategy | None = None
    current: Decimal | None = None
    reason: str = ""

    @property
    def publish(self) -> bool:
        return self.outcome is PriceOutcome.PUBLISH


def _target(rule: PricingRule, inputs: PriceInputs, cost: Decimal,
            step: Decimal) -> tuple[Decimal, Strategy] | None:
    """The raw target, trying the rule's strategy first and then the others in a fixed order."""
    preferred = rule.effective_strategy
    order = [preferred] + [s for s in (Strategy.LIST_PRICE, Strategy.COST_PLUS,
                                       Strategy.COMPETITIVE) if s is not preferred]
    for strategy in order:
        if strategy is Strategy.LIST_PRICE and inputs.list_price is not None:
            return _to_step(inputs.list_price, step, ROUND_HALF_UP), strategy
        if strategy is Strategy.COST_PLUS and rule.target_markup is not None:
            return rule.gross_up(cost * (1 + rule.target_markup), step), strategy
        if (strategy is Strategy.COMPETITIVE and inputs.competitor_price is not None
                and rule.undercut is not None):
            return _to_step(inputs.competitor_price - rule.undercut, step, ROUND_FLOOR), strategy
    return None


def _settle(*, floor: Decimal, ceiling: Decimal | None, target: Decimal, source: Strategy | None,
            current: Decimal | None, min_change: Decimal, why: str) -> PriceDecision:
    """Clamp ``target`` into [floor, ceiling] and decide against the current price."""
    price = max(floor, target if ceiling is None else min(target, ceiling))

    def decision(outcome: PriceOutcome, reason: str, published: Decimal | None = None
                 ) -> PriceDecision:
        return PriceDecision(outcome=outcome, price=published, floor=floor, ceiling=ceiling,
                             target=target, source=source, current=current, reason=reason)

    if current is not None:
        if price == current:
            return decision(PriceOutcome.UNCHANGED, "already published")
        in_bounds = current >= floor and (ceiling is None or current <= ceiling)
        if in_bounds and abs(price - current) < min_change:
            return decision(PriceOutcome.BELOW_MIN_CHANGE,
                            f"change {price - current} is below min_change {min_change}")
    shown_ceiling = ceiling if ceiling is not None else "-"
    return decision(PriceOutcome.PUBLISH, f"{why} within [{floor}, {shown_ceiling}]", price)


def decide_price(rule: PricingRule, inputs: PriceInputs) -> PriceDecision:
    """Apply rule 6 to one listing (or one item whose variations share a price)."""
    step = currency_step(inputs.currency_id)
    current = inputs.current_price
    if inputs.cost is None:
        return PriceDecision(outcome=PriceOutcome.MISSING_COST, current=current,
                             reason="no cost from the ERP: the floor cannot be computed")
    cost = inputs.cost
    floor = rule.floor(cost, step)
    ceiling = rule.ceiling(cost, step)
    if ceiling is not None and floor > ceiling:
        return PriceDecision(outcome=PriceOutcome.INFEASIBLE, floor=floor, ceiling=ceiling,
                             current=current,
                             reason=f"floor {floor} is above ceiling {ceiling} "
                                    f"(cost {cost}, min_markup {rule.min_markup})")
    found = _target(rule, inputs, cost, step)
    if found is None:
        return PriceDecision(outcome=PriceOutcome.NO_TARGET, floor=floor, ceiling=ceiling,
                             current=current,
                             reason="no list price, target_markup or competitor price")
    target, source = found
    return _settle(floor=floor, ceiling=ceiling, target=target, source=source, current=current,
                   min_change=rule.min_change, why=f"{source.value} target {target}")


def combine_for_item(decisions: list[PriceDecision], current: Decimal | None,
                     min_change: Decimal) -> PriceDecision:
    """One price for all the variations of an item (ML requires it): it must fit every bound.

    The item's price is the highest target clamped to the intersection of the variations'
    bounds; if any variation cannot be priced, or the intersection is empty, nothing is
    published.
    """
    if not decisions:
        return PriceDecision(outcome=PriceOutcome.NO_TARGET, current=current,
                             reason="no mapped variation")
    for d in decisions:
        if d.floor is None or d.target is None:
            return PriceDecision(outcome=d.outcome, floor=d.floor, ceiling=d.ceiling,
                                 current=current, reason=d.reason)
    floor = max(d.floor for d in decisions if d.floor is not None)
    ceilings = [d.ceiling for d in decisions if d.ceiling is not None]
    ceiling = min(ceilings) if ceilings else None
    if ceiling is not None and floor > ceiling:
        return PriceDecision(outcome=PriceOutcome.INFEASIBLE, floor=floor, ceiling=ceiling,
                             current=current,
                             reason=f"variations share one price but their bounds do not "
                                    f"overlap: floor {floor} > ceiling {ceiling}")
    target = max(d.target for d in decisions if d.target is not None)
    return _settle(floor=floor, ceiling=ceiling, target=target, source=decisions[0].source,
                   current=current, min_change=min_change, why="one price for all variations")
