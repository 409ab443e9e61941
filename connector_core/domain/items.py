"""A marketplace item as read from ML, and the single update a push sends (rule 7).

ML deletes every variation a ``PUT /items/{id}`` with ``variations`` omits, and wants one
price for all of them. :func:`plan_item_update` is the only place an update is built, so both
rules hold by construction: an item with variations is updated through a ``variations`` list
carrying *every* variation id ML reported, and a price change goes to all of them at once.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from attrs import field, frozen


@frozen
class MarketVariation:
    id: int
    available_quantity: int
    price: Decimal
    seller_sku: str | None = None


def _variations(values: Iterable[MarketVariation]) -> tuple[MarketVariation, ...]:
    return tuple(values)


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@frozen(kw_only=True)
class MarketItem:
    """What the connector needs of ``GET /items/{id}?include_attributes=all``."""

    id: str
    site_id: str
    seller_id: int | None
    status: str
    price: Decimal
    currency_id: str
    available_quantity: int
    variations: tuple[MarketVariation, ...] = field(default=(), converter=_variations)
    seller_sku: str | None = None
    sub_status: tuple[str, ...] = field(default=(), converter=_strings)
    title: str = ""
    last_updated: str | None = None
    user_product_id: str | None = None  # the UP this item sells (UP sellers, ml_api.md §2.5)
    tags: tuple[str, ...] = field(default=(), converter=_strings)
    logistic_type: str | None = None  # "fulfillment": ML's Full holds (some of) its stock

    @property
    def has_variations(self) -> bool:
        return bool(self.variations)

    def variation(self, variation_id: int) -> MarketVariation | None:
        return next((v for v in self.variations if v.id == variation_id), None)

    @property
    def closed(self) -> bool:
        return self.status == "closed"


@frozen
class VariationUpdate:
    id: int
    available_quantity: int | None = None
    price: Decimal | None = None


@frozen(kw_only=True)
class ItemUpdate:
    """One ``PUT /items/{item_id}``: only the fields set are sent.

    For an item with variations ``variations`` lists every variation id; those without a
    change carry just their id (which keeps them alive on ML).
    """

    item_id: str
    available_quantity: int | None = None
    price: Decimal | None = None
    variations: tuple[VariationUpdate, ...] | None = None
    status: str | None = None

    @property
    def empty(self) -> bool:
        if self.variations is not None:
            return self.status is None and not any(
                v.available_quantity is not None or v.price is not None for v in self.variations)
        return self.available_quantity is None and self.price is None and self.status is None


@frozen
class UnmappableUpdate:
    """Why a wanted change cannot be sent as asked (e.g. a mapped variation ML does not have)."""

    item_id: str
    message: str


def plan_item_update(
    item: MarketItem,
    quantities: Mapping[int | None, int],
    price: Decimal | None = None,
) -> tuple[ItemUpdate, list[UnmappableUpdate]]:
    """Build the update that brings ``item`` to the wanted figures, sending only differences.

    ``quantities`` maps a variation id (or None for the item itself) to the wanted quantity.
    Returns the update (possibly empty) and the wanted changes it could not express: a
    variation id the item no longer has, or a plain-item quantity on an item with variations.
    """
    problems: list[UnmappableUpdate] = []
    if not item.has_variations:
        qty = quantities.get(None)
        for vid in (k for k in quantities if k is not None):
            problems.append(UnmappableUpdate(item.id, f"variation {vid} is mapped but the item "
                                                      f"has no variations on ML"))
        return ItemUpdate(
            item_id=item.id,
            available_quantity=qty if qty is not None and qty != item.available_quantity
            else None,
            price=price if price is not None and price != item.price else None,
        ), problems
    if None in quantities:
        problems.append(UnmappableUpdate(item.id, "the item has variations on ML but is mapped "
                                                  "without a variation id; not updated"))
    known = {v.id for v in item.variations}
    for vid in (k for k in quantities if k is not None and k not in known):
        problems.append(UnmappableUpdate(item.id, f"variation {vid} does not exist on ML "
                                                  f"(deleted?); not updated"))
    price_changes = price is not None and any(v.price != price for v in item.variations)
    updates = []
    for v in item.variations:
        wanted = quantities.get(v.id)
        updates.append(VariationUpdate(
            id=v.id,
            available_quantity=wanted if wanted is not None and wanted != v.available_quantity
            else None,
            price=price if price_changes else None,
        ))
    return ItemUpdate(item_id=item.id, variations=tuple(updates)), problems
