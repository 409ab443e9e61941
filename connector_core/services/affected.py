"""Which items must be pushed when some SKUs' stock or price changes (rules 1 and 2)."""

from collections.abc import Iterable
from datetime import datetime

from connector_core.domain.errors import InvalidInput
from connector_core.domain.mapping import KitCatalog, rows_touched_by
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.up_model import Push, pushes_for_items


def queue_pushes_for_skus(uow: UnitOfWork, skus: Iterable[str],
                          kits: KitCatalog | None = None, *,
                          not_before: datetime | None = None) -> list[Push]:
    """Add one push per item that sells any SKU related to ``skus`` (held back until
    ``not_before``, if given): per User Product for the items of a known UP, none for items
    known to be closed (:func:`~connector_core.services.up_model.pushes_for_items`)."""
    skus = set(skus)
    if not skus:
        return []
    kits = kits if kits is not None else uow.mappings.kits()
    rows = rows_touched_by(skus, kits, uow.mappings.rows_for_skus)
    pushes = pushes_for_items(uow, {row.listing.item_key for row in rows if row.active})
    for push in pushes:
        uow.jobs.add(push, not_before=not_before)
    return pushes


def queue_pushes_now(uow: UnitOfWork, sku: str | None) -> list[Push]:
    """``meli-connector sync``: a push for every mapped item (``sku`` None), or for every item
    that sells ``sku`` or a SKU related to it, in one transaction (one per User Product)."""
    with uow:
        if sku is None:
            items = uow.mappings.items()
        else:
            rows = rows_touched_by([sku], uow.mappings.kits(), uow.mappings.rows_for_skus)
            if not rows:
                raise InvalidInput(f"SKU {sku!r} is not on any mapping row or kit")
            items = sorted({row.listing.item_key for row in rows if row.active})
        pushes = pushes_for_items(uow, items)
        for push in pushes:
            uow.jobs.add(push)
        uow.commit()
    return pushes
