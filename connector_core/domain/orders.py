"""ML orders as the connector sees them, which statuses hold stock, and the ERP event feed.

Status policy (CONTRACT §1 rule 3), deliberately conservative — holding a unit too long
undersells for a moment, releasing it too early oversells:

* ``confirmed``, ``payment_required``, ``payment_in_process``, ``partially_paid``, ``paid``:
  hold. ML has already taken the units off its own listing; until the ERP accounts for the
  order the connector must not publish them elsewhere.
* ``partially_refunded``: hold. Money went back, goods did not necessarily; if something comes
  back to the shelf the ERP's next stock report says so.
* ``pending_cancel``: hold. The sale is being cancelled but the refund is stuck; ML may still
  resolve it either way, so the units stay reserved until the order is ``cancelled``.
* ``cancelled``, ``invalid``: release.
* any status ML adds in future: hold (and the order's status is kept as ML sent it).

Rule 4: an order state is applied only when its ``last_updated`` is strictly newer than the one
stored; an equal or older state is a duplicate or a late delivery and changes nothing.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from attrs import field, frozen, validators

from connector_core.domain._validators import aware, aware_or_none
from connector_core.domain.mapping import Listing

RELEASING_STATUSES = frozenset({"cancelled", "invalid"})
PAID_STATUSES = frozenset({"paid", "partially_refunded"})


def status_holds(status: str) -> bool:
    """Whether an order in ``status`` keeps its units held (unknown statuses do)."""
    return status not in RELEASING_STATUSES


@frozen
class OrderLine:
    item_id: str = field(validator=validators.min_len(1))
    variation_id: int | None
    seller_sku: str | None
    quantity: int = field(validator=validators.ge(0))
    unit_price: Decimal
    currency_id: str = ""
    origin_node: str | None = None  # the network node ML takes the units from (multi-origin)

    @property
    def key(self) -> str:
        """Identity of the line inside its order: the listing it sold."""
        return f"{self.item_id}/{self.variation_id if self.variation_id is not None else '-'}"

    def listing(self, account: str) -> Listing:
        return Listing(account, self.item_id, self.variation_id)


def _lines(values: Iterable[OrderLine]) -> tuple[OrderLine, ...]:
    return tuple(values)


@frozen
class Order:
    id: int
    account: str
    status: str
    last_updated: datetime = field(validator=aware)
    lines: tuple[OrderLine, ...] = field(converter=_lines)
    pack_id: int | None = None
    date_created: datetime | None = field(default=None, validator=aware_or_none)
    total_amount: Decimal | None = None
    currency_id: str = ""
    buyer_id: int | None = None
    shipping_id: int | None = None  # the shipment (one per pack: a cart ships together)

    def supersedes(self, stored: "Order | None") -> bool:
        return stored is None or self.last_updated > stored.last_updated

    @property
    def holds_stock(self) -> bool:
        return status_holds(self.status)


class ErpEventType(StrEnum):
    CREATED = "order.created"
    PAID = "order.paid"
    CANCELLED = "order.cancelled"


@frozen
class ErpEvent:
    """One entry of the ERP's event feed; ``id`` is the outbox cursor, set when stored."""

    type: ErpEventType
    order: Order
    id: int | None = None

    @property
    def order_id(self) -> int:
        return self.order.id

    @property
    def account(self) -> str:
        return self.order.account


def events_due(order: Order, emitted: frozenset[ErpEventType]) -> list[ErpEventType]:
    """The events an order state adds to the feed, in feed order, each at most once per order.

    The feed only moves forward: created, then paid, then cancelled. An order first seen
    already cancelled never reached the ERP and adds nothing.
    """
    if ErpEventType.CANCELLED in emitted:
        return []
    if order.status in RELEASING_STATUSES:
        return [ErpEventType.CANCELLED] if ErpEventType.CREATED in emitted else []
    due = []
    if ErpEventType.CREATED not in emitted:
        due.append(ErpEventType.CREATED)
    if order.status in PAID_STATUSES and ErpEventType.PAID not in emitted:
        due.append(ErpEventType.PAID)
    return due


@frozen
class OrderRecord:
    """What the connector stores about one order id.

    ``order`` is None when the ERP said "accounted" for an order the connector has not seen yet
    (reordered deliveries); ``accounted_at`` is the first accounted call's instant.
    """

    order_id: int
    order: Order | None = None
    accounted_at: datetime | None = field(default=None, validator=aware_or_none)
    emitted: frozenset[ErpEventType] = frozenset()
