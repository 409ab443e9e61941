"""The ML notification inbox in the database
(:class:`~connector_core.ports.inbox.InboxRepository`)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from adapters.sql.base import Repo, delete_batch, insert_for
from adapters.sql.inbox_rules import live_job, retire_dead_entry, select_inbox
from adapters.sql.rows.jobs import InboxRow
from connector_core.domain.notifications import InboxEntry, Notification


def _entry(row: Any) -> InboxEntry:
    """An ``InboxRow``, or a row of :func:`~adapters.sql.inbox_rules.select_inbox`."""
    notification = Notification(topic=row.topic, resource=row.resource, user_id=row.user_id,
                                application_id=row.application_id, attempts=row.attempts,
                                sent=row.sent, received=row.received, ml_id=row.ml_id)
    return InboxEntry(id=row.id, notification=notification, received_at=row.received_at,
                      raw=row.raw, duplicates=row.duplicates, processed_at=row.processed_at,
                      outcome=row.outcome)


class SqlInbox(Repo):
    def __init__(self, session_of: Callable[[], Session], *,
                 max_attempts: int | None = None) -> None:
        """``max_attempts``: a job run that many times is a dead letter; a notification
        never joins an entry whose job is one (:mod:`adapters.sql.inbox_rules`)."""
        super().__init__(session_of)
        self._max_attempts = max_attempts

    def add(self, notification: Notification, raw: dict[str, Any],
            received_at: datetime) -> tuple[int, bool]:
        """Insert, or count a duplicate: on an entry with the same ML ``_id`` (processed or
        not), else (one atomic statement) on the waiting entry for the same resource, if its
        job can still run; a waiting entry whose job cannot is retired first."""
        for _attempt in (1, 2, 3):  # (a concurrent writer may retire or insert meanwhile)
            added = self._add(notification, raw, received_at)
            if added is not None:
                return added
            retire_dead_entry(self.session, notification.topic, notification.resource,
                              received_at, self._max_attempts)
        raise RuntimeError(f"could not store a notification for {notification.dedup_key}")

    def _add(self, notification: Notification, raw: dict[str, Any],
             received_at: datetime) -> tuple[int, bool] | None:
        n = notification
        if n.ml_id is not None:
            seen = self.session.execute(
                update(InboxRow)
                .where(InboxRow.id == select(func.min(InboxRow.id))
                       .where(InboxRow.ml_id == n.ml_id).scalar_subquery())
                .values(duplicates=InboxRow.duplicates + 1).returning(InboxRow.id)
                .execution_options(synchronize_session=False)).scalar_one_or_none()
            if seen is not None:
                return int(seen), False
        stmt = insert_for(self.session, InboxRow).values(
            topic=n.topic, resource=n.resource, user_id=n.user_id,
            application_id=n.application_id, attempts=n.attempts, sent=n.sent,
            received=n.received, ml_id=n.ml_id, raw=raw, received_at=received_at,
            duplicates=0, outcome="")
        stmt = stmt.on_conflict_do_update(
            index_elements=[InboxRow.topic, InboxRow.resource],
            index_where=InboxRow.processed_at.is_(None),
            set_={"duplicates": InboxRow.duplicates + 1},
            where=live_job(InboxRow.id, self._max_attempts),
        ).returning(InboxRow.id, InboxRow.duplicates)
        row = self.session.execute(stmt).first()  # None: the waiting entry's job is dead
        return None if row is None else (int(row.id), row.duplicates == 0)

    def get(self, entry_id: int) -> InboxEntry | None:
        row = self.session.execute(select_inbox().where(InboxRow.id == entry_id)).first()
        return _entry(row) if row is not None else None

    def mark_processed(self, entry_id: int, outcome: str, at: datetime) -> None:
        self.session.execute(update(InboxRow).where(InboxRow.id == entry_id)
                             .values(processed_at=at, outcome=outcome)
                             .execution_options(synchronize_session=False))

    def unprocessed(self, received_before: datetime, limit: int) -> list[InboxEntry]:
        stmt = (select_inbox()
                .where(InboxRow.processed_at.is_(None), InboxRow.received_at < received_before)
                .order_by(InboxRow.id).limit(limit))
        return [_entry(r) for r in self.session.execute(stmt)]

    def purge_processed(self, before: datetime, limit: int) -> int:
        """Retention: processed entries only, oldest first. ``received_at < before`` holds
        for any entry processed before ``before`` (it is received first); it is stated so
        the batch walks ``ix_inbox_received_at`` instead of scanning the table."""
        return delete_batch(self.session, InboxRow, key=InboxRow.id,
                            where=[InboxRow.received_at < before,
                                   InboxRow.processed_at.is_not(None),
                                   InboxRow.processed_at < before],
                            order_by=[InboxRow.received_at, InboxRow.id], limit=limit)
