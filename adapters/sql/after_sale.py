"""SQL repositories of shipments and buyers' questions (:mod:`connector_core.ports.after_sale`).

Each id's row is locked for the rest of the unit of work by ``get`` (``SELECT ... FOR
UPDATE``, inserting a placeholder row first when there is none), as the orders are, so two
workers never add a shipment's or a question's events twice.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.serialization import store_converter
from adapters.sql.base import Repo, chunks, insert_for
from adapters.sql.rows.after_sale import QuestionRow, ShipmentRow
from connector_core.domain.questions import QuestionRecord
from connector_core.domain.shipments import ShipmentRecord

R = TypeVar("R", ShipmentRow, QuestionRow)
OPEN_QUESTION_STATUSES = ("UNANSWERED", "UNDER_REVIEW")


class _Locked(Repo):
    def __init__(self, session_of: Callable[[], Session], now: Callable[[], datetime]) -> None:
        super().__init__(session_of)
        self._now = now

    def _lock(self, row_type: type[R], key: Any, account_of_placeholder: str) -> R:
        column: Any = (ShipmentRow.shipment_id if row_type is ShipmentRow
                       else QuestionRow.question_id)
        stmt = select(row_type).where(column == key).with_for_update()
        rows = self._all(stmt)
        if not rows:
            values: dict[str, Any] = {column.key: key, "account": account_of_placeholder,
                                      "record": None, "updated_at": self._now()}
            if row_type is ShipmentRow:
                values["final"] = False
            self.session.execute(insert_for(self.session, row_type).values(**values)
                                 .on_conflict_do_nothing(index_elements=[column.key]))
            rows = self._all(stmt)
        return rows[0]

    def _upsert(self, row_type: type[R], values: dict[str, Any], key: str) -> None:
        stmt = insert_for(self.session, row_type).values(**values)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[key], set_={k: getattr(stmt.excluded, k) for k in values
                                        if k != key}))


class SqlShipments(_Locked):
    def get(self, shipment_id: int) -> ShipmentRecord | None:
        row = self._lock(ShipmentRow, shipment_id, "")
        return None if row.record is None else store_converter.structure(row.record,
                                                                          ShipmentRecord)

    def save(self, record: ShipmentRecord) -> None:
        shipment = record.shipment
        self._upsert(ShipmentRow, {
            "shipment_id": record.shipment_id, "account": record.account,
            "status": shipment.status if shipment is not None else None,
            "final": shipment is not None and shipment.final,
            "record": store_converter.unstructure(record), "updated_at": self._now()},
            "shipment_id")

    def accounts_of(self, shipment_ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for batch in chunks(dict.fromkeys(shipment_ids)):
            stmt = (select(ShipmentRow.shipment_id, ShipmentRow.account)
                    .where(ShipmentRow.shipment_id.in_(batch), ShipmentRow.record.is_not(None)))
            found.update({int(i): a for i, a in self.session.execute(stmt)})
        return found

    def open_ids(self, account: str, seen_since: datetime, limit: int) -> list[int]:
        stmt = (select(ShipmentRow.shipment_id)
                .where(ShipmentRow.account == account, ShipmentRow.final.is_(False),
                       ShipmentRow.updated_at >= seen_since, ShipmentRow.record.is_not(None))
                .order_by(ShipmentRow.updated_at).limit(limit))
        return [int(i) for i in self.session.scalars(stmt)]


class SqlQuestions(_Locked):
    def get(self, question_id: int) -> QuestionRecord | None:
        row = self._lock(QuestionRow, question_id, "")
        return None if row.record is None else store_converter.structure(row.record,
                                                                          QuestionRecord)

    def save(self, record: QuestionRecord) -> None:
        question = record.question
        self._upsert(QuestionRow, {
            "question_id": record.question_id, "account": record.account,
            "status": question.status if question is not None else None,
            "record": store_converter.unstructure(record), "updated_at": self._now()},
            "question_id")

    def open_ids(self, account: str, limit: int) -> list[int]:
        stmt = (select(QuestionRow.question_id)
                .where(QuestionRow.account == account,
                       QuestionRow.status.in_(OPEN_QUESTION_STATUSES))
                .order_by(QuestionRow.question_id).limit(limit))
        return [int(i) for i in self.session.scalars(stmt)]
