"""ML's User Products (UP) model and multi-origin stock (CONTRACT §1 rule 1, ml_api.md §2.5-2.6).

On a UP seller every item sells one physical product, its *User Product*; items of one UP
share its stock (ML replicates ``available_quantity`` written on one item to all of them), so
the connector computes one figure per UP and writes it once. A seller with multi-origin stock
(tag ``warehouse_management``) keeps that stock per store on ``/user-products/{id}/stock``:
rule 1 then holds per warehouse, each ERP warehouse being mapped to one ML store.

Per warehouse, ``free_w(sku) = reported_w(sku) - held_w(sku)`` where ``held_w`` counts the
holds whose shipment leaves from ``w`` (its origin node) *and* every hold whose origin is
not known yet (or is no mapped warehouse): such a sale may still take its units from any
warehouse, so it counts against all of them and nothing is oversold wherever it ships from.
A kit's ``free_w`` is the minimum over its components of ``floor(free_w(c) / units)``, and
each store publishes ``clamp(0, max_quantity, free_w - safety_stock)``.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from attrs import field, frozen, validators

from connector_core.domain._validators import aware
from connector_core.domain.mapping import KitCatalog, MappingRow
from connector_core.domain.stock import Hold, StockView, clamp_published

UP_SELLER_TAG = "user_product_seller"
MULTI_ORIGIN_TAG = "warehouse_management"
MIGRATION_TAG = "variations_migration_uptin"
SELLER_WAREHOUSE = "seller_warehouse"
SELLING_ADDRESS = "selling_address"
MELI_FACILITY = "meli_facility"


@frozen
class SellerModel:
    """What ML says about a seller's item model, as last read (``GET /users/{id}`` tags)."""

    user_product_seller: bool
    multi_origin: bool
    checked_at: datetime = field(validator=aware)

    @classmethod
    def from_tags(cls, tags: Iterable[str], at: datetime) -> "SellerModel":
        tags = set(tags)
        return cls(user_product_seller=UP_SELLER_TAG in tags,
                   multi_origin=MULTI_ORIGIN_TAG in tags, checked_at=at)

    @property
    def label(self) -> str:
        if not self.user_product_seller:
            return "classic"
        return "user products, multi-origin" if self.multi_origin else "user products"


@frozen
class StoreRef:
    """An ERP warehouse mapped to one of the account's ML stores (``[accounts.X.stores]``)."""

    warehouse: str = field(validator=validators.min_len(1))
    store_id: str = field(validator=validators.matches_re(r"^[0-9]{1,20}$"))
    network_node_id: str = field(validator=validators.matches_re(r"^[A-Za-z0-9_-]{1,64}$"))


@frozen
class MlStore:
    """A store as ``/users/{id}/stores/search`` lists it."""

    id: str
    network_node_id: str | None
    description: str = ""
    stock_location: bool = False


@frozen
class UpLocation:
    type: str
    quantity: int
    store_id: str | None = None
    network_node_id: str | None = None


def _locations(values: Iterable[UpLocation]) -> tuple[UpLocation, ...]:
    return tuple(values)


@frozen
class UpStock:
    """``GET /user-products/{id}/stock``: its locations and the ``x-version`` to write with."""

    user_product_id: str
    version: int
    locations: tuple[UpLocation, ...] = field(converter=_locations)

    def selling_address(self) -> int | None:
        """The seller's own stock beside Full (Full + Flex), None when the UP has none."""
        return next((loc.quantity for loc in self.locations if loc.type == SELLING_ADDRESS),
                    None)

    def store_quantity(self, store_id: str) -> int | None:
        return next((loc.quantity for loc in self.locations
                     if loc.type == SELLER_WAREHOUSE and loc.store_id == store_id), None)


@frozen
class StoreWrite:
    """One location of ``PUT /user-products/{id}/stock/type/seller_warehouse``."""

    store_id: str
    network_node_id: str
    quantity: int = field(validator=validators.ge(0))


def plan_store_writes(stock: UpStock, wanted: Mapping[str, int],
                      stores: Sequence[StoreRef]) -> tuple[StoreWrite, ...]:
    """The seller_warehouse locations whose quantity differs from ``wanted`` (by warehouse).

    Only mapped stores are ever named: Full (``meli_facility``) and the stores of
    warehouses the connector has no figure for are left as ML has them.
    """
    writes = []
    for store in stores:
        figure = wanted.get(store.warehouse)
        if figure is not None and stock.store_quantity(store.store_id) != figure:
            writes.append(StoreWrite(store.store_id, store.network_node_id, figure))
    return tuple(writes)


def held_at(holds: Iterable[Hold], view: StockView, sku: str, node: str,
            known_nodes: frozenset[str]) -> int:
    """Units of ``sku`` held against the warehouse at ``node``: the holds shipping from it
    and those whose origin is unknown or is no mapped warehouse."""
    return sum(h.units for h in holds
               if h.sku == sku and h.counts(view.latest_report_at(sku))
               and (h.origin_node is None or h.origin_node not in known_nodes
                    or h.origin_node == node))


def free_at(view: StockView, holds: Sequence[Hold], kits: KitCatalog, *, sku: str,
            store: StoreRef, known_nodes: frozenset[str]) -> int | None:
    """Rule 1's ``free_w(sku)`` for the warehouse of ``store`` (None: the ERP never
    reported the SKU there)."""
    kit = kits.get(sku)
    if kit is None:
        reported = view.reported(sku, frozenset({store.warehouse}))
        if reported is None:
            return None
        return reported - held_at(holds, view, sku, store.network_node_id, known_nodes)
    figures = []
    for component, units in kit.components.items():
        free = free_at(view, holds, kits, sku=component, store=store, known_nodes=known_nodes)
        if free is None:
            return None
        figures.append(free // units)
    return min(figures)


def published_per_warehouse(row: MappingRow, view: StockView, holds: Sequence[Hold],
                            kits: KitCatalog, stores: Sequence[StoreRef]
                            ) -> dict[str, int | None]:
    """Rule 1 per warehouse for one listing: warehouse -> figure (None: unknown)."""
    known = frozenset(s.network_node_id for s in stores)
    figures: dict[str, int | None] = {}
    for store in stores:
        free = free_at(view, holds, kits, sku=row.sku, store=store, known_nodes=known)
        figures[store.warehouse] = (None if free is None else
                                    clamp_published(free, row.safety_stock, row.max_quantity))
    return figures


def shared_figure(figures: Iterable[int | None]) -> int | None:
    """The one figure of listings that share a UP: the smallest (never more than any of
    them allows); None when any is unknown."""
    values = list(figures)
    if not values or any(v is None for v in values):
        return None
    return min(v for v in values if v is not None)
