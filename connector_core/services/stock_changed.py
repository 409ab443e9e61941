"""Use case: the ERP reports free quantities (CONTRACT §1 rule 1, §6 "stock changed")."""

from collections.abc import Sequence
from datetime import datetime

from attrs import frozen

from connector_core.domain.stock import StockReport, StockView
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.affected import queue_pushes_for_skus
from connector_core.services.up_model import Push


@frozen
class StockChangeResult:
    applied: tuple[StockReport, ...]
    stale: tuple[StockReport, ...]
    pushes: tuple[Push, ...]


def erp_stock_changed(reports: Sequence[StockReport], *, uow: UnitOfWork,
                      push_not_before: datetime | None = None) -> StockChangeResult:
    """Record the reports and queue a push for every item whose figure may have moved (held
    back until ``push_not_before``, if given: the ERP's coalescing window).

    A report older than (or as old as) the stored one for its SKU and warehouse is ignored,
    so replays and late deliveries change nothing. Holds the ERP has now accounted for *and*
    reported (see :mod:`connector_core.domain.stock`) are forgotten here.
    """
    with uow:
        applied: list[StockReport] = []
        stale: list[StockReport] = []
        # One order for every writer: concurrent batches lock the same rows in the same
        # sequence instead of deadlocking each other.
        for report in sorted(reports, key=lambda r: (r.sku, r.warehouse, r.as_of)):
            (applied if uow.stock.save_report_if_newer(report) else stale).append(report)
        skus = {r.sku for r in applied}
        if skus:
            view = StockView(uow.stock.reports_for(skus), (), uow.mappings.kits())
            done = view.split_holds(uow.stock.holds_for_skus(skus))[1]
            uow.stock.delete_holds(h.key for h in done)
        pushes = queue_pushes_for_skus(uow, skus, not_before=push_not_before)
        uow.commit()
    return StockChangeResult(tuple(applied), tuple(stale), tuple(pushes))
