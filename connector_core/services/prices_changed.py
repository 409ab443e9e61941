"""Use case: the ERP reports a SKU's cost and/or list price (rule 6 inputs)."""

from collections.abc import Sequence
from datetime import datetime

from attrs import frozen

from connector_core.domain.prices import ErpPrice
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.affected import queue_pushes_for_skus
from connector_core.services.up_model import Push


@frozen
class PriceChangeResult:
    changed: tuple[str, ...]
    pushes: tuple[Push, ...]


def erp_price_changed(updates: Sequence[ErpPrice], *, uow: UnitOfWork,
                      push_not_before: datetime | None = None) -> PriceChangeResult:
    """Merge each update field by field (an older field never overwrites a newer one), then
    queue a push for every item selling the SKU or a kit that contains it (held back until
    ``push_not_before``, if given)."""
    with uow:
        stored = uow.prices.erp_prices({u.sku for u in updates})
        changed = []
        for update in updates:
            merged = update.merged_into(stored.get(update.sku))
            if merged != stored.get(update.sku):
                uow.prices.save_erp_price(merged)
                stored[update.sku] = merged
                changed.append(update.sku)
        pushes = queue_pushes_for_skus(uow, changed, not_before=push_not_before)
        uow.commit()
    return PriceChangeResult(tuple(changed), tuple(pushes))
