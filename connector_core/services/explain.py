"""Use case: explain why a listing publishes what it publishes ("why 3 and not 10").

Nothing here decides anything: the figures come from :func:`plan_push` and the price from
:func:`price_decision`, the same functions the push runs, and are laid out step by step:
each warehouse's report and its ``as_of``, each hold with its order, the kit components,
the safety stock and the maximum. ML is read once, for what it shows now.
"""

from datetime import datetime

from attrs import evolve, frozen

from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceError, UnknownAccount
from connector_core.domain.items import MarketItem
from connector_core.domain.mapping import MappingRow
from connector_core.domain.pricing import PriceDecision, PricingRule
from connector_core.domain.stock import Hold, StockView
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.push_item import PushPlan, cost_of, plan_push, price_decision


@frozen(kw_only=True)
class WarehouseFigure:
    warehouse: str
    quantity: int
    as_of: datetime
    counted: bool  # the account sells from this warehouse


@frozen(kw_only=True)
class SkuFigures:
    """A plain SKU's (or a kit component's) part of rule 1."""

    sku: str
    units: int  # units of it per listing unit (1 unless a kit component)
    warehouses: tuple[WarehouseFigure, ...]
    reported: int | None
    holds: tuple[tuple[Hold, bool], ...]  # each hold and whether it still counts
    held: int
    free: int | None

    @property
    def sets(self) -> int | None:
        """Listing units this SKU allows: ``floor(free / units)``."""
        return None if self.free is None else self.free // self.units


@frozen(kw_only=True)
class RowStory:
    row: MappingRow
    is_kit: bool
    parts: tuple[SkuFigures, ...]
    free: int | None
    published: int | None
    ml_shows: int | None
    steps: tuple[str, ...]


@frozen(kw_only=True)
class PriceInputsShown:
    sku: str
    cost: str | None
    list_price: str | None
    competitor: str | None
    rule: PricingRule


@frozen(kw_only=True)
class ListingStory:
    account: Account
    item_id: str
    rows: tuple[RowStory, ...]
    price_inputs: tuple[PriceInputsShown, ...]
    price: PriceDecision | None
    item: MarketItem | None
    ml_error: str | None


def _sku_figures(view: StockView, sku: str, units: int, holds: list[Hold],
                 account: Account) -> SkuFigures:
    reports = view.reports(sku)
    counted = account.warehouses
    mine = [h for h in holds if h.sku == sku]
    latest = view.latest_report_at(sku)
    return SkuFigures(
        sku=sku, units=units,
        warehouses=tuple(WarehouseFigure(warehouse=r.warehouse, quantity=r.quantity,
                                         as_of=r.as_of,
                                         counted=counted is None or r.warehouse in counted)
                         for r in sorted(reports, key=lambda r: r.warehouse)),
        reported=view.reported(sku, counted), held=view.held(sku),
        holds=tuple((h, h.counts(latest)) for h in sorted(mine, key=lambda h: h.order_id)),
        free=view.free(sku, counted))


def _steps(row: MappingRow, is_kit: bool, parts: tuple[SkuFigures, ...],
           free: int | None, published: int | None) -> tuple[str, ...]:
    steps = []
    for part in parts:
        if part.reported is None:
            steps.append(f"{part.sku}: no ERP stock report yet, so nothing is published")
            continue
        steps.append(f"free({part.sku}) = {part.reported} reported - {part.held} held "
                     f"= {part.free}")
    if is_kit and free is not None:
        shares = ", ".join(f"{p.sku}: {p.free} // {p.units} = {p.sets}" for p in parts)
        steps.append(f"free({row.sku}) = min({shares}) = {free}")
    if free is not None and published is not None:
        cap = f"max_quantity {row.max_quantity}" if row.max_quantity is not None else "no max"
        steps.append(f"published = clamp(0, {cap}, {free} - safety_stock {row.safety_stock})"
                     f" = {published}")
    if not row.active:
        steps.append("the mapping row is inactive: the connector does not publish it")
    return tuple(steps)


def _row_story(row: MappingRow, plan: PushPlan, holds: list[Hold], account: Account,
               item: MarketItem | None) -> RowStory:
    kit = plan.kits.get(row.sku)
    components = dict(kit.components) if kit is not None else {row.sku: 1}
    parts = tuple(_sku_figures(plan.view, sku, units, holds, account)
                  for sku, units in components.items())
    free = plan.view.free(row.sku, account.warehouses)
    published = plan.view.published(row, account.warehouses)
    ml_shows = None
    if item is not None:
        variation = (item.variation(row.listing.variation_id)
                     if row.listing.variation_id is not None else None)
        ml_shows = variation.available_quantity if variation else item.available_quantity
    return RowStory(row=row, is_kit=kit is not None, parts=parts, free=free,
                    published=published, ml_shows=ml_shows,
                    steps=_steps(row, kit is not None, parts, free, published))


def explain_listing(account_name: str, item_id: str, *, uow: UnitOfWork,
                    marketplace: MarketplaceGateway) -> ListingStory | None:
    """The story of one item's mapped listings; None when the item is not mapped."""
    with uow:
        account = uow.accounts.get(account_name)
        if account is None:
            raise UnknownAccount(f"unknown account {account_name!r}")
        rows = tuple(uow.mappings.rows_for_item(account_name, item_id))
        if not rows:
            return None
        plan = plan_push(uow, account, rows)
        leaves = {leaf for r in rows for leaf in plan.kits.leaf_units(r.sku)}
        holds = uow.stock.holds_for_skus(leaves)
    item, error = None, None
    try:
        item = marketplace.get_item(account, item_id)
    except MarketplaceError as exc:
        error = str(exc)
    active = tuple(r for r in rows if r.active)
    price = None
    if item is not None and active:
        price = price_decision(evolve(plan, rows=active), item)
    inputs = []
    for row in rows:
        erp = plan.prices.get(row.sku)
        cost = cost_of(row.sku, plan.prices, plan.kits)
        competitor = plan.competitor.get(row.listing)
        inputs.append(PriceInputsShown(
            sku=row.sku, cost=None if cost is None else str(cost),
            list_price=None if erp is None or erp.list_price is None else str(erp.list_price),
            competitor=None if competitor is None else str(competitor),
            rule=plan.policy.rule_for(row.sku, row.listing)))
    return ListingStory(account=account, item_id=item_id,
                        rows=tuple(_row_story(r, plan, holds, account, item) for r in rows),
                        price_inputs=tuple(inputs), price=price, item=item, ml_error=error)
