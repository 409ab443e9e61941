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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta

from connector_core.domain.commands import Command
from connector_core.domain.jobs import StoredJob, is_dead_letter
from connector_core.ports.clock import Clock
from connector_core.ports.jobs import JobLedgerSession
from connector_core.ports.locks import Locks
from connector_core.ports.metrics import JobMetrics
from connector_core.ports.task_queue import TaskQueue

log = logging.getLogger(__name__)

Handler = Callable[[Command], str]  # runs one command's use case; returns its outcome
DISPATCH_BATCH = 200
SWEEP_BATCH = 500  # lost jobs re-queued per sweep, oldest first
TRANSIENT_RUNS = 3  # runs of a command that the database picked as a deadlock victim


class JobRuntime:
    """Claims, runs, retries and re-queues the jobs of the job ledger.

    ``handlers`` maps each command type to its use case (:mod:`.handlers`).
    ``is_transient(exc)`` says whether a failure is the database's deadlock or serialisation
    victim, worth running again at once (each use case is one transaction).
    """

    def __init__(self, *, ledger: JobLedgerSession, queue: TaskQueue, locks: Locks,
                 clock: Clock, handlers: Mapping[type[Command], Handler],
                 metrics: JobMetrics, job_timeout_seconds: float,
                 sweep_interval_seconds: float, lease_seconds: float = 20.0,
                 is_transient: Callable[[BaseException], bool] = lambda exc: False) -> None:
        self.ledger = ledger
        self.queue = queue
        self._locks = locks
        self._clock = clock
        self._handlers = handlers
        self._metrics = metrics
        self.job_timeout_seconds = job_timeout_seconds
        self.lease_seconds = lease_seconds
        self._sweep_interval = timedelta(seconds=sweep_interval_seconds)
        self._is_transient = is_transient
        self._dispatch_lock = threading.Lock()

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
                    self.queue.submit_new([(job.command, _queue_key(job)) for job in jobs])
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
        return max(0.0, (due - self._clock.now()).total_seconds()) + 0.001

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
        sent = self._submit(jobs, replace=replace)
        if sent:
            with self.ledger as uow:
                uow.jobs.mark_dispatched(sent)
                uow.commit()
        return len(sent)

    def _submit(self, jobs: list[StoredJob], *, replace: bool = False) -> list[int]:
        """Queue job rows under their stable key; the ids it queued."""
        sent = []
        for job in jobs:
            try:
                self.queue.submit(job.command, dedup_key=_queue_key(job), replace=replace)
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
        tried: set[int] = set()
        ran = failed = 0
        while True:
            with self.ledger as uow:
                waiting = uow.jobs.waiting(limit=len(tried) + DISPATCH_BATCH)
            batch = [job for job in waiting
                     if job.id not in tried and not is_dead_letter(job.attempts)]
            if not batch:
                return ran, failed
            for job in batch:
                tried.add(job.id)
                try:
                    log.info("%s", self.run(job.command))
                    ran += 1
                except Exception as exc:
                    failed += 1
                    log.warning("%s failed (%s); it waits for its retry", job.dedup_key, exc)

    def run(self, command: Command) -> str:
        """Claim the command's job, run it, and complete (or release) it.

        A command whose job another runner already claimed (or completed) is skipped, so a
        job delivered twice runs once. Runs of the same dedup key are serialised by a lock:
        two pushes of one item never interleave their read and their PUT."""
        with self.ledger as uow:
            stored = uow.jobs.claim(dedup_key=command.dedup_key)
            uow.commit()
        kind = type(command).__name__
        if stored is None:
            self._metrics.job_finished(kind, "skipped", None)
            return f"{command.dedup_key}: nothing to do (already claimed or done)"
        started = time.perf_counter()
        try:
            with self._locks.hold(f"job:{command.dedup_key}", ttl=self.lease_seconds,
                                  wait=self.job_timeout_seconds) as renew_lock, \
                    self._heartbeat(stored.id, renew_lock):
                outcome = self._handle_retrying_transient(stored.command)
        except BaseException:
            self._metrics.job_finished(kind, "failed", time.perf_counter() - started)
            self._release(stored.id)
            raise
        self._metrics.job_finished(kind, "done", time.perf_counter() - started)
        with self.ledger as uow:
            uow.jobs.complete(stored.id)
            uow.commit()
        self.dispatch()
        return f"{command.dedup_key}: {outcome}"

    @contextmanager
    def _heartbeat(self, job_id: int, renew_lock: Callable[[], None]) -> Iterator[None]:
        """Renew the job's claim and lock every quarter of the lease while the body runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease_seconds / 4):
                try:
                    with self.ledger as uow:
                        alive = uow.jobs.renew(job_id, at=self._clock.now())
                        uow.commit()
                    renew_lock()
                except Exception as exc:  # the next beat tries again
                    log.warning("job-%d: could not renew its lease (%s)", job_id, exc)
                    continue
                if not alive:
                    log.warning("job-%d: its claim was released meanwhile (taken for a dead "
                                "runner's); it may run twice, which is harmless", job_id)

        thread = threading.Thread(target=beat, daemon=True, name=f"heartbeat-{job_id}")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def handle(self, command: Command) -> str:
        """Run one command's use case (no claiming: see :meth:`run`)."""
        handler = self._handlers.get(type(command))
        if handler is None:
            raise TypeError(f"unknown command {command!r}")
        return handler(command)

    def _release(self, job_id: int) -> None:
        """Put a failed job back to waiting for its retry (the queue's own retry, or the
        sweeper), marked as just queued so the sweeper leaves it alone meanwhile."""
        with self.ledger as uow:
            uow.jobs.release(job_id, dispatched_at=self._clock.now())
            uow.commit()

    def _handle_retrying_transient(self, command: Command) -> str:
        for attempt in range(1, TRANSIENT_RUNS + 1):
            try:
                return self.handle(command)
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
