"""Use case: an order state read from ML (via a notification or reconciliation)."""

from collections.abc import Callable

from attrs import evolve, frozen

from connector_core.domain.holds import desired_holds, plan_hold_changes
from connector_core.domain.lanes import Lane
from connector_core.domain.mapping import KitCatalog
from connector_core.domain.orders import (
    ErpEvent,
    ErpEventType,
    Order,
    OrderLine,
    OrderRecord,
    events_due,
)
from connector_core.domain.stock import StockView
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.affected import queue_pushes_for_skus
from connector_core.services.shipments import link_order
from connector_core.services.up_model import Push


@frozen
class OrderSeenResult:
    applied: bool
    events: tuple[ErpEventType, ...] = ()
    holds_changed: bool = False
    unmapped_lines: tuple[str, ...] = ()
    pushes: tuple[Push, ...] = ()
    not_found: str = ""  # ML has no such order: why nothing was applied


def _resolver(uow: UnitOfWork, account: str,
              kits: KitCatalog) -> Callable[[OrderLine], str | None]:
    def resolve(line: OrderLine) -> str | None:
        row = uow.mappings.row_for_listing(line.listing(account))
        if row is not None:
            return row.sku
        # An unmapped listing selling a SKU the connector publishes elsewhere still takes
        # units off the shelf: hold them under the SKU ML reports, so no other listing oversells.
        sku = line.seller_sku
        if sku and (sku in kits or uow.mappings.rows_for_skus([sku])):
            return sku
        return None
    return resolve


def order_seen(order: Order, *, uow: UnitOfWork) -> OrderSeenResult:
    """Apply an order state if it is newer than the stored one (rule 4).

    Moves the order's holds to what its status implies (rule 3), appends the ERP events it
    adds to the feed (each type once per order), and queues pushes for every item selling a
    SKU the order touches, including the sold listing itself (rule 2).
    """
    with uow:
        record = uow.orders.get(order.id) or OrderRecord(order_id=order.id)
        if not order.supersedes(record.order):
            return OrderSeenResult(applied=False)
        kits = uow.mappings.kits()
        resolve = _resolver(uow, order.account, kits)
        line_sku = {line.key: resolve(line) for line in order.lines}  # one lookup per line
        desired = desired_holds(order, lambda line: line_sku[line.key], kits,
                                record.accounted_at)
        if desired:
            skus = {h.sku for h in desired.values()}
            view = StockView(uow.stock.reports_for(skus), (), kits)
            counting = view.split_holds(desired.values())[0]
            desired = {k: h for k, h in desired.items() if h in counting}
        existing = uow.stock.holds_for_order(order.id)
        changes = plan_hold_changes(existing, desired)
        uow.stock.put_holds(changes.put)
        uow.stock.delete_holds(changes.delete)
        due = events_due(order, record.emitted)
        for event_type in due:
            uow.erp_feed.append(ErpEvent(type=event_type, order=order))
        uow.orders.save(evolve(record, order=order, emitted=record.emitted | set(due)))
        link_order(order, uow)
        sold = {sku for sku in line_sku.values() if sku is not None}
        touched = sold | {h.sku for h in existing} | set(changes.skus)
        pushes = queue_pushes_for_skus(uow, touched, kits, lane=Lane.URGENT)  # a sale's
        unmapped = tuple(key for key, sku in line_sku.items() if sku is None)
        uow.commit()
    return OrderSeenResult(applied=True, events=tuple(due), holds_changed=bool(changes),
                           unmapped_lines=unmapped, pushes=tuple(pushes))
