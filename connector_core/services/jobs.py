"""The job runtime: move committed jobs to the task queue, run them once each, retry them,
and find what a crash or an emptied queue lost.

The job ledger (:class:`~connector_core.ports.jobs.JobLedger`) is the source of truth, the
task queue only carries jobs to runners:

- :meth:`JobRuntime.dispatch` takes the jobs committed but never queued, in batches, and
  queues them (every process may call it; concurrent callers take disjoint jobs).
- :meth:`JobRuntime.run` claims a job's row before running its handler, so a job delivered
  twice runs once; a failed run puts the row back to waiting for its retry; a successful
  one deletes it. While the handler runs, a heartbeat renews the claim (and the job's lock)
  every quarter of ``lease_seconds``: a claim not renewed for ``lease_seconds`` belongs to a
  dead runner, and :meth:`JobRuntime.recover_dead_runners` (every relay, every few seconds)
  queues its job again. So a runner's death delays its job by about ``lease_seconds`` plus
  half of it, whatever the job timeout is.
- :meth:`JobRuntime.drain` runs every waiting job here and now, held back or not, until
  none is left that this call has not tried (``worker --burst``).
- :meth:`JobRuntime.sweep` re-queues jobs whose runner died, jobs never queued (the queue
  was down), and jobs the queue forgot (Redis restarted empty). Dead letters stay out.

The threads that call these (the relay, the scheduler) are the composition root's
(``config.runtime``).
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

from connector_core.domain.commands import Command
from connector_core.domain.jobs import StoredJob, is_dead_letter
from connector_core.domain.lanes import LANES, in_lane
from connector_core.ports.clock import Clock
from connector_core.ports.jobs import JobLedgerSession
from connector_core.ports.locks import Locks
from connector_core.ports.metrics import JobMetrics
from connector_core.ports.task_queue import TaskQueue
from connector_core.services.job_batches import Batching, BatchRun, Drained, Leases, heartbeat

log = logging.getLogger(__name__)

Handler = Callable[[Command], str]  # runs one command's use case; returns its outcome
DISPATCH_BATCH = 200
SWEEP_BATCH = 500  # lost jobs re-queued per sweep, oldest first
TRANSIENT_RUNS = 3  # runs of a command that the database picked as a deadlock victim


class JobRuntime:
    """Claims, runs, retries and re-queues the jobs of the job ledger.

    ``handlers`` maps each command type to its use case (:mod:`.handlers`).
    ``is_transient(exc)`` says whether a failure is the database's deadlock or serialisation
    victim, worth running again at once (each use case is one transaction). ``batching``
    says which command types run together with other waiting jobs of theirs
    (:mod:`.job_batches`).
    """

    def __init__(self, *, ledger: JobLedgerSession, queue: TaskQueue, locks: Locks,
                 clock: Clock, handlers: Mapping[type[Command], Handler],
                 metrics: JobMetrics, job_timeout_seconds: float,
                 sweep_interval_seconds: float, lease_seconds: float = 20.0,
                 is_transient: Callable[[BaseException], bool] = lambda exc: False,
                 batching: Mapping[type[Command], Batching] | None = None) -> None:
        self.ledger = ledger
        self.queue = queue
        self.locks = locks
        self.clock = clock
        self._handlers = handlers
        self.metrics = metrics
        self.job_timeout_seconds = job_timeout_seconds
        self.lease_seconds = lease_seconds
        self._sweep_interval = timedelta(seconds=sweep_interval_seconds)
        self._is_transient = is_transient
        self._dispatch_lock = threading.Lock()
        self._batching = dict(batching or {})

    # --- to the queue -----------------------------------------------------------------------

    def dispatch(self) -> int:
        """Queue the jobs committed but never queued, now, in batches; never raises.

        Each call takes its own jobs (see ``JobLedger.take_for_dispatch``), and within a
        process one batch runs at a time, so a caller that returns knows every job committed
        before its call is queued. When the queue is down the jobs stay marked and
        :meth:`sweep` queues them once it is back. Returns how many it queued."""
        total = 0
        try:
            with self._dispatch_lock:
                while True:
                    with self.ledger as uow:
                        jobs = uow.jobs.take_for_dispatch(limit=DISPATCH_BATCH)
                        uow.commit()
                    for lane in LANES:  # urgent first
                        self.queue.submit_new([(job.command, _queue_key(job)) for job in jobs
                                               if job.lane is lane], lane=lane)
                    total += len(jobs)
                    if len(jobs) < DISPATCH_BATCH:
                        return total
        except Exception as exc:
            log.warning("could not dispatch jobs now (%s); the sweeper will", exc)
            return total

    def next_due_in(self) -> float | None:
        """Seconds until the earliest held-back job is due (None: none waits)."""
        try:
            with self.ledger as uow:
                due = uow.jobs.next_due()
        except Exception as exc:
            log.warning("could not read the held-back jobs (%s); retrying in 1 s", exc)
            return 1.0
        if due is None:
            return None
        return max(0.0, (due - self.clock.now()).total_seconds()) + 0.001

    def sweep(self) -> int:
        """Re-queue what was lost: jobs of dead runners, jobs never queued, and jobs the
        queue forgot. Re-submitting a job the queue still has is absorbed (same key), so
        this is safe at any time, from any process. Dead letters stay out."""
        sent = self.recover_dead_runners()
        with self.ledger as uow:
            due = uow.jobs.due(self._sweep_interval, limit=SWEEP_BATCH)
        return sent + self._submit_and_mark(due)

    def recover_dead_runners(self) -> int:
        """Queue again the jobs whose claim was not renewed for ``lease_seconds`` (their
        runner died: a live one renews it while it runs); how many. Cheap enough for every
        relay to call every few seconds: of two callers, one releases each job."""
        with self.ledger as uow:
            dead = uow.jobs.release_stale_claims(timedelta(seconds=self.lease_seconds))
            uow.commit()
        if dead:
            log.warning("re-queueing %d job(s) of dead runners: %s", len(dead),
                        ", ".join(job.dedup_key for job in dead[:10]))
        return self._submit_and_mark(dead, replace=True)

    def _submit_and_mark(self, jobs: list[StoredJob], *, replace: bool = False) -> int:
        sent = self.submit(jobs, replace=replace)
        if sent:
            with self.ledger as uow:
                uow.jobs.mark_dispatched(sent)
                uow.commit()
        return len(sent)

    def submit(self, jobs: list[StoredJob], *, replace: bool = False) -> list[int]:
        """Queue job rows under their stable key; the ids it queued."""
        sent = []
        for job in jobs:
            try:
                self.queue.submit(job.command, dedup_key=_queue_key(job), replace=replace,
                                  lane=job.lane)
            except ConnectionError as exc:
                log.warning("could not queue %s (%s); the sweeper will", job.dedup_key, exc)
                break
            sent.append(job.id)
        return sent

    # --- running --------------------------------------------------------------------------

    def drain(self) -> tuple[int, int]:
        """Run every waiting job in this process until none is left that this call has not
        tried: jobs never queued, jobs held back by the push window (a drain is "do it
        now"), and the jobs those create. Jobs another runner holds are not waited for, dead
        letters are left to the operator, and a job that fails here waits for its retry as
        usual (it is not tried twice in one drain). Returns (jobs run, jobs failed)."""
        drained = Drained()
        while True:
            with self.ledger as uow:
                waiting = uow.jobs.waiting(limit=len(drained.tried) + DISPATCH_BATCH)
            batch = sorted((job for job in waiting
                            if job.id not in drained.tried
                            and not is_dead_letter(job.attempts)),
                           key=lambda job: (LANES.index(job.lane), job.id))  # urgent first
            if not batch:
                return len(drained.tried) - len(drained.failed), len(drained.failed)
            for job in batch:
                if job.id in drained.tried:  # run as another job's mate meanwhile
                    continue
                drained.tried.add(job.id)
                try:
                    log.info("%s", self._run(job.command, drained))
                except Exception as exc:
                    drained.failed.add(job.id)
                    log.warning("%s failed (%s); it waits for its retry", job.dedup_key, exc)

    def run(self, command: Command) -> str:
        """Claim the command's job, run it, and complete (or release) it.

        A command whose job another runner already claimed (or completed) is skipped, so a
        job delivered twice runs once. Runs of the same dedup key are serialised by a lock:
        two pushes of one item never interleave their read and their PUT. The handler runs
        in the job's lane (:func:`~connector_core.domain.lanes.in_lane`): the ML rate limiter
        lets an urgent job's calls go first. A command type with a batching runs with other
        waiting jobs of its group (:mod:`.job_batches`)."""
        return self._run(command, None)

    def _run(self, command: Command, drained: Drained | None) -> str:
        """:meth:`run`; ``drained``: what a drain has tried (the mates join it)."""
        with self.ledger as uow:
            stored = uow.jobs.claim(dedup_key=command.dedup_key)
            uow.commit()
        kind = type(command).__name__
        if stored is None:
            self.metrics.job_finished(kind, "skipped", None)
            return f"{command.dedup_key}: nothing to do (already claimed or done)"
        batching = self._batching.get(type(command))
        if batching is not None and batching.size > 1:
            said = BatchRun(self, stored, batching, drained).run()
            self.dispatch()
            return said
        started = time.perf_counter()
        leases = Leases()
        try:
            with self.locks.hold(f"job:{command.dedup_key}", ttl=self.lease_seconds,
                                  wait=self.job_timeout_seconds) as renew_lock:
                leases.add(stored.id, renew_lock)
                with heartbeat(self.ledger, self.clock, self.lease_seconds, leases), \
                        in_lane(stored.lane):
                    outcome = self.handle_retrying_transient(self.handle, stored.command)
        except BaseException:
            self.metrics.job_finished(kind, "failed", time.perf_counter() - started)
            self.release(stored.id)
            raise
        self.metrics.job_finished(kind, "done", time.perf_counter() - started)
        self.complete(stored.id)
        self.dispatch()
        return f"{command.dedup_key}: {outcome}"

    def complete(self, job_id: int) -> None:
        with self.ledger as uow:
            uow.jobs.complete(job_id)
            uow.commit()

    def handle(self, command: Command) -> str:
        """Run one command's use case (no claiming: see :meth:`run`)."""
        handler = self._handlers.get(type(command))
        if handler is None:
            raise TypeError(f"unknown command {command!r}")
        return handler(command)

    def release(self, job_id: int) -> None:
        """Put a failed job back to waiting for its retry (the queue's own retry, or the
        sweeper), marked as just queued so the sweeper leaves it alone meanwhile."""
        with self.ledger as uow:
            uow.jobs.release(job_id, dispatched_at=self.clock.now())
            uow.commit()

    def handle_retrying_transient(self, handle: Callable[[Command], str],
                                   command: Command) -> str:
        for attempt in range(1, TRANSIENT_RUNS + 1):
            try:
                return handle(command)
            except Exception as exc:
                if attempt == TRANSIENT_RUNS or not self._is_transient(exc):
                    raise
                log.info("%s: transient database error (%s), running it again",
                         command.dedup_key, type(exc).__name__)
        raise AssertionError("unreachable")


def _queue_key(job: StoredJob) -> str:
    """A job's key on the task queue: stable for its row, new for new work (read back by
    ``domain.jobs.job_row_id``)."""
    return f"job-{job.id}"
