"""What every part of the sandbox shares: the state's fields, ML's clock and date format."""

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ml_sandbox.errors import bad_request

ML_ZONE = timezone(timedelta(hours=-4))  # ML renders dates with -04:00 offsets


def ml_time(moment: datetime) -> str:
    return moment.astimezone(ML_ZONE).isoformat(timespec="milliseconds")


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace(" ", "+"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def int_arg(args: dict[str, str], name: str, default: int) -> int:
    try:
        return int(args.get(name, default))
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer") from exc


def is_number(text: str) -> bool:
    """Plain ASCII digits (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def seller_record(user_id: int, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """A seller as ``/users/{id}`` shows it. ``tags`` follow ML (ml_api.md §2.5-2.6):
    ``user_product_seller`` for the User Products model, ``warehouse_management`` for
    multi-origin stock; the seed may give them as ``tags`` or as those two booleans."""
    spec = spec or {}
    tags = list(spec.get("tags") or ["normal"])
    for flag in ("user_product_seller", "warehouse_management"):
        if spec.get(flag) and flag not in tags:
            tags.append(flag)
    return {"id": user_id, "nickname": spec.get("nickname", f"SELLER{user_id}"),
            "site_id": spec.get("site_id", "MLA"), "tags": tags}


def has_tag(seller: dict[str, Any] | None, tag: str) -> bool:
    return seller is not None and tag in seller.get("tags", [])


def sku_of(listing: dict[str, Any]) -> str | None:
    for attribute in listing.get("attributes", []) or []:
        if attribute.get("id") == "SELLER_SKU":
            value: str | None = attribute.get("value_name")
            return value
    return None


class StateBase:
    """The fields :class:`ml_sandbox.state.SandboxState` sets up; the rule mixins use them."""

    lock: threading.RLock
    clock: Callable[[], float]
    client_id: str
    client_secret: str
    application_id: int
    redirect_uri: str | None
    pkce: bool
    token_ttl: int
    sellers: dict[int, dict[str, Any]]
    access: dict[str, tuple[int, float]]
    refresh_tokens: dict[int, str]
    codes: dict[str, tuple[int, str | None]]
    grants: list[dict[str, Any]]
    items: dict[str, dict[str, Any]]
    deleted_variations: list[dict[str, Any]]
    next_variation_id: int
    scrolls: dict[str, tuple[list[str], float]]
    orders: dict[int, dict[str, Any]]
    next_order_id: int
    partial_orders: bool
    orders_search_max_limit: int
    callback_url: str | None
    notify_topics: set[str]
    # User Products (ml_sandbox.user_products)
    stores: dict[str, dict[str, Any]]
    user_products: dict[str, dict[str, Any]]
    families: dict[int, dict[str, Any]]
    replication_delay: float
    pending_syncs: list[dict[str, Any]]
    timers: list[threading.Timer]
    next_number: int
    order_stock: dict[int, list[dict[str, Any]]]
    # after the sale (ml_sandbox.shipping, ml_sandbox.questions)
    shipments: dict[int, dict[str, Any]]
    packs: dict[int, dict[str, Any]]
    questions: dict[int, dict[str, Any]]
    notify_hook: Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]] | None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def new_number(self) -> int:
        """A fresh number for generated ids (items, user products, packs, questions)."""
        self.next_number += 1
        return self.next_number

    def emit(self, notifications: Iterable[dict[str, Any]],
             data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Post notifications ``{topic, resource, user_id}`` through the app's delivery (with
        the duplicate/drop controls in ``data``); call it outside the lock."""
        hook = self.notify_hook
        data = data or {}
        deliveries: list[dict[str, Any]] = []
        if hook is None or not (data.get("callback_url") or self.callback_url
                                or data.get("drop")):
            return deliveries
        for notification in notifications:
            deliveries += hook(notification, data)
        return deliveries

    def emit_later(self, notifications: list[dict[str, Any]]) -> None:
        """:meth:`emit` on a thread: what ML sends after an API write must not hold the
        caller's answer (ML answers first and notifies afterwards)."""
        if notifications and self.notify_hook is not None and self.callback_url:
            threading.Thread(target=self.emit, args=(notifications,), daemon=True).start()

    def wants(self, topic: str) -> bool:
        """Whether ML notifies *every* change on ``topic`` (``/_sandbox/config``
        ``notify_topics``), including those the seller's own API calls make."""
        return topic in self.notify_topics and bool(self.callback_url)
