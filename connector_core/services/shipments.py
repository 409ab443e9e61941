"""Use cases: shipments reach the ERP as ``order.shipping`` events (CONTRACT §1 rules 4-5).

A shipment is read when ML notifies the ``shipments`` topic, when an order naming it is
applied (:func:`link_order`), and by reconciliation while it is not final. Its ERP event
needs the orders it carries: a shipment whose order the connector has not applied yet waits
for it (a ``SyncOrder`` is queued, and applying the order queues the shipment again), so the
ERP always sees ``order.created`` before that order's ``order.shipping``.
"""

from datetime import datetime

from attrs import evolve, frozen

from connector_core.domain.commands import SyncOrder, SyncShipment
from connector_core.domain.errors import MarketplaceNotFound, UnknownAccount
from connector_core.domain.feed import ShippingEvent
from connector_core.domain.orders import Order
from connector_core.domain.shipments import (
    ShipmentRecord,
    as_passed,
    passed_statuses,
    shipping_due,
)
from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.unit_of_work import UnitOfWork

OPEN_SHIPMENTS_PER_RUN = 2000


@frozen
class ShipmentSeen:
    outcome: str
    announced: str | None = None  # the status an order.shipping event was added for


def link_order(order: Order, uow: UnitOfWork) -> None:
    """Inside the order's unit of work: remember which shipment carries it (and its pack),
    and queue a read of that shipment."""
    if order.shipping_id is None:
        return
    record = (uow.shipments.get(order.shipping_id)
              or ShipmentRecord(order.shipping_id, order.account))
    linked = record.with_order(order.id, order.pack_id)
    if linked != record:
        uow.shipments.save(linked)
    uow.jobs.add(SyncShipment(order.account, order.shipping_id))


def sync_shipment(cmd: SyncShipment, *, uow: UnitOfWork,
                  gateway: AfterSaleGateway) -> ShipmentSeen:
    """Read the shipment from ML (``x-format-new``) and announce its status once."""
    with uow:
        account = uow.accounts.get(cmd.account)
        known = uow.shipments.get(cmd.shipment_id)
    if account is None:
        raise UnknownAccount(f"unknown account {cmd.account!r}")
    try:
        shipment = gateway.get_shipment(account, cmd.shipment_id)
    except MarketplaceNotFound:  # final: a forged notification costs one call, no retries
        return ShipmentSeen(f"ML has no shipment {cmd.shipment_id}")
    pack_orders: list[int] | None = None
    if known is not None and known.pack_id is not None and not known.pack_read:
        pack_orders = gateway.pack_order_ids(account, known.pack_id)
    history: dict[str, datetime] = {}
    if known is not None and known.order_ids and shipping_due(shipment, known) \
            and passed_statuses(shipment, known):
        history = gateway.status_history(account, shipment.id)
    with uow:
        record = uow.shipments.get(cmd.shipment_id) or ShipmentRecord(shipment.id, account.name)
        if not record.order_ids and shipment.order_id is not None:
            stored = uow.orders.get(shipment.order_id)
            if stored is None or stored.order is None:
                uow.jobs.add(SyncOrder(account.name, shipment.order_id))
                uow.commit()
                return ShipmentSeen(f"waiting for order {shipment.order_id}")
            record = record.with_order(stored.order.id, stored.order.pack_id)
        if pack_orders is not None:
            merged: list[int] = list(dict.fromkeys([*record.order_ids, *pack_orders]))
            record = evolve(record, order_ids=merged, pack_read=True)
        if record.shipment is not None and shipment.last_updated < record.shipment.last_updated:
            uow.shipments.save(record)
            uow.commit()
            return ShipmentSeen("older than the stored state")
        due = shipping_due(shipment, record)
        if due:
            passed = [as_passed(shipment, status, history[status])
                      for status in passed_statuses(shipment, record) if status in history]
            for state in [*passed, shipment]:
                uow.erp_feed.append(ShippingEvent(state, record.order_ids, record.pack_id))
            record = evolve(record, emitted=record.emitted | {s.status for s in passed})
        uow.shipments.save(evolve(record, shipment=shipment,
                                  emitted=record.emitted | ({shipment.status} if due else set())))
        uow.commit()
    return ShipmentSeen("announced" if due else "already announced",
                        shipment.status if due else None)


def queue_open_shipments(account: str, seen_since: datetime, *, uow: UnitOfWork) -> int:
    """Reconciliation: re-read every shipment of the account not yet final (a lost
    ``shipments`` notification is recovered at the next run); how many were queued."""
    with uow:
        open_ids = uow.shipments.open_ids(account, seen_since, OPEN_SHIPMENTS_PER_RUN)
        for shipment_id in open_ids:
            uow.jobs.add(SyncShipment(account, shipment_id))
        uow.commit()
    return len(open_ids)
