"""The job ledger in the database (:class:`~connector_core.ports.jobs.JobLedger`)."""

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select, true, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.serialization import command_from_json, command_to_json
from adapters.sql.base import Repo, chunks, insert_for
from adapters.sql.rows.jobs import JobRow
from connector_core.domain.commands import Command
from connector_core.domain.jobs import StoredJob
from connector_core.domain.lanes import Lane, default_lane

log = logging.getLogger(__name__)


# Jobs neither queued nor running: what the relays take (ready, or held back by the window)
_UNDISPATCHED = (JobRow.dispatched_at.is_(None), JobRow.claimed_at.is_(None))
_JOB_COLUMNS = (JobRow.id, JobRow.dedup_key, JobRow.command, JobRow.created_at,
                JobRow.dispatched_at, JobRow.claimed_at, JobRow.attempts, JobRow.lane)


def attempts_left(max_attempts: int | None) -> ColumnElement[bool]:
    """A job row that is not a dead letter (:func:`~connector_core.domain.jobs.is_dead_letter`
    in SQL; ``None``: no limit)."""
    return JobRow.attempts < max_attempts if max_attempts is not None else true()


def _job(row: Any) -> StoredJob:
    """A ``JobRow``, or a row of :data:`_JOB_COLUMNS`."""
    return StoredJob(id=row.id, dedup_key=row.dedup_key, command=command_from_json(row.command),
                     created_at=row.created_at, dispatched_at=row.dispatched_at,
                     claimed_at=row.claimed_at, attempts=row.attempts, lane=Lane(row.lane))


class SqlJobLedger(Repo):
    """:class:`~connector_core.ports.jobs.JobLedger` on SQL (the ``jobs`` table)."""

    def __init__(self, session_of: Callable[[], Session], now: Callable[[], datetime], *,
                 max_attempts: int | None = None) -> None:
        super().__init__(session_of)
        self._now = now
        self._max_attempts = max_attempts

    def add(self, command: Command, *, not_before: datetime | None = None,
            lane: Lane | None = None) -> bool:
        lane = lane or default_lane(command)
        stmt = insert_for(self.session, JobRow).values(
            dedup_key=command.dedup_key, kind=type(command).__name__,
            command=command_to_json(command), created_at=self._now(), attempts=0,
            not_before=not_before, lane=lane.value)
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[JobRow.dedup_key], index_where=JobRow.claimed_at.is_(None),
        ).returning(JobRow.id)
        if self.session.execute(stmt).first() is not None:
            return True
        if self._max_attempts is not None and self._replace_dead_letter(command):
            # None: a concurrent add took the key first; this one joins it
            return self.session.execute(stmt).first() is not None
        if lane is Lane.URGENT:
            self._promote(command.dedup_key)
        elif not_before is None:  # an urgent twin: the waiting job is due now
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

    def _promote(self, key: str) -> None:
        """An urgent twin joins the waiting bulk job of ``key``: the job becomes urgent and
        due now, and goes back to the relays (for the urgent queue) if it was queued."""
        waiting = (select(JobRow.id)
                   .where(JobRow.dedup_key == key, JobRow.claimed_at.is_(None))
                   .scalar_subquery())
        self.session.execute(
            update(JobRow)
            .where(JobRow.id == waiting,
                   (JobRow.lane != Lane.URGENT.value) | JobRow.not_before.is_not(None))
            .values(lane=Lane.URGENT.value, not_before=None, dispatched_at=None)
            .execution_options(synchronize_session=False))

    def _replace_dead_letter(self, command: Command) -> bool:
        """Delete the waiting row of ``command``'s key if it is a dead letter (it used up its
        attempts): new work must run, not join a job nobody will run again. Its record stays
        in the queue's failed list on Redis; the log says what was replaced."""
        dead = self.session.execute(
            delete(JobRow).where(JobRow.dedup_key == command.dedup_key,
                                 JobRow.claimed_at.is_(None),
                                 ~attempts_left(self._max_attempts))
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

    def pending(self, dedup_keys: Collection[str]) -> set[str]:
        found: set[str] = set()
        for batch in chunks(sorted(set(dedup_keys))):
            found.update(self.session.scalars(
                select(JobRow.dedup_key).distinct()
                .where(JobRow.dedup_key.in_(batch), attempts_left(self._max_attempts))))
        return found

    def batch_mates(self, of: StoredJob, *, key_prefix: str, limit: int,
                    due_by: datetime | None) -> list[StoredJob]:
        """Jobs that may run with ``of`` (see the port). Walks the jobs in ``id`` order and
        stops at ``limit``: waiting pushes are most of the table when there are many."""
        stmt = (select(*_JOB_COLUMNS)
                .where(JobRow.claimed_at.is_(None), JobRow.attempts == 0,
                       JobRow.kind == type(of.command).__name__, JobRow.lane == of.lane.value,
                       JobRow.dedup_key.startswith(key_prefix, autoescape=True),
                       JobRow.id != of.id)
                .order_by(JobRow.id).limit(limit))
        if due_by is not None:
            stmt = stmt.where(JobRow.not_before.is_(None) | (JobRow.not_before <= due_by))
        return [_job(r) for r in self.session.execute(stmt).all()]

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
                       JobRow.not_before.is_(None) | (JobRow.not_before < cutoff),
                       attempts_left(self._max_attempts))
                .order_by(JobRow.id).limit(limit))
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

    def claim_many(self, job_ids: Sequence[int],
                   at: datetime | None = None) -> list[StoredJob]:
        """One statement: a batch's mates are claimed together."""
        if not job_ids:
            return []
        stmt = (update(JobRow).where(JobRow.id.in_(list(job_ids)), JobRow.claimed_at.is_(None))
                .values(claimed_at=at or self._now(), attempts=JobRow.attempts + 1)
                .returning(*_JOB_COLUMNS).execution_options(synchronize_session=False))
        return sorted((_job(r) for r in self.session.execute(stmt).all()), key=lambda j: j.id)

    def unclaim(self, job_id: int) -> bool:
        try:
            with self.session.begin_nested():
                result = self.session.execute(
                    update(JobRow).where(JobRow.id == job_id, JobRow.claimed_at.is_not(None))
                    .values(claimed_at=None, dispatched_at=None,
                            attempts=JobRow.attempts - 1)
                    .returning(JobRow.id).execution_options(synchronize_session=False))
                return result.first() is not None
        except IntegrityError:  # a twin waits under the same key: it does the work
            self.complete(job_id)
            return False

    def complete(self, job_id: int) -> None:
        self.session.execute(delete(JobRow).where(JobRow.id == job_id)
                             .execution_options(synchronize_session=False))

    def renew(self, job_id: int, at: datetime | None = None) -> bool:
        """The heartbeat: ``claimed_at`` is when the runner last said it was alive."""
        renewed = self.session.execute(
            update(JobRow).where(JobRow.id == job_id, JobRow.claimed_at.is_not(None))
            .values(claimed_at=at or self._now()).returning(JobRow.id)
            .execution_options(synchronize_session=False)).first()
        return renewed is not None

    def release(self, job_id: int, *, dispatched_at: datetime | None = None) -> bool:
        """Put a claimed job back to waiting (its runner failed; a retry will claim it
        again). If a newer job with the same key already waits, that one recomputes from
        the latest state anyway: this row is deleted instead. True if the row waits again.

        ``dispatched_at`` marks it as already re-queued (e.g. by the queue's own retry), so
        :meth:`due` leaves it alone until it is overdue."""
        return self._release(job_id, dispatched_at, claimed_before=None)

    def _release(self, job_id: int, dispatched_at: datetime | None,
                 claimed_before: datetime | None) -> bool:
        """``claimed_before``: only a claim not renewed since (a heartbeat may just have)."""
        claimed = (JobRow.claimed_at.is_not(None) if claimed_before is None
                   else JobRow.claimed_at < claimed_before)
        try:
            with self.session.begin_nested():
                result = self.session.execute(
                    update(JobRow).where(JobRow.id == job_id, claimed)
                    .values(claimed_at=None, dispatched_at=dispatched_at)
                    .returning(JobRow.id).execution_options(synchronize_session=False))
                return result.first() is not None
        except IntegrityError:  # a twin waits under the same key
            self.complete(job_id)
            return False

    def release_stale_claims(self, older_than: timedelta,
                             now: datetime | None = None) -> list[StoredJob]:
        """Jobs whose claim was not renewed for ``older_than`` (a dead runner: a live one's
        heartbeat renews it) go back to waiting, or are dropped if a newer one with the same
        key waits (see :meth:`release`). Returns the jobs now waiting again, to re-queue."""
        cutoff = (now or self._now()) - older_than
        stale = self._all(select(JobRow.id).where(JobRow.claimed_at < cutoff)
                          .order_by(JobRow.id))
        released = [job_id for job_id in stale
                    if self._release(job_id, None, claimed_before=cutoff)]
        if not released:
            return []
        rows = self._all(select(JobRow).where(JobRow.id.in_(released)).order_by(JobRow.id))
        return [_job(r) for r in rows]
