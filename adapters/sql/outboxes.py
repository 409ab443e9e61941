"""The three queues in the database: the ERP event feed, the job outbox, the ML inbox."""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from attrs import frozen
from sqlalchemy import delete, func, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.serialization import (
    command_from_json,
    command_to_json,
    feed_event_from_json,
    feed_event_to_json,
)
from adapters.sql.base import Repo, chunks, delete_batch, insert_for
from adapters.sql.inbox_rules import live_job, retire_dead_entry, select_inbox
from adapters.sql.rows import ErpEventRow, InboxRow, JobRow, OutboxSequenceRow
from connector_core.domain.commands import Command
from connector_core.domain.feed import FeedEvent
from connector_core.domain.notifications import InboxEntry, Notification

OUTBOX_SEQUENCE = "erp_events"
log = logging.getLogger(__name__)


# --- ERP event outbox -------------------------------------------------------------------

class SqlOutbox(Repo):
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
        bump = (update(OutboxSequenceRow).where(OutboxSequenceRow.name == OUTBOX_SEQUENCE)
                .values(value=OutboxSequenceRow.value + 1).returning(OutboxSequenceRow.value)
                .execution_options(synchronize_session=False))
        value = self.session.execute(bump).scalar_one_or_none()
        if value is None:  # no counter row yet (the migration seeds it)
            self.session.execute(insert_for(self.session, OutboxSequenceRow)
                                 .values(name=OUTBOX_SEQUENCE, value=0)
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



# --- job outbox -------------------------------------------------------------------------

@frozen
class StoredJob:
    """A row of the job outbox, for the dispatcher."""

    id: int
    dedup_key: str
    command: Command
    created_at: datetime
    dispatched_at: datetime | None
    claimed_at: datetime | None
    attempts: int


# Jobs neither queued nor running: what the relays take (ready, or held back by the window)
_UNDISPATCHED = (JobRow.dispatched_at.is_(None), JobRow.claimed_at.is_(None))
_JOB_COLUMNS = (JobRow.id, JobRow.dedup_key, JobRow.command, JobRow.created_at,
                JobRow.dispatched_at, JobRow.claimed_at, JobRow.attempts)


def _job(row: Any) -> StoredJob:
    """A ``JobRow``, or a row of :data:`_JOB_COLUMNS`."""
    return StoredJob(id=row.id, dedup_key=row.dedup_key, command=command_from_json(row.command),
                     created_at=row.created_at, dispatched_at=row.dispatched_at,
                     claimed_at=row.claimed_at, attempts=row.attempts)


class SqlJobOutbox(Repo):
    """:class:`~connector_core.ports.JobOutbox` plus the dispatcher's side.

    Life of a job: ``add`` (in the use case's transaction) -> after commit the dispatcher
    submits it to the task queue and calls :meth:`mark_dispatched` -> the runner
    :meth:`claim`\\ s it when it starts (from then on a new ``add`` with the same key is new
    work) -> :meth:`complete` deletes it. :meth:`due` finds what a crash or an emptied queue
    lost: unclaimed jobs never dispatched, or dispatched long ago; :meth:`release_stale_claims`
    gives back jobs whose runner died.
    """

    def __init__(self, session_of: Callable[[], Session], now: Callable[[], datetime], *,
                 max_attempts: int | None = None) -> None:
        super().__init__(session_of)
        self._now = now
        self._max_attempts = max_attempts

    def add(self, command: Command, *, not_before: datetime | None = None) -> bool:
        stmt = insert_for(self.session, JobRow).values(
            dedup_key=command.dedup_key, kind=type(command).__name__,
            command=command_to_json(command), created_at=self._now(), attempts=0,
            not_before=not_before)
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[JobRow.dedup_key], index_where=JobRow.claimed_at.is_(None),
        ).returning(JobRow.id)
        if self.session.execute(stmt).first() is not None:
            return True
        if self._max_attempts is not None and self._replace_dead_letter(command):
            # None: a concurrent add took the key first; this one joins it
            return self.session.execute(stmt).first() is not None
        if not_before is None:  # an urgent twin: the waiting job is due now
            # The waiting row is found by its key through ``uq_jobs_waiting_key`` (one row at
            # most), then checked: on the conditions together, PostgreSQL without statistics
            # walked every job not yet dispatched (thousands, held back by the push window).
            waiting = (select(JobRow.id)
                       .where(JobRow.dedup_key == command.dedup_key,
                              JobRow.claimed_at.is_(None))
                       .scalar_subquery())
            self.session.execute(
                update(JobRow)
                .where(JobRow.id == waiting, JobRow.dispatched_at.is_(None),
                       JobRow.not_before.is_not(None))
                .values(not_before=None).execution_options(synchronize_session=False))
        return False

    def _replace_dead_letter(self, command: Command) -> bool:
        """Delete the waiting row of ``command``'s key if it is a dead letter (it used up its
        attempts): new work must run, not join a job nobody will run again. Its record stays
        in the queue's failed list on Redis; the log says what was replaced."""
        dead = self.session.execute(
            delete(JobRow).where(JobRow.dedup_key == command.dedup_key,
                                 JobRow.claimed_at.is_(None),
                                 JobRow.attempts >= self._max_attempts)
            .returning(JobRow.id, JobRow.attempts)
            .execution_options(synchronize_session=False)).first()
        if dead is None:
            return False
        log.warning("job-%d (%s) had failed its %d attempts; new work for it replaces it",
                    dead.id, command.dedup_key, dead.attempts)
        return True

    def next_due(self) -> datetime | None:
        """When the earliest job held back (``not_before``) and not yet dispatched is due."""
        return self.session.scalar(  # the first entry of ``ix_jobs_held``
            select(JobRow.not_before).where(*_UNDISPATCHED, JobRow.not_before.is_not(None))
            .order_by(JobRow.not_before).limit(1))

    def waiting(self, limit: int = 1000) -> list[StoredJob]:
        """Unclaimed jobs, oldest first."""
        stmt = (select(JobRow).where(JobRow.claimed_at.is_(None))
                .order_by(JobRow.id).limit(limit))
        return [_job(r) for r in self._all(stmt)]

    def take_for_dispatch(self, limit: int = 100,
                          now: datetime | None = None) -> list[StoredJob]:
        """Mark up to ``limit`` jobs never dispatched as dispatched, and return them for the
        caller to queue, in one statement.

        Concurrent dispatchers (every worker's relay, and the in-process dispatcher) take disjoint
        jobs: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one writer at a time on SQLite. A job
        marked but not queued (the queue was down) is found again by :meth:`due`."""
        at = now or self._now()
        # Two walks, each on its own index (``ix_jobs_ready``, ``ix_jobs_held``), merged in
        # ``id`` order: one walk over both kinds read every held-back job on every call. (A
        # row a walk locked beyond the final limit is left to the next round.)
        ready = (select(JobRow.id).where(*_UNDISPATCHED, JobRow.not_before.is_(None))
                 .order_by(JobRow.id).limit(limit))
        held = (select(JobRow.id)
                .where(*_UNDISPATCHED, JobRow.not_before.is_not(None), JobRow.not_before <= at)
                .order_by(JobRow.not_before, JobRow.id).limit(limit))
        if self.session.get_bind().dialect.name == "postgresql":
            ready = ready.with_for_update(skip_locked=True)
            held = held.with_for_update(skip_locked=True)
        both = union_all(select(ready.subquery().c.id),
                         select(held.subquery().c.id)).subquery()
        pick = select(both.c.id).order_by(both.c.id).limit(limit)
        # Columns, not ORM objects: this runs after every burst of notifications.
        stmt = (update(JobRow).where(JobRow.id.in_(pick.scalar_subquery()))
                .values(dispatched_at=at)
                .returning(*_JOB_COLUMNS).execution_options(synchronize_session=False))
        rows = self.session.execute(stmt).all()
        return sorted((_job(r) for r in rows), key=lambda j: j.id)

    def due(self, older_than: timedelta, limit: int = 100,
            now: datetime | None = None) -> list[StoredJob]:
        """Unclaimed jobs created more than ``older_than`` ago and not dispatched since,
        oldest first; not the dead letters (with ``max_attempts`` set), which would otherwise
        fill every batch once there are ``limit`` of them, being the oldest rows."""
        cutoff = (now or self._now()) - older_than
        stmt = (select(JobRow)
                .where(JobRow.claimed_at.is_(None), JobRow.created_at < cutoff,
                       (JobRow.dispatched_at.is_(None)) | (JobRow.dispatched_at < cutoff),
                       JobRow.not_before.is_(None) | (JobRow.not_before < cutoff))
                .order_by(JobRow.id).limit(limit))
        if self._max_attempts is not None:
            stmt = stmt.where(JobRow.attempts < self._max_attempts)
        return [_job(r) for r in self._all(stmt)]

    def mark_dispatched(self, ids: Sequence[int], at: datetime | None = None) -> None:
        for batch in chunks(ids):
            self.session.execute(update(JobRow).where(JobRow.id.in_(batch))
                                 .values(dispatched_at=at or self._now())
                                 .execution_options(synchronize_session=False))

    def claim(self, *, job_id: int | None = None, dedup_key: str | None = None,
              at: datetime | None = None) -> StoredJob | None:
        """Take the unclaimed job (by id or dedup key); None if another runner has it."""
        if (job_id is None) == (dedup_key is None):
            raise ValueError("give job_id or dedup_key")
        cond = JobRow.id == job_id if job_id is not None else JobRow.dedup_key == dedup_key
        stmt = (update(JobRow).where(cond, JobRow.claimed_at.is_(None))
                .values(claimed_at=at or self._now(), attempts=JobRow.attempts + 1)
                .returning(JobRow.id).execution_options(synchronize_session=False))
        claimed = self.session.execute(stmt).scalar_one_or_none()
        if claimed is None:
            return None
        rows = self._all(select(JobRow).where(JobRow.id == claimed))
        return _job(rows[0])

    def complete(self, job_id: int) -> None:
        self.session.execute(delete(JobRow).where(JobRow.id == job_id)
                             .execution_options(synchronize_session=False))

    def release(self, job_id: int, *, dispatched_at: datetime | None = None) -> bool:
        """Put a claimed job back to waiting (its runner failed; a retry will claim it
        again). If a newer job with the same key already waits, that one recomputes from
        the latest state anyway: this row is deleted instead. True if the row waits again.

        ``dispatched_at`` marks it as already re-queued (e.g. by the queue's own retry), so
        :meth:`due` leaves it alone until it is overdue."""
        try:
            with self.session.begin_nested():
                result = self.session.execute(
                    update(JobRow).where(JobRow.id == job_id, JobRow.claimed_at.is_not(None))
                    .values(claimed_at=None, dispatched_at=dispatched_at)
                    .returning(JobRow.id).execution_options(synchronize_session=False))
                return result.first() is not None
        except IntegrityError:  # a twin waits under the same key
            self.complete(job_id)
            return False

    def release_stale_claims(self, older_than: timedelta,
                             now: datetime | None = None) -> list[StoredJob]:
        """Jobs claimed more than ``older_than`` ago and never completed (a dead runner) go
        back to waiting, or are dropped if a newer one with the same key waits (see
        :meth:`release`). Returns the jobs now waiting again, to be re-queued."""
        cutoff = (now or self._now()) - older_than
        stale = self._all(select(JobRow.id).where(JobRow.claimed_at < cutoff)
                          .order_by(JobRow.id))
        released = [job_id for job_id in stale if self.release(job_id)]
        if not released:
            return []
        rows = self._all(select(JobRow).where(JobRow.id.in_(released)).order_by(JobRow.id))
        return [_job(r) for r in rows]


# --- notification inbox -----------------------------------------------------------------

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
