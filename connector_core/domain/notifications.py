"""ML notifications: what arrived, and what the connector does about each topic."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from attrs import field, frozen

from connector_core.domain.inputs import in_window


class Topic(StrEnum):
    ORDERS_V2 = "orders_v2"
    ORDERS = "orders"
    CREATED_ORDERS = "created_orders"
    ITEMS = "items"
    ITEMS_PRICES = "items_prices"


ORDER_TOPICS = frozenset({Topic.ORDERS_V2, Topic.ORDERS, Topic.CREATED_ORDERS})
ITEM_TOPICS = frozenset({Topic.ITEMS, Topic.ITEMS_PRICES})
# Every topic ML documents (reference/ml_api.md §5), processed or only recorded. Anything else
# in a notification's ``topic`` is someone's invention: metrics count it as "other".
ML_TOPICS = frozenset({
    *Topic, "questions", "payments", "messages", "shipments", "stock-location",
    "user-products-families", "catalog_item_competition_status", "fbm_stock_operations",
    "invoices", "claims", "public_offers", "public_candidates", "flex-handshakes",
    "price_suggestion", "orders_feedback", "catalog_suggestions"})


def _sane_instant(value: datetime | None) -> datetime | None:
    """ML's ``sent``/``received`` are information, not something to refuse a notification
    for: outside the sane window (or without a time zone) they are kept as None, never
    stored (one such value once made an inbox row that could not be read back)."""
    if value is None or value.utcoffset() is None or not in_window(value):
        return None
    return value


@frozen(kw_only=True)
class Notification:
    """A notification as ML posted it (never the new state: the resource must be read)."""

    topic: str
    resource: str
    user_id: int | None
    application_id: int | None = None
    attempts: int | None = None
    sent: datetime | None = field(default=None, converter=_sane_instant)
    received: datetime | None = field(default=None, converter=_sane_instant)
    ml_id: str | None = None

    @property
    def dedup_key(self) -> str:
        """Notifications for the same (topic, resource) say the same thing: re-read it."""
        return f"{self.topic}:{self.resource}"

    def resource_id(self) -> str | None:
        """The id at the end of ``/orders/123`` or ``/items/MLA1``; None if the shape is odd."""
        parts = [p for p in self.resource.split("?")[0].split("/") if p]
        if len(parts) >= 2 and parts[0] in ("orders", "items", "shipments", "questions"):
            return parts[1]
        return None


@frozen(kw_only=True)
class InboxEntry:
    """A notification stored on arrival, before ML gets its 200 (rule 5)."""

    id: int
    notification: Notification
    received_at: datetime
    raw: dict[str, Any] = field(factory=dict)
    duplicates: int = 0
    processed_at: datetime | None = None
    outcome: str = ""
