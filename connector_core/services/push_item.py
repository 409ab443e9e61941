"""Use case: publish one item's stock and price from the latest state (rules 1, 6, 7, 8).

The figures are computed when the push *runs*, not when it was asked for, so any number of
changes queued for the same item collapse into one PUT carrying the latest values. The item is
read from ML first: its variation ids must all go back in the PUT (rule 7), and nothing is sent
when ML already shows the wanted figures. Rule 1's figures are computed *after* that read
(the read may be a batch's multiget, made a moment earlier: :mod:`.push_batch`), under the
item's lock, so a sale held before the PUT is in the figure it carries.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from attrs import frozen

from connector_core.domain.accounts import Account
from connector_core.domain.audit import AuditEntry, AuditOutcome
from connector_core.domain.commands import PushItem
from connector_core.domain.errors import MarketplaceNotFound, MarketplaceRejected, UnknownAccount
from connector_core.domain.items import ItemUpdate, MarketItem, plan_item_update
from connector_core.domain.mapping import KitCatalog, Listing, MappingRow
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import (
    PriceDecision,
    PriceInputs,
    PriceOutcome,
    PricingPolicy,
    combine_for_item,
    decide_price,
)
from connector_core.domain.stock import StockView
from connector_core.ports.clock import Clock
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork


@frozen
class PushResult:
    outcome: AuditOutcome | None
    update: ItemUpdate | None = None
    price: PriceDecision | None = None
    problems: tuple[str, ...] = ()

    @property
    def sent(self) -> bool:
        return self.outcome is AuditOutcome.SENT


def cost_of(sku: str, prices: Mapping[str, ErpPrice], kits: KitCatalog) -> Decimal | None:
    """The ERP's cost of ``sku``; a kit without its own cost costs the sum of its parts."""
    own = prices.get(sku)
    if own is not None and own.cost is not None:
        return own.cost
    kit = kits.get(sku)
    if kit is None:
        return None
    total = Decimal(0)
    for component, units in kit.components.items():
        part = cost_of(component, prices, kits)
        if part is None:
            return None
        total += part * units
    return total


@frozen
class PushPlan:
    """What a push of an item's mapped ``rows`` computes from before it reads ML: rule 1's
    figure per variation (``view`` holds the reports and holds behind them) and the inputs
    of the price decision. The console's explanation reads the same plan."""

    rows: tuple[MappingRow, ...]
    quantities: dict[int | None, int]
    unknown: tuple[str, ...]
    prices: dict[str, ErpPrice]
    policy: PricingPolicy
    competitor: dict[Listing, Decimal]
    kits: KitCatalog
    view: StockView


def plan_push(uow: UnitOfWork, account: Account, rows: tuple[MappingRow, ...]) -> PushPlan:
    """Read (inside the caller's ``with uow:``) what rules 1 and 6 need for ``rows``."""
    kits = uow.mappings.kits_under({r.sku for r in rows})  # not the whole kit table
    leaves = {leaf for r in rows for leaf in kits.leaf_units(r.sku)}
    view = StockView(uow.stock.reports_for(leaves), uow.stock.holds_for_skus(leaves), kits)
    quantities: dict[int | None, int] = {}
    unknown = []
    for row in rows:
        figure = view.published(row, account.warehouses)
        if figure is None:
            unknown.append(f"{row.listing}: no ERP stock report for {row.sku} yet")
        else:
            quantities[row.listing.variation_id] = figure
    price_skus = {r.sku for r in rows} | {c for r in rows for c in kits.leaf_units(r.sku)}
    return PushPlan(rows=rows, quantities=quantities, unknown=tuple(unknown),
                    prices=uow.prices.erp_prices(price_skus), policy=uow.prices.policy(),
                    competitor=dict(uow.prices.competitor_prices([r.listing for r in rows])),
                    kits=kits, view=view)


def price_decision(plan: PushPlan, item: MarketItem) -> PriceDecision:
    """Rule 6 for the item as ML shows it (one price for all its variations)."""
    decisions = []
    for row in plan.rows:
        rule = plan.policy.rule_for(row.sku, row.listing)
        variation = (item.variation(row.listing.variation_id)
                     if row.listing.variation_id is not None else None)
        erp = plan.prices.get(row.sku)
        decisions.append(decide_price(rule, PriceInputs(
            cost=cost_of(row.sku, plan.prices, plan.kits),
            list_price=erp.list_price if erp else None,
            competitor_price=plan.competitor.get(row.listing),
            current_price=variation.price if variation is not None else item.price,
            currency_id=item.currency_id,
        )))
    if not item.has_variations:
        return decisions[0]
    min_change = max(plan.policy.rule_for(r.sku, r.listing).min_change for r in plan.rows)
    # ML may hold different prices on old items: then any valid common price is a change.
    prices = {v.price for v in item.variations}
    current = prices.pop() if len(prices) == 1 else None
    return combine_for_item(decisions, current, min_change)


def _snapshot(item: MarketItem) -> dict[str, Any]:
    return {
        "status": item.status,
        "price": str(item.price),
        "available_quantity": item.available_quantity,
        "variations": {str(v.id): {"available_quantity": v.available_quantity,
                                   "price": str(v.price)} for v in item.variations},
    }


def _update_dict(update: ItemUpdate) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if update.available_quantity is not None:
        body["available_quantity"] = update.available_quantity
    if update.price is not None:
        body["price"] = str(update.price)
    if update.variations is not None:
        body["variations"] = [
            {k: (str(v) if isinstance(v, Decimal) else v)
             for k, v in (("id", u.id), ("available_quantity", u.available_quantity),
                          ("price", u.price)) if v is not None}
            for u in update.variations]
    return body


def push_item(cmd: PushItem, *, uow: UnitOfWork, marketplace: MarketplaceGateway,
              clock: Clock) -> PushResult:
    """Compute and send what rules 1 and 6 say for every active mapped listing of an item.

    ML rejections are recorded in the audit log with ML's causes and not raised (a retry would
    get the same answer); :class:`MarketplaceUnavailable` propagates so the job is retried.
    """
    with uow:
        account = uow.accounts.get(cmd.account)
        if account is None:
            raise UnknownAccount(f"unknown account {cmd.account!r}")
        rows = tuple(r for r in uow.mappings.rows_for_item(cmd.account, cmd.item_id) if r.active)
        if not rows:
            return PushResult(outcome=None, problems=("no active mapping for this item",))

    def audit(outcome: AuditOutcome, reason: str, item: MarketItem | None,
              update: ItemUpdate | None, response: dict[str, Any] | None = None) -> None:
        with uow:
            uow.audit.record(AuditEntry(
                at=clock.now(), account=cmd.account, item_id=cmd.item_id, action="push",
                outcome=outcome, reason=reason,
                before=_snapshot(item) if item is not None else {},
                after=_update_dict(update) if update is not None else {},
                response=response or {}))
            uow.commit()

    try:
        item = marketplace.get_item(account, cmd.item_id)
    except MarketplaceNotFound as exc:
        audit(AuditOutcome.REJECTED, f"item not found on ML: {exc}", None, None,
              {"status": 404, "error": exc.error})
        return PushResult(outcome=AuditOutcome.REJECTED, problems=(str(exc),))
    with uow:  # after the read: a hold taken since is in the figures (rule 3)
        plan = plan_push(uow, account, rows)
    if item.status not in ("active", "paused"):
        audit(AuditOutcome.SKIPPED, f"item is {item.status} on ML; not modifiable", item, None)
        return PushResult(outcome=AuditOutcome.SKIPPED, problems=(f"item is {item.status}",))
    decision = price_decision(plan, item)
    update, unmappable = plan_item_update(
        item, plan.quantities, decision.price if decision.publish else None)
    problems = [*plan.unknown, *(u.message for u in unmappable)]
    if decision.outcome in (PriceOutcome.INFEASIBLE, PriceOutcome.MISSING_COST) and any(
            plan.prices.get(r.sku) for r in rows):
        problems.append(f"price not published: {decision.reason}")
    if update.empty:
        if problems:
            audit(AuditOutcome.SKIPPED, "; ".join(problems), item, None)
        return PushResult(outcome=AuditOutcome.SKIPPED if problems else None, update=None,
                          price=decision, problems=tuple(problems))
    why = "; ".join([f"rule 1 quantities {dict(sorted(plan.quantities.items(), key=str))}",
                     f"price {decision.outcome.value}: {decision.reason}", *problems])
    try:
        after = marketplace.update_item(account, update)
    except MarketplaceRejected as exc:
        audit(AuditOutcome.REJECTED, f"{why}; ML rejected: {exc}", item, update,
              {"status": exc.status, "error": exc.error, "causes": list(exc.causes)})
        return PushResult(outcome=AuditOutcome.REJECTED, update=update, price=decision,
                          problems=(*problems, str(exc)))
    audit(AuditOutcome.SENT, why, item, update, {"after": _snapshot(after)})
    return PushResult(outcome=AuditOutcome.SENT, update=update, price=decision,
                      problems=tuple(problems))
