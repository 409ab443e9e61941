"""Which holds an order state implies (rule 3), and how to move the stored holds there.

The holds of an order are a pure function of its latest state, the SKU each line resolves to,
the kit definitions and whether the ERP has accounted for it. Applying that function again to
the same inputs yields the same holds, which is what makes duplicate deliveries harmless.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from attrs import evolve, frozen

from connector_core.domain.mapping import KitCatalog
from connector_core.domain.orders import Order, OrderLine
from connector_core.domain.stock import Hold

HoldKey = tuple[int, str, str]


def desired_holds(
    order: Order,
    resolve_sku: Callable[[OrderLine], str | None],
    kits: KitCatalog,
    accounted_at: datetime | None,
) -> dict[HoldKey, Hold]:
    """Holds for ``order``: its lines' plain-SKU units while its status holds, else none.

    A line whose listing maps to no SKU holds nothing (its listing is not published by the
    connector). A kit line holds each component, ``quantity * units`` of it.
    """
    if not order.holds_stock:
        return {}
    units: dict[HoldKey, int] = defaultdict(int)
    origins: dict[HoldKey, str | None] = {}
    for line in order.lines:
        sku = resolve_sku(line)
        if sku is None or line.quantity == 0:
            continue
        for leaf, n in kits.leaf_units(sku, line.quantity).items():
            units[(order.id, line.key, leaf)] += n
            origins[(order.id, line.key, leaf)] = line.origin_node
    return {
        key: Hold(order_id=key[0], line=key[1], sku=key[2], units=n, accounted_at=accounted_at,
                  origin_node=origins[key])
        for key, n in units.items()
    }


@frozen
class HoldChanges:
    put: tuple[Hold, ...]
    delete: tuple[HoldKey, ...]

    @property
    def skus(self) -> set[str]:
        return {h.sku for h in self.put} | {k[2] for k in self.delete}

    def __bool__(self) -> bool:
        return bool(self.put or self.delete)


def plan_hold_changes(existing: Iterable[Hold], desired: dict[HoldKey, Hold]) -> HoldChanges:
    current = {h.key: h for h in existing}
    put = tuple(h for k, h in sorted(desired.items()) if current.get(k) != h)
    delete = tuple(sorted(k for k in current if k not in desired))
    return HoldChanges(put=put, delete=delete)


def mark_accounted(holds: Iterable[Hold], at: datetime) -> list[Hold]:
    """The holds with ``accounted_at`` set; the first accounted instant is kept on replays."""
    return [h if h.accounted_at is not None else evolve(h, accounted_at=at) for h in holds]
