"""Mirrors of ML's shipment, pack and question JSON (ml_api.md §4, §7) and their translation
to the domain; only the fields the connector uses."""

from datetime import datetime
from typing import Any

from attrs import field, frozen

from adapters.ml_api.converter import MlPayloadError, parse_datetime, structure
from connector_core.domain.questions import Question
from connector_core.domain.shipments import Address, Receiver, Shipment


@frozen
class MlNamed:
    id: str | None = None
    name: str | None = None


@frozen
class MlAddress:
    street_name: str | None = None
    street_number: str | None = None
    address_line: str | None = None
    comment: str | None = None
    zip_code: str | None = None
    city: MlNamed | None = None
    state: MlNamed | None = None
    country: MlNamed | None = None
    neighborhood: MlNamed | None = None


@frozen
class MlDestination:
    receiver_name: str | None = None
    receiver_phone: str | None = None
    shipping_address: MlAddress | None = None


@frozen
class MlLogistic:
    type: str | None = None
    mode: str | None = None


@frozen
class MlShipment:
    id: int
    status: str
    substatus: str | None = None
    last_updated: datetime | None = None
    date_created: datetime | None = None
    tracking_number: str | None = None
    tracking_method: str | None = None
    order_id: int | None = None
    logistic: MlLogistic | None = None
    destination: MlDestination | None = None


@frozen
class MlRef:
    id: int


@frozen
class MlPack:
    id: int
    orders: list[MlRef] = field(factory=list)


@frozen
class MlAnswer:
    text: str | None = None
    status: str | None = None
    date_created: datetime | None = None


@frozen
class MlQuestion:
    id: int
    item_id: str
    status: str
    text: str | None = None
    date_created: datetime | None = None
    hold: Any = False  # a JSON boolean (the converter's int rule would refuse it)
    answer: MlAnswer | None = None
    # "from" on the wire
    from_: MlRef | None = None


@frozen
class MlQuestionSearch:
    questions: list[dict[str, Any]] = field(factory=list)
    total: int = 0


def _name(named: MlNamed | None) -> str | None:
    return named.name if named is not None else None


def parse_shipment(data: Any, account: str) -> Shipment:
    """``GET /shipments/{id}`` (``x-format-new: true``) JSON -> Shipment of ``account``."""
    wire = structure(data, MlShipment, "shipment")
    moment = wire.last_updated or wire.date_created
    if moment is None:
        raise MlPayloadError(f"shipment {wire.id}: required field missing @ $.last_updated")
    receiver = None
    if wire.destination is not None:
        raw = wire.destination.shipping_address
        address = None if raw is None else Address(
            street_name=raw.street_name, street_number=raw.street_number,
            address_line=raw.address_line, comment=raw.comment, zip_code=raw.zip_code,
            city=_name(raw.city), state=_name(raw.state), country=_name(raw.country),
            neighborhood=_name(raw.neighborhood))
        receiver = Receiver(name=wire.destination.receiver_name,
                            phone=wire.destination.receiver_phone, address=address)
    logistic = wire.logistic or MlLogistic()
    try:
        return Shipment(id=wire.id, account=account, status=wire.status,
                        substatus=wire.substatus, last_updated=moment,
                        date_created=wire.date_created, logistic=logistic.type,
                        mode=logistic.mode, tracking_number=wire.tracking_number,
                        tracking_method=wire.tracking_method, order_id=wire.order_id,
                        receiver=receiver)
    except (TypeError, ValueError) as exc:
        raise MlPayloadError(f"shipment {wire.id}: {exc}") from exc


def parse_status_history(data: Any) -> dict[str, datetime]:
    """``status_history`` of the legacy shipment shape: ``{"date_shipped": "...", ...}`` ->
    ``{"shipped": datetime}``, dated statuses only."""
    history = data.get("status_history") if isinstance(data, dict) else None
    if not isinstance(history, dict):
        return {}
    dated: dict[str, datetime] = {}
    for key, value in history.items():
        if isinstance(key, str) and key.startswith("date_") and value is not None:
            try:
                dated[key[len("date_"):]] = parse_datetime(value)
            except ValueError as exc:
                raise MlPayloadError(f"shipment status_history: {key}: {exc}") from exc
    return dated


def parse_pack_order_ids(data: Any) -> list[int]:
    return [ref.id for ref in structure(data, MlPack, "pack").orders]


def parse_question(data: Any, account: str) -> Question:
    """``GET /questions/{id}?api_version=4`` JSON -> Question of ``account``."""
    if isinstance(data, dict) and "from" in data:
        data = {**data, "from_": data["from"]}
    wire = structure(data, MlQuestion, "question")
    answer = wire.answer
    try:
        return Question(id=wire.id, account=account, item_id=wire.item_id,
                        status=wire.status, text=wire.text or "",
                        date_created=wire.date_created,
                        from_id=wire.from_.id if wire.from_ is not None else None,
                        hold=wire.hold is True,
                        answer_text=answer.text if answer is not None else None,
                        answer_date=answer.date_created if answer is not None else None)
    except (TypeError, ValueError) as exc:
        raise MlPayloadError(f"question {wire.id}: {exc}") from exc
