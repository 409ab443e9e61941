"""The job ledger: commands waiting to run, in the same database as the state they follow.

Use cases see only :class:`JobOutbox` (``add``); the job runtime
(:mod:`connector_core.services.jobs`) sees the whole :class:`JobLedger`.
"""

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol, Self

from connector_core.domain.commands import Command
from connector_core.domain.jobs import StoredJob
from connector_core.domain.lanes import Lane


class JobOutbox(Protocol):
    """Commands to run once the unit of work commits (the transactional outbox for jobs).

    ``add`` stores the command in the same transaction as the state change that caused it.
    While a command with the same dedup key is waiting (not yet claimed by a runner), a new
    one joins it and ``add`` returns False: this is how pushes to one item coalesce.

    ``not_before`` holds a job back until then (a coalescing window: changes arriving in it
    join the waiting job). A job added without it is due now, and a waiting job it joins
    becomes due now too; joining never pushes a waiting job later.

    A job that used up its attempts (a dead letter) is not waiting: a new command with its
    key replaces it and ``add`` returns True.

    ``lane`` (default: :func:`~connector_core.domain.lanes.default_lane`) says which task
    queue runs it. An urgent command joining a waiting bulk job makes that job urgent and
    due now, and hands it to the relay again (its entry in the bulk queue, if any, later
    finds the row claimed or gone and does nothing).
    """

    def add(self, command: Command, *, not_before: datetime | None = None,
            lane: Lane | None = None) -> bool: ...


class JobLedger(JobOutbox, Protocol):
    """The runtime's side of the ledger.

    Life of a job: ``add`` (in the use case's transaction) -> a relay takes it
    (:meth:`take_for_dispatch`) and hands it to the task queue -> the runner :meth:`claim`\\ s
    it when it starts (from then on a new ``add`` with the same key is new work) ->
    :meth:`complete` deletes it, or :meth:`release` puts it back to waiting for a retry.
    :meth:`due` finds what a crash or an emptied queue lost; :meth:`release_stale_claims`
    gives back the jobs of dead runners.
    """

    def take_for_dispatch(self, limit: int = 100,
                          now: datetime | None = None) -> list[StoredJob]:
        """Mark up to ``limit`` jobs never dispatched (and due) as dispatched, and return
        them for the caller to queue. Concurrent callers take disjoint jobs."""
        ...

    def next_due(self) -> datetime | None:
        """When the earliest job held back (``not_before``) and not yet dispatched is due."""
        ...

    def due(self, older_than: timedelta, limit: int = 100,
            now: datetime | None = None) -> list[StoredJob]:
        """Unclaimed jobs created more than ``older_than`` ago and not dispatched since,
        oldest first; never the dead letters."""
        ...

    def mark_dispatched(self, ids: Sequence[int], at: datetime | None = None) -> None: ...

    def claim(self, *, job_id: int | None = None, dedup_key: str | None = None,
              at: datetime | None = None) -> StoredJob | None:
        """Take the unclaimed job (by id or dedup key) and count an attempt; None if another
        runner has it (or it is done)."""
        ...

    def claim_many(self, job_ids: Sequence[int],
                   at: datetime | None = None) -> list[StoredJob]:
        """:meth:`claim` each of ``job_ids`` still unclaimed, in one go; those taken."""
        ...

    def complete(self, job_id: int) -> None: ...

    def unclaim(self, job_id: int) -> bool:
        """Give back a claimed job that did not run: waiting again as if never claimed (the
        attempt is not counted, the relays queue it again), or dropped if a newer twin waits
        under its key. True if the row waits again."""
        ...

    def renew(self, job_id: int, at: datetime | None = None) -> bool:
        """The runner of a claimed job is alive (its heartbeat): the claim counts from
        ``at``. False if the job is no longer claimed (done, or released as stale)."""
        ...

    def release(self, job_id: int, *, dispatched_at: datetime | None = None) -> bool:
        """Put a claimed job back to waiting (a newer twin waiting under its key replaces
        it: the row is deleted). ``dispatched_at`` marks it as already re-queued. True if
        the row waits again."""
        ...

    def release_stale_claims(self, older_than: timedelta,
                             now: datetime | None = None) -> list[StoredJob]:
        """Jobs whose claim was not renewed for ``older_than`` (a dead runner) go back to
        waiting (see :meth:`release`); returns those now waiting again."""
        ...

    def waiting(self, limit: int = 1000) -> list[StoredJob]:
        """Unclaimed jobs, oldest first."""
        ...

    def pending(self, dedup_keys: Collection[str]) -> set[str]:
        """Which of ``dedup_keys`` still have a job waiting or running (a dead letter is
        not pending: it will not run again unless retried)."""
        ...

    def batch_mates(self, of: StoredJob, *, key_prefix: str, limit: int,
                    due_by: datetime | None) -> list[StoredJob]:
        """Up to ``limit`` unclaimed jobs that may run together with ``of``: the same
        command type and lane, a dedup key starting with ``key_prefix``, never run yet (no
        attempt: a job that failed once runs alone), due by ``due_by`` (None: held-back ones
        too), oldest first, ``of`` itself excluded. They are not claimed: the caller claims
        each (:meth:`claim` by id) and may lose some to other runners."""
        ...


class JobLedgerSession(Protocol):
    """A transaction over the job ledger (the unit of work, seen by the job runtime)."""

    @property
    def jobs(self) -> JobLedger: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...
