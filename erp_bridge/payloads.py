"""Validation of what the ERP sends, and the JSON of what it reads back.

Every problem is reported with the path of the offending field (``updates[3].quantity``) and
nothing is applied when any entry of a batch is invalid.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connector_core.domain import ids
from connector_core.domain.errors import InvalidInput
from connector_core.domain.feed import FeedEvent, QuestionEvent, ShippingEvent
from connector_core.domain.inputs import (
    EARLIEST,
    LATEST,
    BadInstant,
    checked_instant,
    shown,
    text_problem,
)
from connector_core.domain.inputs import (
    parse_instant as read_instant,
)
from connector_core.domain.limits import MAX_NAME_LENGTH, MAX_SKU_LENGTH
from connector_core.domain.orders import Order
from connector_core.domain.prices import ErpPrice
from connector_core.domain.stock import StockReport
from erp_bridge.after_sale_json import question_event_json, shipping_event_json

MAX_BATCH = 10_000
# Costs and prices: below a trillion, and written in at most 32 characters (the columns hold
# 48): far beyond any real price, well inside what is stored.
MAX_MONEY = Decimal(10) ** 12
MAX_MONEY_DIGITS = 32
DEFAULT_WAREHOUSE = "default"


def invalid(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path}: {message}" if path else message)


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(path, f"expected a JSON object, got {type(value).__name__}")
    return value


def _text(data: dict[str, Any], key: str, path: str, *, longest: int,
          default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise invalid(f"{path}{key}", "is required")
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise invalid(f"{path}{key}", f"expected a non-empty string without surrounding spaces, "
                                    f"got {shown(value)}")
    if len(value) > longest:
        raise invalid(f"{path}{key}", f"is longer than {longest} characters")
    problem = text_problem(value)  # a NUL, a lone surrogate: the database cannot hold them
    if problem:
        raise invalid(f"{path}{key}", problem)
    return value


def _whole(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(path, f"expected a whole number, got {shown(value)}")
    if abs(value) > 10**9:
        raise invalid(path, f"{value} is out of range")
    return value


def _money(value: Any, path: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid(path, f"expected a number, got {shown(value)}")
    if isinstance(value, str) and len(value) > 64:
        raise invalid(path, f"expected a number, got {shown(value)}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise invalid(path, f"expected a number, got {shown(value)}") from None
    if not amount.is_finite() or amount < 0:
        raise invalid(path, f"expected a number >= 0, got {shown(value)}")
    if amount >= MAX_MONEY:
        raise invalid(path, f"expected a number below {MAX_MONEY:,}, got {shown(value)}")
    if len(str(amount)) > MAX_MONEY_DIGITS:
        raise invalid(path, f"{shown(value)} has more digits than a price can hold")
    return amount


def parse_instant(value: Any, path: str, default: datetime) -> datetime:
    """An ISO-8601 timestamp with a time zone (``2026-11-23T12:00:00-03:00``), inside the
    sane window (:data:`~connector_core.domain.inputs.EARLIEST` to ``LATEST``)."""
    if value is None:
        return default
    try:
        if isinstance(value, datetime):
            parsed = checked_instant(value)
        elif isinstance(value, str):
            parsed = read_instant(value)
        else:
            raise BadInstant("format")
    except BadInstant as bad:
        if bad.reason == "zone":
            raise invalid(path, f"timestamp {shown(value)} has no time zone") from None
        if bad.reason == "window":
            raise invalid(path, f"timestamp {shown(value)} is outside "
                                f"{EARLIEST.date()}..{LATEST.date()}") from None
        raise invalid(path, f"expected an ISO-8601 timestamp, got {shown(value)}") from None
    return parsed


def _entries(body: Any) -> list[tuple[str, dict[str, Any]]]:
    data = _object(body, "")
    if "updates" in data:
        updates = data["updates"]
        if not isinstance(updates, list) or not updates:
            raise invalid("updates", "expected a non-empty list")
        if len(updates) > MAX_BATCH:
            raise invalid("updates", f"at most {MAX_BATCH} entries per call, got {len(updates)}")
        return [(f"updates[{i}].", _object(u, f"updates[{i}]")) for i, u in enumerate(updates)]
    return [("", data)]


def _unknown_keys(data: dict[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise invalid(path.rstrip("."), f"unknown field(s): {', '.join(extra)}")


def parse_stock(body: Any, now: datetime) -> list[StockReport]:
    """``{"sku", "quantity", "warehouse"?, "as_of"?}`` or ``{"updates": [...]}``.

    ``warehouse`` defaults to ``"default"``; ``as_of`` (when the figure was true in the ERP)
    defaults to the time of the call.
    """
    reports = []
    for path, data in _entries(body):
        _unknown_keys(data, {"sku", "quantity", "warehouse", "as_of"}, path)
        if "quantity" not in data:
            raise invalid(f"{path}quantity", "is required")
        reports.append(StockReport(
            sku=_text(data, "sku", path, longest=MAX_SKU_LENGTH),
            warehouse=_text(data, "warehouse", path, longest=MAX_NAME_LENGTH,
                            default=DEFAULT_WAREHOUSE),
            quantity=_whole(data["quantity"], f"{path}quantity"),
            as_of=parse_instant(data.get("as_of"), f"{path}as_of", now)))
    return reports


def parse_prices(body: Any, now: datetime) -> list[ErpPrice]:
    """``{"sku", "cost"?, "price"?, "as_of"?}`` (at least one of cost and price) or a batch."""
    prices = []
    for path, data in _entries(body):
        _unknown_keys(data, {"sku", "cost", "price", "as_of"}, path)
        sku = _text(data, "sku", path, longest=MAX_SKU_LENGTH)
        cost = _money(data.get("cost"), f"{path}cost")
        price = _money(data.get("price"), f"{path}price")
        if cost is None and price is None:
            raise invalid(path.rstrip(".") or "body", "give at least one of cost and price")
        at = parse_instant(data.get("as_of"), f"{path}as_of", now)
        prices.append(ErpPrice(sku=sku, cost=cost, cost_as_of=at if cost is not None else None,
                               list_price=price,
                               list_price_as_of=at if price is not None else None))
    return prices


def parse_order_id(value: Any) -> int:
    return ids.order_id(value, "order_id")


def _json_decimal(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "account": order.account,
        "status": order.status,
        "last_updated": order.last_updated.isoformat(),
        "date_created": order.date_created.isoformat() if order.date_created else None,
        "pack_id": order.pack_id,
        "total_amount": _json_decimal(order.total_amount),
        "currency_id": order.currency_id,
        "buyer_id": order.buyer_id,
        "shipping_id": order.shipping_id,
        "lines": [{
            "item_id": line.item_id,
            "variation_id": line.variation_id,
            "seller_sku": line.seller_sku,
            "quantity": line.quantity,
            "unit_price": _json_decimal(line.unit_price),
            "currency_id": line.currency_id,
        } for line in order.lines],
    }


def event_json(event: FeedEvent) -> dict[str, Any]:
    if isinstance(event, ShippingEvent):
        return shipping_event_json(event)
    if isinstance(event, QuestionEvent):
        return question_event_json(event)
    return {"id": event.id, "type": event.type.value, "order_id": event.order_id,
            "account": event.account, "pack_id": event.order.pack_id,
            "order": order_json(event.order)}
