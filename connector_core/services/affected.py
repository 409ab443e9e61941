"""Which items must be pushed when some SKUs' stock or price changes (rules 1 and 2)."""

from collections.abc import Iterable
from datetime import datetime

from connector_core.domain.mapping import KitCatalog
from connector_core.ports import UnitOfWork
from connector_core.services.up_model import Push, pushes_for_items


def related_skus(skus: Iterable[str], kits: KitCatalog) -> set[str]:
    related: set[str] = set()
    for sku in skus:
        related |= kits.related_skus(sku)
    return related


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
    rows = uow.mappings.rows_for_skus(related_skus(skus, kits))
    pushes = pushes_for_items(uow, {row.listing.item_key for row in rows if row.active})
    for push in pushes:
        uow.jobs.add(push, not_before=not_before)
    return pushes
