"""Every kind of entry of the ERP's event feed (CONTRACT §5): the order events, one
``order.shipping`` per (shipment, status), and the question events."""

from collections.abc import Iterable
from enum import StrEnum

from attrs import field, frozen

from connector_core.domain.orders import ErpEvent
from connector_core.domain.questions import Question, QuestionEventType
from connector_core.domain.shipments import Shipment


class ShippingEventType(StrEnum):
    SHIPPING = "order.shipping"


SHIPPING = ShippingEventType.SHIPPING


def _ids(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@frozen
class ShippingEvent:
    """A shipment reached a status; ``order_ids`` and ``pack_id`` say what it carries."""

    shipment: Shipment
    order_ids: tuple[int, ...] = field(default=(), converter=_ids)
    pack_id: int | None = None
    id: int | None = None

    @property
    def type(self) -> ShippingEventType:
        return SHIPPING

    @property
    def account(self) -> str:
        return self.shipment.account

    @property
    def subject_id(self) -> int:
        return self.shipment.id


@frozen
class QuestionEvent:
    """``answered_by``: ``erp``, ``rule:NAME`` or ``ml`` on ``question.answered``."""

    type: QuestionEventType
    question: Question
    skus: tuple[str, ...] = field(default=(), converter=_texts)
    answered_by: str | None = None
    id: int | None = None

    @property
    def account(self) -> str:
        return self.question.account

    @property
    def subject_id(self) -> int:
        return self.question.id


FeedEvent = ErpEvent | ShippingEvent | QuestionEvent
