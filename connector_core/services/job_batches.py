"""Jobs that run together: many waiting pushes of one account read ML in one call.

A command type with a :class:`Batching` (the item pushes: :mod:`.push_batch`) runs with up
to ``size - 1`` other waiting jobs of its group (an account) and lane. The runner that
claims such a job (the *first*) also takes the others (its *mates*): for each, it takes the
job's lock without waiting (a mate another runner is busy with stays where it is), then
claims its row. ``prepare`` then does the shared work once for all of them (one multiget)
and hands back the handler that runs each job on its own, in turn; each mate's lock is let
go as soon as its job is done, so a sale's push of one of these items waits for that item
only.

What each job sees is what it saw when it ran alone: it runs under its own lock, its claim
and lock are renewed by one heartbeat while the batch runs, it completes or fails on its
own. A mate that fails is put back to waiting and queued again at once under its own key;
it then runs alone (a job with an attempt behind it is never a mate), with the task queue's
retries and dead letter like any job. The first job's failure is raised to its runner, as
before. Only jobs never tried (no attempt) and due become mates; a drain (``worker
--burst``) takes held-back ones too, as it runs them anyway.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from attrs import define, field, frozen

from connector_core.domain.commands import Command
from connector_core.domain.jobs import StoredJob
from connector_core.domain.lanes import Lane, in_lane
from connector_core.ports.clock import Clock
from connector_core.ports.jobs import JobLedgerSession
from connector_core.ports.locks import Renew

if TYPE_CHECKING:
    from connector_core.services.jobs import JobRuntime

log = logging.getLogger(__name__)

Handler = Callable[[Command], str]


@frozen
class Batching:
    """How jobs of one command type run together.

    ``group`` names the jobs that may share a batch (the same account); ``key_prefix`` is
    what every dedup key of that group starts with (the ledger's cheap filter; ``group``
    decides). ``prepare`` does the shared work for the batch's commands (in claim order,
    the first job's first) and returns the handler of each."""

    group: Callable[[Command], str]
    key_prefix: Callable[[Command], str]
    prepare: Callable[[Sequence[Command]], Handler]
    size: int = 20


@define
class Drained:
    """What a drain (``worker --burst``) has tried, and which of those failed."""

    tried: set[int] = field(factory=set)
    failed: set[int] = field(factory=set)


class Leases:
    """The claims a runner holds, with the renewal of each one's lock (thread-safe: the
    heartbeat reads it while the batch lets jobs go)."""

    def __init__(self) -> None:
        self._held: dict[int, Renew] = {}
        self._guard = threading.Lock()

    def add(self, job_id: int, renew_lock: Renew) -> None:
        with self._guard:
            self._held[job_id] = renew_lock

    def drop(self, job_id: int) -> None:
        with self._guard:
            self._held.pop(job_id, None)

    def holds(self, job_id: int) -> bool:
        with self._guard:
            return job_id in self._held

    def held(self) -> list[tuple[int, Renew]]:
        with self._guard:
            return list(self._held.items())


@contextmanager
def heartbeat(ledger: JobLedgerSession, clock: Clock, lease_seconds: float,
              leases: Leases) -> Iterator[None]:
    """Renew every held claim and its lock every quarter of the lease while the body runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease_seconds / 4):
            for job_id, renew_lock in leases.held():
                try:
                    with ledger as uow:
                        alive = uow.jobs.renew(job_id, at=clock.now())
                        uow.commit()
                    renew_lock()
                except Exception as exc:  # the next beat tries again
                    log.warning("job-%d: could not renew its lease (%s)", job_id, exc)
                    continue
                if not alive and leases.holds(job_id):  # (not: done since the snapshot)
                    log.warning("job-%d: its claim was released meanwhile (taken for a dead "
                                "runner's); it may run twice, which is harmless", job_id)

    held = leases.held()
    thread = threading.Thread(target=beat, daemon=True,
                              name=f"heartbeat-{held[0][0] if held else 'none'}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class HeldLock:
    """A lock of the Locks port entered by hand, so that each job of a batch lets its own go
    when it is done."""

    def __init__(self, manager: AbstractContextManager[Renew]) -> None:
        self._manager = manager
        self.renew = manager.__enter__()
        self._held = True

    def let_go(self) -> None:
        if self._held:
            self._held = False
            self._manager.__exit__(None, None, None)


@frozen
class Outcome:
    job: StoredJob
    said: str | None
    error: Exception | None
    seconds: float


class BatchRun:
    """One batch: ``first`` (claimed by the runtime) and the mates it takes."""

    def __init__(self, runtime: "JobRuntime", first: StoredJob, batching: Batching,
                 drained: Drained | None) -> None:
        self._rt = runtime
        self._first = first
        self._batching = batching
        self._drained = drained  # None: not a drain
        self._kind = type(first.command).__name__
        self._locks: dict[int, HeldLock] = {}
        self._leases = Leases()
        self._done: dict[int, Outcome] = {}

    def run(self) -> str:
        """Run the batch; raise ``first``'s failure, after every mate has run."""
        rt, first = self._rt, self._first
        started = time.perf_counter()
        try:
            self._locks[first.id] = HeldLock(rt.locks.hold(
                f"job:{first.dedup_key}", ttl=rt.lease_seconds, wait=rt.job_timeout_seconds))
        except BaseException:
            rt.metrics.job_finished(self._kind, "failed", time.perf_counter() - started)
            rt.release(first.id)
            raise
        self._leases.add(first.id, self._locks[first.id].renew)
        jobs = [first]
        try:
            jobs += self._claim_mates()
            with heartbeat(rt.ledger, rt.clock, rt.lease_seconds, self._leases), \
                    in_lane(first.lane):
                try:
                    handler = self._batching.prepare([job.command for job in jobs])
                except Exception as exc:  # the shared read failed: every job fails alike
                    for job in jobs:
                        self._leases.drop(job.id)
                        self._locks.pop(job.id).let_go()
                        self._finish(Outcome(job, None, exc, time.perf_counter() - started))
                else:
                    for n, job in enumerate(jobs):
                        if n and self._give_way(jobs[n:]):
                            break
                        self._run_one(job, handler)
        finally:  # what an interrupted batch still holds goes back to waiting
            for job_id, lock in self._locks.items():
                lock.let_go()
                if job_id not in self._done:
                    rt.release(job_id)
        first_done = self._done[first.id]
        if first_done.error is not None:
            raise first_done.error
        mates = [self._done[job.id] for job in jobs[1:]]
        if not mates:
            return f"{first.dedup_key}: {first_done.said}"
        failed = sum(1 for m in mates if m.error is not None)
        log.info("%s ran with %d mate(s): %s", first.dedup_key, len(mates),
                 "; ".join(f"{m.job.dedup_key}: {m.said or m.error}" for m in mates))
        return (f"{first.dedup_key}: {first_done.said} (and {len(mates)} more run with it"
                + (f", {failed} failed and queued again" if failed else "") + ")")

    def _give_way(self, rest: Sequence[StoredJob]) -> bool:
        """A bulk batch gives way to urgent work waiting for a runner: the jobs it has not
        run yet go back to waiting, untried (the relays queue them again), so this runner
        takes the sale's job next instead of after a whole batch of bulk PUTs."""
        if self._first.lane is Lane.URGENT or not self._rt.queue.urgent_waiting():
            return False
        for job in rest:
            self._leases.drop(job.id)
            self._locks.pop(job.id).let_go()
            with self._rt.ledger as uow:
                uow.jobs.unclaim(job.id)
                uow.commit()
            self._done[job.id] = Outcome(job, "given back (urgent work waits)", None, 0.0)
            if self._drained is not None:
                self._drained.tried.discard(job.id)
        log.info("%s: urgent work waits; %d job(s) of the batch go back to waiting",
                 self._first.dedup_key, len(rest))
        return True

    def _run_one(self, job: StoredJob, handler: Handler) -> None:
        """Run one job (with the runtime's transient retries), then let its lock go and
        finish it at once: a job done early in a batch neither holds its item nor needs its
        lease renewed while the others run."""
        started = time.perf_counter()
        said: str | None = None
        error: Exception | None = None
        try:
            said = self._rt.handle_retrying_transient(handler, job.command)
        except Exception as exc:
            error = exc
        finally:
            self._leases.drop(job.id)
            self._locks.pop(job.id).let_go()
        self._finish(Outcome(job, said, error, time.perf_counter() - started))

    def _finish(self, outcome: Outcome) -> None:
        """Complete the job's row, or release it (a mate is queued again to run alone)."""
        rt, job = self._rt, outcome.job
        self._done[job.id] = outcome
        if outcome.error is None:
            rt.metrics.job_finished(self._kind, "done", outcome.seconds)
            rt.complete(job.id)
            return
        rt.metrics.job_finished(self._kind, "failed", outcome.seconds)
        rt.release(job.id)
        if job.id != self._first.id:  # it runs again alone, with the queue's retries
            if self._drained is not None:
                self._drained.failed.add(job.id)
            log.warning("%s failed in %s's batch (%s); queued again to run alone",
                        job.dedup_key, self._first.dedup_key, outcome.error)
            rt.submit([job], replace=True)

    def _claim_mates(self) -> list[StoredJob]:
        """Lock (without waiting) and claim up to ``size - 1`` waiting jobs of the first
        job's group and lane."""
        rt, first, batching = self._rt, self._first, self._batching
        group = batching.group(first.command)
        with rt.ledger as uow:
            found = uow.jobs.batch_mates(
                first, key_prefix=batching.key_prefix(first.command), limit=3 * batching.size,
                due_by=None if self._drained is not None else rt.clock.now())
        locked: dict[int, HeldLock] = {}
        for job in found:
            if len(locked) == batching.size - 1:
                break
            if batching.group(job.command) != group or job.dedup_key == first.dedup_key:
                continue
            try:
                locked[job.id] = HeldLock(rt.locks.hold(f"job:{job.dedup_key}",
                                                        ttl=rt.lease_seconds, wait=0))
            except TimeoutError:
                continue  # another runner is busy with this key: the job waits its turn
        try:
            with rt.ledger as uow:
                mates = uow.jobs.claim_many(list(locked))
                uow.commit()
        except BaseException:
            for lock in locked.values():
                lock.let_go()
            raise
        for mate in mates:
            self._locks[mate.id] = locked.pop(mate.id)
            self._leases.add(mate.id, self._locks[mate.id].renew)
            if self._drained is not None:
                self._drained.tried.add(mate.id)
        for lock in locked.values():  # another runner took these meanwhile
            lock.let_go()
        return mates
