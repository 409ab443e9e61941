"""Ports of after-sale work (shipments, labels, packs, questions), beside
:mod:`connector_core.ports`; the same conventions (errors, tokens, locking) hold."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from attrs import frozen

from connector_core.domain.accounts import Account
from connector_core.domain.errors import ConnectorError, InvalidInput
from connector_core.domain.questions import Question, QuestionRecord
from connector_core.domain.shipments import Shipment, ShipmentRecord

LABEL_FORMATS = ("pdf", "zpl2")
LABELS_PER_CALL = 50  # ML's limit on /shipment_labels


@frozen
class LabelRefusal:
    """Why ML will not print one shipment's label."""

    shipment_id: int
    status: str | None
    substatus: str | None
    cause: str
    message: str
    retry: bool = False  # it may become printable later (not yet ready to ship)


class NotAnnounced(ConnectorError):
    """A shipment or question the ERP names but the connector never announced (no event):
    the ERP cannot act on it through the connector."""


class LabelsNotPrintable(InvalidInput):
    """ML refused to print (nothing was printed); ``refusals`` names each shipment."""

    def __init__(self, refusals: Sequence[LabelRefusal], message: str = "") -> None:
        self.refusals = tuple(refusals)
        super().__init__(message or "; ".join(
            f"shipment {r.shipment_id}: {r.message}" for r in self.refusals))


class AfterSaleGateway(Protocol):
    """ML's shipments, packs, labels and questions. Errors as in ``MarketplaceGateway``."""

    def get_shipment(self, account: Account, shipment_id: int) -> Shipment:
        """``GET /shipments/{id}`` with ``x-format-new: true``."""
        ...

    def status_history(self, account: Account, shipment_id: int) -> dict[str, datetime]:
        """When the shipment reached each status (``GET /shipments/{id}`` in ML's legacy
        shape, ``status_history.date_<status>``); statuses without a date are left out."""
        ...

    def pack_order_ids(self, account: Account, pack_id: int) -> list[int]:
        """The ids of the orders of a cart (``GET /packs/{id}``)."""
        ...

    def shipment_labels(self, account: Account, shipment_ids: Sequence[int],
                        label_format: str) -> bytes:
        """One ``/shipment_labels`` call (at most 50 ids): the PDF, or ML's ZIP around the
        ZPL. :class:`LabelsNotPrintable` when ML refuses any of them."""
        ...

    def get_question(self, account: Account, question_id: int) -> Question: ...

    def answer_question(self, account: Account, question_id: int, text: str) -> Question:
        """``POST /answers``; ``MarketplaceRejected`` with ML's message when refused."""
        ...

    def unanswered_questions(self, account: Account) -> Iterator[Question]:
        """Every question of the seller ML shows as ``UNANSWERED`` (reconciliation)."""
        ...


class ShipmentRepository(Protocol):
    def get(self, shipment_id: int) -> ShipmentRecord | None:
        """The stored record, locked until the unit of work ends (as ``OrderRepository``)."""
        ...

    def save(self, record: ShipmentRecord) -> None: ...

    def accounts_of(self, shipment_ids: Sequence[int]) -> dict[int, str]:
        """The account of each shipment the connector has read (no lock; unknown ids are
        left out)."""
        ...

    def open_ids(self, account: str, seen_since: datetime, limit: int) -> list[int]:
        """Shipments of the account not in a final status, stored or changed since
        ``seen_since`` (reconciliation re-reads them)."""
        ...


class QuestionRepository(Protocol):
    def get(self, question_id: int) -> QuestionRecord | None:
        """The stored record, locked until the unit of work ends."""
        ...

    def save(self, record: QuestionRecord) -> None: ...

    def open_ids(self, account: str, limit: int) -> list[int]:
        """Questions of the account last seen ``UNANSWERED`` or ``UNDER_REVIEW``."""
        ...
