"""One tolerant cattrs converter for ML JSON, and the translation of wire models to the domain.

Tolerant: unknown keys are ignored, numbers may come as strings (``user_id`` does), prices
become ``Decimal`` through their text (never through binary floats), ids are Python ints
(ML ids exceed 32 bits). A payload that lacks a needed field raises :class:`MlPayloadError`
naming it, e.g. ``item: required field missing @ $.status``.
"""

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn, override

from adapters.ml_api.wire import (
    MlAttribute,
    MlItem,
    MlNotification,
    MlOrder,
    MlToken,
)
from connector_core.domain.accounts import TokenSet
from connector_core.domain.items import MarketItem, MarketVariation
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import Order, OrderLine

T = TypeVar("T")
SKU_ATTRIBUTE = "SELLER_SKU"


class MlPayloadError(ValueError):
    """An ML payload the connector cannot use; the message names the offending field."""


_NODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _decimal(value: Any, _type: type) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"expected a number, got {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _int(value: Any, _type: type) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _str(value: Any, _type: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string, got {value!r}")


def parse_datetime(value: Any, _type: type = datetime) -> datetime:
    """ISO 8601 with an offset (``-04:00``, ``Z``); a naive value is taken as UTC (ML's zone)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise ValueError(f"expected an ISO 8601 timestamp, got {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _build() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(Decimal, _decimal)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(datetime, parse_datetime)
    conv.register_structure_hook(MlNotification, make_dict_structure_fn(
        MlNotification, conv, ml_id=override(rename="_id")))
    return conv


ml_converter = _build()


def structure(data: Any, cls: type[T], what: str) -> T:
    """``ml_converter.structure`` with errors turned into one readable :class:`MlPayloadError`."""
    try:
        return ml_converter.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        details = "; ".join(cattrs.transform_error(exc))
        raise MlPayloadError(f"{what}: {details}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise MlPayloadError(f"{what}: {exc}") from exc


def _sku(attributes: Iterable[MlAttribute], custom_field: str | None) -> str | None:
    for attribute in attributes:
        if attribute.id == SKU_ATTRIBUTE and attribute.value_name:
            return attribute.value_name
    return custom_field or None


def item_to_domain(wire: MlItem) -> MarketItem:
    variations = [
        MarketVariation(
            id=v.id,
            available_quantity=v.available_quantity,
            price=v.price if v.price is not None else wire.price,
            seller_sku=_sku(v.attributes, v.seller_custom_field),
        ) for v in wire.variations]
    sub_status: list[str] = wire.sub_status
    return MarketItem(
        id=wire.id,
        site_id=wire.site_id,
        seller_id=wire.seller_id,
        status=wire.status,
        price=wire.price,
        currency_id=wire.currency_id,
        available_quantity=wire.available_quantity,
        variations=variations,
        seller_sku=_sku(wire.attributes, wire.seller_custom_field),
        sub_status=sub_status,
        title=wire.title,
        last_updated=wire.last_updated,
        user_product_id=wire.user_product_id,
        tags=wire.tags,
        logistic_type=wire.shipping.logistic_type if wire.shipping is not None else None,
    )


def parse_item(data: Any) -> MarketItem:
    """``GET /items/{id}`` JSON (seller view with ``include_attributes=all``) -> MarketItem."""
    return item_to_domain(structure(data, MlItem, "item"))


def _node(value: str | None) -> str | None:
    """An ML network node id, or None (unknown: the hold counts against every warehouse)
    when ML sends none or something that is not one."""
    return value if value is not None and _NODE.fullmatch(value) else None


def order_to_domain(wire: MlOrder, account: str) -> Order:
    last_updated = (wire.last_updated or wire.date_last_updated or wire.date_closed
                    or wire.date_created)
    if last_updated is None:
        raise MlPayloadError(f"order {wire.id}: required field missing @ $.last_updated "
                             f"(nor date_last_updated, date_closed, date_created)")
    try:
        lines = [
            OrderLine(
                item_id=line.item.id,
                variation_id=line.item.variation_id,
                seller_sku=line.item.seller_sku or line.item.seller_custom_field or None,
                quantity=line.quantity,
                unit_price=line.unit_price,
                currency_id=line.currency_id or wire.currency_id,
                origin_node=_node(line.stock.node_id if line.stock is not None else None),
            ) for line in wire.order_items]
        return Order(
            id=wire.id,
            account=account,
            status=wire.status,
            last_updated=last_updated,
            lines=lines,
            pack_id=wire.pack_id,
            date_created=wire.date_created,
            total_amount=wire.total_amount,
            currency_id=wire.currency_id,
            buyer_id=wire.buyer.id if wire.buyer is not None else None,
            shipping_id=wire.shipping.id if wire.shipping is not None else None,
        )
    except (TypeError, ValueError) as exc:
        raise MlPayloadError(f"order {wire.id}: {exc}") from exc


def parse_order(data: Any, account: str) -> Order:
    """``GET /orders/{id}`` JSON (or one ``/orders/search`` result) -> Order of ``account``."""
    return order_to_domain(structure(data, MlOrder, "order"), account)


def notification_to_domain(wire: MlNotification) -> Notification:
    return Notification(
        topic=wire.topic,
        resource=wire.resource,
        user_id=wire.user_id,
        application_id=wire.application_id,
        attempts=wire.attempts,
        sent=wire.sent,
        received=wire.received or wire.recieved,
        ml_id=wire.ml_id or wire.id,
    )


def parse_notification(data: Any) -> Notification:
    """A notification body as ML posts it (``user_id`` may be a string, ``_id`` absent)."""
    return notification_to_domain(structure(data, MlNotification, "notification"))


def token_to_domain(wire: MlToken, now: datetime) -> TokenSet:
    return TokenSet(access_token=wire.access_token, refresh_token=wire.refresh_token,
                    expires_at=now + timedelta(seconds=wire.expires_in),
                    user_id=wire.user_id, scope=wire.scope)


def parse_token(data: Any, now: datetime) -> TokenSet:
    """``POST /oauth/token`` answer -> TokenSet expiring ``expires_in`` seconds after ``now``."""
    return token_to_domain(structure(data, MlToken, "oauth token"), now)
