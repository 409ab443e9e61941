"""The JSON of the feed's ``order.shipping`` and ``question.*`` events (CONTRACT §5).

Every event has the contract's keys (``id``, ``type``, ``order_id``, ``account``,
``order``); ``order_id`` and ``order`` name an order event's subject and are null in these,
which carry theirs in ``shipment`` (with its orders in ``order_ids``) or ``question``. So an
ERP module that picks its events by ``order_id`` sees exactly the order events it always did."""

from datetime import datetime
from typing import Any

from connector_core.domain.feed import QuestionEvent, ShippingEvent
from connector_core.domain.shipments import Address


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {"street_name": address.street_name, "street_number": address.street_number,
            "address_line": address.address_line, "comment": address.comment,
            "zip_code": address.zip_code, "city": address.city, "state": address.state,
            "country": address.country, "neighborhood": address.neighborhood}


def shipping_event_json(event: ShippingEvent) -> dict[str, Any]:
    shipment = event.shipment
    receiver = shipment.receiver
    return {
        "id": event.id, "type": event.type.value, "account": event.account,
        "order_id": None, "order": None,
        "order_ids": list(event.order_ids or ([shipment.order_id] if shipment.order_id else [])),
        "pack_id": event.pack_id,
        "shipment": {
            "id": shipment.id, "status": shipment.status, "substatus": shipment.substatus,
            "logistic_type": shipment.logistic_type.value, "ml_logistic_type": shipment.logistic,
            "mode": shipment.mode, "tracking_number": shipment.tracking_number,
            "tracking_method": shipment.tracking_method,
            "date_created": _time(shipment.date_created),
            "last_updated": _time(shipment.last_updated),
            "receiver": None if receiver is None else {
                "name": receiver.name, "phone": receiver.phone,
                "address": _address(receiver.address)},
        },
    }


def question_event_json(event: QuestionEvent) -> dict[str, Any]:
    question = event.question
    answer = None
    if question.answer_text is not None or question.answer_date is not None:
        answer = {"text": question.answer_text, "date_created": _time(question.answer_date)}
    return {
        "id": event.id, "type": event.type.value, "account": event.account,
        "order_id": None, "order": None, "question_id": question.id,
        "answered_by": event.answered_by,
        "question": {
            "id": question.id, "item_id": question.item_id,
            "sku": event.skus[0] if len(event.skus) == 1 else None,
            "skus": list(event.skus), "status": question.status, "text": question.text,
            "date_created": _time(question.date_created), "from_id": question.from_id,
            "answer": answer,
        },
    }
