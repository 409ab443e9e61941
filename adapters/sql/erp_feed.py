"""The ERP event feed in the database: events with a cursor that follows commit order."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.serialization import feed_event_from_json, feed_event_to_json
from adapters.sql.base import Repo, delete_batch, insert_for
from adapters.sql.rows.events import ErpEventRow, OutboxSequenceRow
from connector_core.domain.feed import FeedEvent

FEED_SEQUENCE = "erp_events"


class SqlErpFeed(Repo):
    """:class:`~connector_core.ports.erp_feed.ErpFeedRepository`."""

    def __init__(self, session_of: Callable[[], Session], now: Callable[[], datetime]) -> None:
        super().__init__(session_of)
        self._now = now

    def append(self, event: FeedEvent) -> None:
        """The cursor comes from a counter row updated in this transaction: the row lock
        makes appending transactions take cursors in the order they commit. The ``order_id``
        column holds the event's subject: the order, the shipment or the question."""
        cursor = self._next_cursor()
        subject, document = feed_event_to_json(event)
        self.session.execute(insert_for(self.session, ErpEventRow).values(
            cursor=cursor, type=str(event.type), order_id=subject, account=event.account,
            order=document, created_at=self._now()))

    def _next_cursor(self) -> int:
        bump = (update(OutboxSequenceRow).where(OutboxSequenceRow.name == FEED_SEQUENCE)
                .values(value=OutboxSequenceRow.value + 1).returning(OutboxSequenceRow.value)
                .execution_options(synchronize_session=False))
        value = self.session.execute(bump).scalar_one_or_none()
        if value is None:  # no counter row yet (the migration seeds it)
            self.session.execute(insert_for(self.session, OutboxSequenceRow)
                                 .values(name=FEED_SEQUENCE, value=0)
                                 .on_conflict_do_nothing(index_elements=[OutboxSequenceRow.name]))
            value = self.session.execute(bump).scalar_one()
        return int(value)

    def read(self, after: int, limit: int) -> list[FeedEvent]:
        stmt = (select(ErpEventRow).where(ErpEventRow.cursor > after)
                .order_by(ErpEventRow.cursor).limit(limit))
        return [feed_event_from_json(r.type, r.order, r.cursor) for r in self._all(stmt)]

    def purge(self, created_before: datetime, limit: int) -> int:
        """Retention: oldest first, through ``ix_erp_events_created_at``."""
        return delete_batch(self.session, ErpEventRow, key=ErpEventRow.cursor,
                            where=[ErpEventRow.created_at < created_before],
                            order_by=[ErpEventRow.created_at, ErpEventRow.cursor], limit=limit)
