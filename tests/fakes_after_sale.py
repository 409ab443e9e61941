"""In-memory shipments and questions repositories (see :mod:`tests.fakes`)."""

import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from attrs import evolve
from pypdf import PdfWriter

from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceNotFound, MarketplaceRejected
from connector_core.domain.questions import Question, QuestionRecord
from connector_core.domain.shipments import Shipment, ShipmentRecord
from connector_core.ports.after_sale import LABELS_PER_CALL, LabelRefusal, LabelsNotPrintable

if TYPE_CHECKING:
    from tests.fakes import FakeUnitOfWork, Store


class _Repo:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    @property
    def s(self) -> "Store":
        assert self._uow.work is not None, "repository used outside `with uow:`"
        return self._uow.work


class FakeShipments(_Repo):
    def get(self, shipment_id: int) -> ShipmentRecord | None:
        return self.s.shipments.get(shipment_id)

    def save(self, record: ShipmentRecord) -> None:
        self.s.shipments[record.shipment_id] = record
        self.s.shipment_times[record.shipment_id] = self._uow.now()

    def accounts_of(self, shipment_ids: Sequence[int]) -> dict[int, str]:
        return {i: self.s.shipments[i].account for i in shipment_ids if i in self.s.shipments}

    def open_ids(self, account: str, seen_since: datetime, limit: int) -> list[int]:
        return [i for i, r in sorted(self.s.shipments.items())
                if r.account == account and not (r.shipment and r.shipment.final)
                and self.s.shipment_times[i] >= seen_since][:limit]


class FakeQuestions(_Repo):
    def get(self, question_id: int) -> QuestionRecord | None:
        return self.s.questions.get(question_id)

    def save(self, record: QuestionRecord) -> None:
        self.s.questions[record.question_id] = record

    def open_ids(self, account: str, limit: int) -> list[int]:
        return [i for i, r in sorted(self.s.questions.items())
                if r.account == account and r.question is not None
                and r.question.status in ("UNANSWERED", "UNDER_REVIEW")][:limit]


class FakeAfterSale:
    """A stateful stand-in for ML's shipments, labels and questions (the rules the sandbox
    keeps: labels only ``ready_to_ship``, 50 a call; answers only to ``UNANSWERED``)."""

    def __init__(self, shipments: Sequence[Shipment] = (),
                 questions: Sequence[Question] = ()) -> None:
        self.shipments = {s.id: s for s in shipments}
        self.questions = {q.id: q for q in questions}
        self.label_calls: list[list[int]] = []
        self.histories: dict[int, dict[str, datetime]] = {}

    def get_shipment(self, account: Account, shipment_id: int) -> Shipment:
        if shipment_id not in self.shipments:
            raise MarketplaceNotFound(f"shipment {shipment_id}")
        return self.shipments[shipment_id]

    def status_history(self, account: Account, shipment_id: int) -> dict[str, datetime]:
        return dict(self.histories.get(shipment_id, {}))

    def pack_order_ids(self, account: Account, pack_id: int) -> list[int]:
        return sorted({s.order_id for s in self.shipments.values() if s.order_id})

    def shipment_labels(self, account: Account, shipment_ids: Sequence[int],
                        label_format: str) -> bytes:
        assert 0 < len(shipment_ids) <= LABELS_PER_CALL
        self.label_calls.append(list(shipment_ids))
        refusals = [LabelRefusal(i, s.status if s else None, None, "NOT_PRINTABLE_STATUS",
                                 f"Shipment {i} status is {s.status if s else 'unknown'}")
                    for i in shipment_ids
                    for s in [self.shipments.get(i)] if s is None or s.status != "ready_to_ship"]
        if refusals:
            raise LabelsNotPrintable(refusals)
        if label_format == "zpl2":
            return zpl_zip(shipment_ids)
        return pdf_pages(len(shipment_ids))

    def get_question(self, account: Account, question_id: int) -> Question:
        if question_id not in self.questions:
            raise MarketplaceNotFound(f"question {question_id}")
        return self.questions[question_id]

    def answer_question(self, account: Account, question_id: int, text: str) -> Question:
        question = self.get_question(account, question_id)
        if question.status != "UNANSWERED":
            raise MarketplaceRejected(f"Question {question_id} is already answered"
                                      if question.status == "ANSWERED" else
                                      f"Question {question_id} cannot be answered",
                                      status=400, error="bad_request")
        answered = evolve(question, status="ANSWERED", answer_text=text,
                          answer_date=question.date_created)
        self.questions[question_id] = answered
        return answered

    def unanswered_questions(self, account: Account) -> Iterator[Question]:
        return iter([q for q in self.questions.values() if q.status == "UNANSWERED"])


def pdf_pages(count: int) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(288, 432)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zpl_zip(shipment_ids: Sequence[int]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("Etiqueta de envio.txt", "".join(
            f"^XA^FO50,50^FD{i}^FS^XZ\n" for i in shipment_ids))
    return out.getvalue()
