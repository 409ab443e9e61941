"""Use case: the ERP has the order and its stock move (``/erp/orders/<id>/accounted``)."""

from datetime import datetime

from attrs import evolve, frozen

from connector_core.domain.holds import mark_accounted
from connector_core.domain.orders import OrderRecord
from connector_core.domain.stock import StockView
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.affected import queue_pushes_for_skus
from connector_core.services.up_model import Push


@frozen
class AccountedResult:
    first_time: bool
    known_order: bool
    released_units: int = 0
    pushes: tuple[Push, ...] = ()


def order_accounted(order_id: int, at: datetime, *, uow: UnitOfWork) -> AccountedResult:
    """Mark the order accounted at ``at`` (the first call wins; replays change nothing).

    The order's holds stop counting once the ERP reports their SKUs at or after ``at``; if it
    already has, they are released now. Works for an order not seen yet: its holds will be
    created already accounted.
    """
    with uow:
        record = uow.orders.get(order_id) or OrderRecord(order_id=order_id)
        if record.accounted_at is not None:
            return AccountedResult(first_time=False, known_order=record.order is not None)
        uow.orders.save(evolve(record, accounted_at=at))
        holds = mark_accounted(uow.stock.holds_for_order(order_id), at)
        skus = {h.sku for h in holds}
        view = StockView(uow.stock.reports_for(skus), (), uow.mappings.kits())
        still, gone = view.split_holds(holds)
        uow.stock.put_holds(still)
        uow.stock.delete_holds(h.key for h in gone)
        pushes = queue_pushes_for_skus(uow, {h.sku for h in gone})
        uow.commit()
    return AccountedResult(first_time=True, known_order=record.order is not None,
                           released_units=sum(h.units for h in gone), pushes=tuple(pushes))
