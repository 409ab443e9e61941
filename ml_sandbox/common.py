"""What every part of the sandbox shares: the state's fields, ML's clock and date format."""

import threading
from collections.abc import Callable
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

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
