"""Use case: publish one ML User Product (rules 1, 6, 7 and 8 on a UP seller).

The UP's mapped items share one stock figure (rule 1 over their SKU), written once: through
one of its items (always the same one, the lowest id, so ML's replication to the others never
races a second write) when the seller has no multi-origin stock; as the UP's
``selling_address`` when ML's Full holds part of its stock (Full + Flex: ML refuses the item
write then); per store otherwise. Both of the latter go through ``/user-products/{id}/stock``:
the version read, written with, and re-read on a 409, recomputing rule 1 each time. Full's
own stock (``meli_facility``) is never written. Prices stay per item: each item gets its own
decision and a PUT only when its price moves. Reads are one multiget for the items (20 a
call) and, through the stock resource, one read of the UP's stock: the calls do not grow
with the items of the UP.
"""

from collections.abc import Sequence
from typing import Any

from attrs import evolve, frozen

from connector_core.domain.accounts import Account
from connector_core.domain.audit import AuditEntry, AuditOutcome
from connector_core.domain.commands import PushUserProduct
from connector_core.domain.errors import (
    MarketplaceError,
    MarketplaceRejected,
    MarketplaceUnavailable,
    UnknownAccount,
)
from connector_core.domain.items import ItemUpdate, MarketItem
from connector_core.domain.mapping import MappingRow
from connector_core.domain.pricing import PriceInputs, PriceOutcome, decide_price
from connector_core.domain.stock import StockView
from connector_core.domain.user_products import (
    UpStock,
    plan_store_writes,
    published_per_warehouse,
    shared_figure,
)
from connector_core.ports.clock import Clock
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.ports.user_products import UserProductsGateway, VersionConflict
from connector_core.services.push_item import cost_of
from connector_core.services.up_model import record_items

MAX_VERSION_ATTEMPTS = 5
FULFILLMENT = "fulfillment"  # reads of the UP's stock per push before the job is retried later


@frozen
class UpPushResult:
    outcome: AuditOutcome | None
    item_writes: int = 0
    stock_writes: int = 0
    problems: tuple[str, ...] = ()


@frozen
class _Wanted:
    """Rule 1 for the UP: one figure, or one per warehouse (None: not known / not written)."""

    figure: int | None
    per_warehouse: dict[str, int]
    problems: tuple[str, ...]


def _rows(uow: UnitOfWork, account: str, up_id: str) -> list[MappingRow]:
    item_ids = uow.user_products.items_of(account, up_id)
    known = uow.user_products.known_items(account, item_ids)
    return [row for item_id in item_ids if not known[item_id].closed
            for row in uow.mappings.rows_for_item(account, item_id) if row.active]


def _wanted(uow: UnitOfWork, account: Account, rows: Sequence[MappingRow],
            multi_origin: bool) -> _Wanted:
    """Rule 1 for ``rows`` from the state inside ``uow`` (an open unit of work)."""
    skus = sorted({r.sku for r in rows})
    if len(skus) > 1:
        return _Wanted(None, {}, (f"the items of one User Product map to different SKUs "
                                  f"({', '.join(skus)}): its stock is not written",))
    kits = uow.mappings.kits()
    leaves = set(kits.leaf_units(skus[0]))
    holds = uow.stock.holds_for_skus(leaves)
    view = StockView(uow.stock.reports_for(leaves), holds, kits)
    if not multi_origin:
        figure = shared_figure(view.published(r, account.warehouses) for r in rows)
        missing = () if figure is not None else (f"no ERP stock report for {skus[0]} yet",)
        return _Wanted(figure, {}, missing)
    if not account.stores:
        return _Wanted(None, {}, (f"account {account.name} has multi-origin stock but no "
                                  f"[accounts.{account.name}.stores]: stock not written",))
    figures = [published_per_warehouse(r, view, holds, kits, account.stores) for r in rows]
    per_warehouse = {}
    unknown = []
    for store in account.stores:
        figure = shared_figure(f[store.warehouse] for f in figures)
        if figure is None:
            unknown.append(store.warehouse)
        else:
            per_warehouse[store.warehouse] = figure
    problems = tuple(f"no ERP stock report for {skus[0]} in warehouse {w} yet" for w in unknown)
    return _Wanted(None, per_warehouse, problems)


def _price_update(uow: UnitOfWork, row: MappingRow, item: MarketItem,
                  problems: list[str]) -> ItemUpdate | None:
    kits = uow.mappings.kits()
    skus = {row.sku, *kits.leaf_units(row.sku)}
    prices = uow.prices.erp_prices(skus)
    erp = prices.get(row.sku)
    decision = decide_price(uow.prices.policy().rule_for(row.sku, row.listing), PriceInputs(
        cost=cost_of(row.sku, prices, kits), list_price=erp.list_price if erp else None,
        competitor_price=uow.prices.competitor_prices([row.listing]).get(row.listing),
        current_price=item.price, currency_id=item.currency_id))
    if decision.outcome in (PriceOutcome.INFEASIBLE, PriceOutcome.MISSING_COST) and prices:
        problems.append(f"{item.id}: price not published: {decision.reason}")
    if decision.publish and decision.price is not None and decision.price != item.price:
        return ItemUpdate(item_id=item.id, price=decision.price)
    return None


class _Audit:
    def __init__(self, uow: UnitOfWork, clock: Clock, account: str) -> None:
        self.uow, self.clock, self.account = uow, clock, account

    def __call__(self, subject: str, action: str, outcome: AuditOutcome, reason: str, *,
                 before: dict[str, Any], after: dict[str, Any],
                 response: dict[str, Any] | None = None) -> None:
        with self.uow:
            self.uow.audit.record(AuditEntry(
                at=self.clock.now(), account=self.account, item_id=subject, action=action,
                outcome=outcome, reason=reason, before=before, after=after,
                response=response or {}))
            self.uow.commit()


def _stock_dict(stock: UpStock) -> dict[str, Any]:
    return {"version": stock.version, "locations": [
        {"type": loc.type, "store_id": loc.store_id, "quantity": loc.quantity}
        for loc in stock.locations]}


def push_user_product(cmd: PushUserProduct, *, uow: UnitOfWork, marketplace: MarketplaceGateway,
                      ups: UserProductsGateway, clock: Clock) -> UpPushResult:
    """Bring the UP's stock and its items' prices to rules 1 and 6 (see the module doc).

    ML rejections are audited, not raised; :class:`MarketplaceUnavailable` propagates (the
    job is retried), as does a UP whose stock keeps changing under every write.
    """
    up_id = cmd.user_product_id
    with uow:
        account = uow.accounts.get(cmd.account)
        if account is None:
            raise UnknownAccount(f"unknown account {cmd.account!r}")
        model = uow.user_products.seller_model(account.name)
        multi = model is not None and model.multi_origin
        rows = _rows(uow, account.name, up_id)
        if not rows:
            return UpPushResult(None, problems=(f"no active mapping for {up_id}",))
        wanted = _wanted(uow, account, rows, multi)
    problems = list(wanted.problems)
    audit = _Audit(uow, clock, account.name)
    items = _read_items(account, up_id, rows, marketplace=marketplace, uow=uow, clock=clock,
                        problems=problems)
    updates: dict[str, ItemUpdate] = {}
    with uow:
        for row in rows:
            item = items.get(row.listing.item_id)
            update = _price_update(uow, row, item, problems) if item is not None else None
            if update is not None:
                updates[update.item_id] = update
    full = False  # Full + Flex: the seller's part is written on the stock resource
    if not multi and wanted.figure is not None and items:
        writer = items[min(items)]
        full = writer.logistic_type == FULFILLMENT
        if not full and writer.available_quantity != wanted.figure:
            base = updates.get(writer.id, ItemUpdate(item_id=writer.id))
            updates[writer.id] = evolve(base, available_quantity=wanted.figure)
    why = f"rule 1 for {up_id}: " + (
        str(wanted.per_warehouse) if multi else str(wanted.figure)) + "".join(
        f"; {p}" for p in problems)
    sent = _send_updates(account, updates, items, why, marketplace=marketplace, audit=audit)
    rejected, stock_writes = sent.rejected, 0
    if items and (wanted.per_warehouse if multi else full or sent.has_full_stock):
        stock_writes, refused = _write_stock(up_id, account, rows, multi=multi, ups=ups,
                                             uow=uow, audit=audit)
        rejected = rejected or refused
    if not (sent.writes or stock_writes or rejected) and problems:
        audit(up_id, "push", AuditOutcome.SKIPPED, "; ".join(problems), before={}, after={})
    outcome = (AuditOutcome.REJECTED if rejected else AuditOutcome.SENT
               if sent.writes or stock_writes else AuditOutcome.SKIPPED if problems else None)
    return UpPushResult(outcome, sent.writes, stock_writes, tuple(problems))


def _read_items(account: Account, up_id: str, rows: Sequence[MappingRow], *,
                marketplace: MarketplaceGateway, uow: UnitOfWork, clock: Clock,
                problems: list[str]) -> dict[str, MarketItem]:
    """The UP's mapped items by multiget, recorded; those still open and still on the UP."""
    answers = marketplace.get_items(account, sorted({r.listing.item_id for r in rows}))
    items: dict[str, MarketItem] = {}
    for item_id, answer in answers.items():
        if isinstance(answer, MarketplaceError):
            problems.append(f"{item_id}: {answer}")
        elif answer.status not in ("active", "paused"):
            problems.append(f"{item_id} is {answer.status} on ML; not modifiable")
        elif answer.user_product_id != up_id:
            problems.append(f"{item_id} now sells {answer.user_product_id}, not {up_id}")
        else:
            items[item_id] = answer
    record_items(account, [a for a in answers.values() if isinstance(a, MarketItem)],
                 uow=uow, clock=clock)
    return items


@frozen
class _Sent:
    writes: int
    rejected: bool
    has_full_stock: bool  # ML refused the stock on the item: Full holds some of it


def _send_updates(account: Account, updates: dict[str, ItemUpdate],
                  items: dict[str, MarketItem], why: str, *, marketplace: MarketplaceGateway,
                  audit: _Audit) -> _Sent:
    """One PUT per item update. A stock write ML refuses because the UP has Full stock is
    sent again without it (its price still goes) and left to the stock resource."""
    sent, rejected, full = 0, False, False
    for update in updates.values():
        before = {"price": str(items[update.item_id].price),
                  "available_quantity": items[update.item_id].available_quantity}
        after = {k: str(v) for k, v in (("price", update.price),
                                         ("available_quantity", update.available_quantity))
                 if v is not None}
        try:
            marketplace.update_item(account, update)
        except MarketplaceRejected as exc:
            if update.available_quantity is not None and FULFILLMENT in str(exc).lower():
                full = True
                if update.price is not None:
                    retry = evolve(update, available_quantity=None)
                    again = _send_updates(account, {update.item_id: retry}, items, why,
                                          marketplace=marketplace, audit=audit)
                    sent, rejected = sent + again.writes, rejected or again.rejected
                continue
            rejected = True
            audit(update.item_id, "push", AuditOutcome.REJECTED, f"{why}; ML rejected: {exc}",
                  before=before, after=after, response={
                      "status": exc.status, "error": exc.error, "causes": list(exc.causes)})
            continue
        sent += 1
        audit(update.item_id, "push", AuditOutcome.SENT, why, before=before, after=after)
    return _Sent(sent, rejected, full)


def _write_stock(up_id: str, account: Account, rows: Sequence[MappingRow], *, multi: bool,
                 ups: UserProductsGateway, uow: UnitOfWork, audit: _Audit) -> tuple[int, bool]:
    """The UP's stock through its stock resource: per store (multi-origin), or the seller's
    own part beside Full (``selling_address``). Read the version, write with it, and on a
    409 read again and recompute rule 1. Returns (writes, rejected)."""
    for _attempt in range(MAX_VERSION_ATTEMPTS):
        stock = ups.get_stock(account, up_id)
        with uow:
            wanted = _wanted(uow, account, rows, multi)
        if multi:
            writes = plan_store_writes(stock, wanted.per_warehouse, account.stores)
            if not writes:
                return 0, False
            after: dict[str, Any] = {"locations": [
                {"store_id": w.store_id, "quantity": w.quantity} for w in writes]}
            reason = f"rule 1 per warehouse for {up_id}: {wanted.per_warehouse}"
        else:
            if wanted.figure is None or stock.selling_address() == wanted.figure:
                return 0, False
            if stock.selling_address() is None:
                audit(up_id, "push-stock", AuditOutcome.SKIPPED, f"{up_id} has no "
                      f"selling_address stock beside Full: nothing of the seller's to write",
                      before=_stock_dict(stock), after={})
                return 0, False
            after = {"selling_address": wanted.figure}
            reason = f"rule 1 for {up_id} (beside Full): {wanted.figure}"
        try:
            answer = (ups.put_store_stock(account, up_id, writes, stock.version) if multi
                      else ups.put_selling_address(account, up_id, after["selling_address"],
                                                   stock.version))
        except VersionConflict:
            continue
        except MarketplaceRejected as exc:
            audit(up_id, "push-stock", AuditOutcome.REJECTED, f"{reason}; ML rejected: {exc}",
                  before=_stock_dict(stock), after=after, response={
                      "status": exc.status, "error": exc.error, "causes": list(exc.causes)})
            return 0, True
        audit(up_id, "push-stock", AuditOutcome.SENT, reason, before=_stock_dict(stock),
              after=after, response={"after": _stock_dict(answer)})
        return 1, False
    raise MarketplaceUnavailable(f"{up_id}: its stock changed on ML under each of "
                                 f"{MAX_VERSION_ATTEMPTS} writes (409 Version mismatch); "
                                 f"the push is retried later")
