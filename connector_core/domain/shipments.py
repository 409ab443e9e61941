"""ML shipments as the ERP sees them, and when a shipment state becomes an ``order.shipping``
event (CONTRACT §1 rules 4 and 5, §5).

One event per (shipment, status), in the order ML moves a shipment: ``pending``,
``handling``, ``ready_to_ship``, ``shipped``, then ``delivered``, ``not_delivered`` or
``cancelled``. A status is announced the first time the connector reads the shipment in it,
with the substatus it had then; a later substatus of the same status (``ready_to_print`` ->
``printed``) adds nothing. A state read older than the stored one (``last_updated``) is a late
delivery and changes nothing, and a status behind one already announced is never announced
(the feed of a shipment only moves forward). A status the connector skipped (both
notifications lost and the shipment moved on meanwhile) is not invented: the ERP sees the
status the shipment has.
"""

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from attrs import evolve, field, frozen

from connector_core.domain._validators import aware, aware_or_none

# ML's status progression; statuses outside it (to_be_agreed, stale_shipped, ...) are
# announced when first seen, without ordering constraints.
STATUS_RANK = {"pending": 0, "handling": 1, "ready_to_ship": 2, "shipped": 3,
               "delivered": 4, "not_delivered": 4, "cancelled": 4}
FINAL_STATUSES = frozenset({"delivered", "not_delivered", "cancelled"})
PRINTABLE_STATUS = "ready_to_ship"


class LogisticType(StrEnum):
    """How the seller ships, in the ERP's words (ML's ``logistic.type`` says which)."""

    DROP_OFF = "drop_off"            # the seller drops parcels at a carrier point
    CROSS_DOCKING = "cross_docking"  # ML collects at the seller's warehouse
    SELF_SERVICE = "self_service"    # Flex: the seller delivers
    FULFILLMENT = "fulfillment"      # Full: ML ships from its own warehouse
    OTHER = "other"


_LOGISTIC = {"drop_off": LogisticType.DROP_OFF, "xd_drop_off": LogisticType.DROP_OFF,
             "cross_docking": LogisticType.CROSS_DOCKING,
             "self_service": LogisticType.SELF_SERVICE,
             "fulfillment": LogisticType.FULFILLMENT}


def logistic_type(ml_type: str | None) -> LogisticType:
    return _LOGISTIC.get(ml_type or "", LogisticType.OTHER)


@frozen
class Address:
    """The receiver's address as ML gives it (any part may be missing)."""

    street_name: str | None = None
    street_number: str | None = None
    address_line: str | None = None
    comment: str | None = None
    zip_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    neighborhood: str | None = None


@frozen
class Receiver:
    name: str | None = None
    phone: str | None = None
    address: Address | None = None


@frozen
class Shipment:
    id: int
    account: str
    status: str
    last_updated: datetime = field(validator=aware)
    substatus: str | None = None
    logistic: str | None = None  # ML's own logistic.type (xd_drop_off, ...)
    mode: str | None = None
    tracking_number: str | None = None
    tracking_method: str | None = None
    order_id: int | None = None
    date_created: datetime | None = field(default=None, validator=aware_or_none)
    receiver: Receiver | None = None

    @property
    def logistic_type(self) -> LogisticType:
        return logistic_type(self.logistic)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


def _statuses(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _ids(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


@frozen
class ShipmentRecord:
    """What the connector stores about one shipment: the orders it carries (from the orders
    that named it, or the pack), the last state read, and the statuses announced."""

    shipment_id: int
    account: str
    order_ids: tuple[int, ...] = field(default=(), converter=_ids)
    pack_id: int | None = None
    pack_read: bool = False
    shipment: Shipment | None = None
    emitted: frozenset[str] = field(default=frozenset(), converter=_statuses)

    def with_order(self, order_id: int, pack_id: int | None) -> "ShipmentRecord":
        ids = self.order_ids if order_id in self.order_ids else (*self.order_ids, order_id)
        return evolve(self, order_ids=ids, pack_id=self.pack_id or pack_id)


PASSABLE = ("handling", "ready_to_ship", "shipped")  # what a later status implies it went through


def passed_statuses(shipment: Shipment, record: ShipmentRecord) -> list[str]:
    """Statuses of ML's forward path the shipment went through since the last one announced
    (both reads missed): ``delivered`` after ``handling`` passed ``ready_to_ship`` and
    ``shipped``. Announced before it, each when ML's history dates it."""
    rank = STATUS_RANK.get(shipment.status)
    if rank is None or shipment.status == "cancelled":
        return []
    reached = max((STATUS_RANK.get(s, -1) for s in record.emitted), default=-1)
    return [s for s in PASSABLE if reached < STATUS_RANK[s] < rank and s not in record.emitted]


def as_passed(shipment: Shipment, status: str, at: datetime) -> Shipment:
    """The shipment as it was in a status it passed (no substatus known; no tracking number
    before ``ready_to_ship``)."""
    tracked = STATUS_RANK[status] >= STATUS_RANK["ready_to_ship"]
    return evolve(shipment, status=status, substatus=None, last_updated=at,
                  tracking_number=shipment.tracking_number if tracked else None)


def shipping_due(shipment: Shipment, record: ShipmentRecord) -> bool:
    """Whether this state adds an ``order.shipping`` event (see the module's rules)."""
    stored = record.shipment
    if stored is not None and shipment.last_updated < stored.last_updated:
        return False
    if shipment.status in record.emitted:
        return False
    rank = STATUS_RANK.get(shipment.status)
    reached = max((STATUS_RANK.get(s, -1) for s in record.emitted), default=-1)
    return rank is None or rank > reached
