"""JSON for what the connector stores or queues itself: commands, orders, JSON documents.

One private cattrs converter (``store_converter``) owns the shapes: ``Decimal`` as a string
(no float rounding), aware datetimes as ISO 8601, tuples as lists. Commands are a
tagged union (``{"type": "PushItem", ...}``) so a queued payload names its own class.
"""

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from cattrs import Converter
from cattrs.strategies import configure_tagged_union

from connector_core.domain.commands import Command
from connector_core.domain.feed import SHIPPING, FeedEvent, QuestionEvent, ShippingEvent
from connector_core.domain.orders import ErpEvent, ErpEventType, Order


def _make_converter() -> Converter:
    conv = Converter(forbid_extra_keys=True)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, lambda v, _: Decimal(str(v)))
    conv.register_unstructure_hook(datetime, lambda d: d.isoformat())
    conv.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    configure_tagged_union(Command, conv, tag_name="type")
    return conv


store_converter = _make_converter()


def command_to_json(command: Command) -> dict[str, Any]:
    """The command as JSON-ready data, tagged with its class name."""
    data: dict[str, Any] = store_converter.unstructure(command, unstructure_as=Command)
    return data


def command_from_json(data: dict[str, Any]) -> Command:
    command: Command = store_converter.structure(data, Command)  # type: ignore[arg-type]
    return command


def order_to_json(order: Order) -> dict[str, Any]:
    data: dict[str, Any] = store_converter.unstructure(order)
    return data


def order_from_json(data: dict[str, Any]) -> Order:
    return store_converter.structure(data, Order)


def feed_event_to_json(event: FeedEvent) -> tuple[int, dict[str, Any]]:
    """``(subject id, document)`` of an ERP feed event: for an order event its order, for
    the others the event itself (its ``id`` is the cursor, stored apart)."""
    if isinstance(event, ErpEvent):
        return event.order.id, order_to_json(event.order)
    data: dict[str, Any] = store_converter.unstructure(event)
    data.pop("id", None)
    return event.subject_id, data


def feed_event_from_json(event_type: str, data: dict[str, Any], cursor: int) -> FeedEvent:
    if event_type == SHIPPING:
        return store_converter.structure({**data, "id": cursor}, ShippingEvent)
    if event_type.startswith("question."):
        return store_converter.structure({**data, "id": cursor}, QuestionEvent)
    return ErpEvent(type=ErpEventType(event_type), order=order_from_json(data), id=cursor)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    try:
        return store_converter.unstructure(value)
    except Exception:
        return str(value)


def to_json_document(value: Any) -> Any:
    """``value`` reduced to plain JSON types (Decimals and datetimes become strings)."""
    return json.loads(json.dumps(value, default=_default))
