"""Which items must be pushed when some SKUs' stock or price changes (rules 1 and 2)."""

from collections.abc import Iterable
from datetime import datetime

from connector_core.domain.commands import PushItem
from connector_core.domain.mapping import KitCatalog
from connector_core.ports.unit_of_work import UnitOfWork


def related_skus(skus: Iterable[str], kits: KitCatalog) -> set[str]:
    related: set[str] = set()
    for sku in skus:
        related |= kits.related_skus(sku)
    return related


def queue_pushes_for_skus(uow: UnitOfWork, skus: Iterable[str],
                          kits: KitCatalog | None = None, *,
                          not_before: datetime | None = None) -> list[PushItem]:
    """Add one :class:`PushItem` per item that sells any SKU related to ``skus`` (held back
    until ``not_before``, if given)."""
    skus = set(skus)
    if not skus:
        return []
    kits = kits if kits is not None else uow.mappings.kits()
    rows = uow.mappings.rows_for_skus(related_skus(skus, kits))
    items = sorted({row.listing.item_key for row in rows if row.active})
    pushes = [PushItem(account, item_id) for account, item_id in items]
    for push in pushes:
        uow.jobs.add(push, not_before=not_before)
    return pushes
