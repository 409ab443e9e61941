"""In-memory shipments and questions repositories (see :mod:`tests.fakes`)."""

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from connector_core.domain.questions import QuestionRecord
from connector_core.domain.shipments import ShipmentRecord

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
