"""The job runtime on fakes: dispatch, claims, retries, dead letters, the sweep, bursts."""

import time
from datetime import timedelta

import pytest

from connector_core.domain.commands import Command, PushItem, SyncOrder
from connector_core.domain.jobs import MAX_ATTEMPTS
from connector_core.services.jobs import DISPATCH_BATCH, JobRuntime
from tests.fakes import CountingMetrics, FakeLocks, FakeUnitOfWork, FixedClock, InMemoryTaskQueue

TIMEOUT = 60.0
SWEEP = 30.0


class Handlers:
    """Handlers that record what ran, and fail on demand."""

    def __init__(self) -> None:
        self.ran: list[Command] = []
        self.failing: set[str] = set()

    def __call__(self, command: Command) -> str:
        if command.dedup_key in self.failing:
            raise RuntimeError(f"{command.dedup_key} fails")
        self.ran.append(command)
        return "ok"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def uow(clock: FixedClock) -> FakeUnitOfWork:
    return FakeUnitOfWork(clock=clock, max_attempts=MAX_ATTEMPTS)


@pytest.fixture
def handlers() -> Handlers:
    return Handlers()


def runtime(uow: FakeUnitOfWork, clock: FixedClock, handlers: Handlers, *,
            queue: InMemoryTaskQueue | None = None,
            metrics: CountingMetrics | None = None, transient: bool = False) -> JobRuntime:
    return JobRuntime(ledger=uow, queue=queue or InMemoryTaskQueue(), locks=FakeLocks(),
                      clock=clock, handlers={PushItem: handlers, SyncOrder: handlers},
                      metrics=metrics or CountingMetrics(), job_timeout_seconds=TIMEOUT,
                      sweep_interval_seconds=SWEEP,
                      is_transient=lambda exc: transient and isinstance(exc, RuntimeError))


def add(uow: FakeUnitOfWork, *commands: Command, not_before=None) -> None:
    with uow:
        for command in commands:
            uow.jobs.add(command, not_before=not_before)
        uow.commit()


def test_dispatch_queues_each_committed_job_once(uow, clock, handlers):
    queue = InMemoryTaskQueue()
    jobs = runtime(uow, clock, handlers, queue=queue)
    add(uow, PushItem("main", "MLA1"), SyncOrder("main", 7))
    assert jobs.dispatch() == 2
    assert jobs.dispatch() == 0  # taken: a second relay finds nothing
    assert {c.dedup_key for c in queue.submitted} == {"push-main-MLA1", "order-main-7"}


def test_a_held_back_job_waits_for_its_time(uow, clock, handlers):
    jobs = runtime(uow, clock, handlers)
    add(uow, PushItem("main", "MLA1"), not_before=clock.now() + timedelta(seconds=2))
    assert jobs.dispatch() == 0
    assert jobs.next_due_in() == pytest.approx(2.001)
    clock.advance(2)
    assert jobs.dispatch() == 1
    assert jobs.next_due_in() is None


def test_a_burst_is_drained_in_batches(uow, clock, handlers):
    queue = InMemoryTaskQueue()
    jobs = runtime(uow, clock, handlers, queue=queue)
    add(uow, *(SyncOrder("main", n) for n in range(2 * DISPATCH_BATCH + 5)))
    assert jobs.dispatch() == 2 * DISPATCH_BATCH + 5
    assert len(queue.submitted) == 2 * DISPATCH_BATCH + 5


def test_a_job_delivered_twice_runs_once(uow, clock, handlers):
    metrics = CountingMetrics()
    jobs = runtime(uow, clock, handlers, metrics=metrics)
    add(uow, PushItem("main", "MLA1"))
    assert jobs.run(PushItem("main", "MLA1")) == "push-main-MLA1: ok"
    assert "nothing to do" in jobs.run(PushItem("main", "MLA1"))
    assert handlers.ran == [PushItem("main", "MLA1")]
    assert metrics.jobs == {("PushItem", "done"): 1, ("PushItem", "skipped"): 1}
    assert uow.store.waiting_jobs == {} and uow.store.claimed_jobs == {}


def test_a_failed_run_waits_for_its_retry_then_succeeds(uow, clock, handlers):
    jobs = runtime(uow, clock, handlers)
    add(uow, PushItem("main", "MLA1"))
    handlers.failing.add("push-main-MLA1")
    with pytest.raises(RuntimeError):
        jobs.run(PushItem("main", "MLA1"))
    (row,) = uow.store.waiting_jobs.values()
    assert row.attempts == 1 and row.dispatched_at == clock.now()
    handlers.failing.clear()
    assert jobs.run(PushItem("main", "MLA1")).endswith("ok")
    assert uow.store.waiting_jobs == {}


def test_a_transient_failure_runs_again_at_once(uow, clock):
    calls: list[int] = []

    def flaky(command: Command) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("deadlock victim")
        return "ok"

    jobs = JobRuntime(ledger=uow, queue=InMemoryTaskQueue(), locks=FakeLocks(), clock=clock,
                      handlers={PushItem: flaky}, metrics=CountingMetrics(),
                      job_timeout_seconds=TIMEOUT, sweep_interval_seconds=SWEEP,
                      is_transient=lambda exc: True)
    add(uow, PushItem("main", "MLA1"))
    assert jobs.run(PushItem("main", "MLA1")).endswith("ok") and len(calls) == 3


def test_a_job_out_of_attempts_is_a_dead_letter_that_new_work_replaces(uow, clock, handlers):
    jobs = runtime(uow, clock, handlers)
    add(uow, PushItem("main", "MLA1"))
    handlers.failing.add("push-main-MLA1")
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            jobs.run(PushItem("main", "MLA1"))
    clock.advance(3600)
    assert jobs.sweep() == 0, "dead letters are not re-queued"
    with uow:
        assert uow.jobs.add(PushItem("main", "MLA1")) is True  # replaces, not joins
        uow.commit()
    (row,) = uow.store.waiting_jobs.values()
    assert row.attempts == 0


def test_the_sweep_requeues_jobs_never_queued_and_jobs_of_dead_runners(uow, clock, handlers):
    queue = InMemoryTaskQueue()
    jobs = runtime(uow, clock, handlers, queue=queue)
    add(uow, PushItem("main", "MLA1"), SyncOrder("main", 7))
    with uow:  # a runner claims the order and dies
        assert uow.jobs.claim(dedup_key="order-main-7") is not None
        uow.commit()
    assert jobs.sweep() == 0  # too recent: the queue may still deliver them
    clock.advance(SWEEP + 1)  # past the lease (20 s) and the sweep interval
    assert jobs.sweep() == 2
    assert {c.dedup_key for c in queue.submitted} == {"push-main-MLA1", "order-main-7"}
    assert jobs.run(SyncOrder("main", 7)).endswith("ok")


def test_a_queue_that_is_down_leaves_the_jobs_to_the_sweep(uow, clock, handlers):
    class DownQueue(InMemoryTaskQueue):
        down = True

        def submit_new(self, jobs):
            if self.down:
                raise ConnectionError("redis is down")
            super().submit_new(jobs)

        def submit(self, command, *, dedup_key=None, replace=False):
            if self.down:
                raise ConnectionError("redis is down")
            super().submit(command, dedup_key=dedup_key, replace=replace)

    queue = DownQueue()
    jobs = runtime(uow, clock, handlers, queue=queue)
    add(uow, PushItem("main", "MLA1"))
    assert jobs.dispatch() == 0  # never raises
    clock.advance(SWEEP + 1)
    assert jobs.sweep() == 0
    queue.down = False
    assert jobs.sweep() == 1 and queue.submitted == [PushItem("main", "MLA1")]


def test_an_unknown_command_fails_its_run(uow, clock, handlers):
    jobs = JobRuntime(ledger=uow, queue=InMemoryTaskQueue(), locks=FakeLocks(), clock=clock,
                      handlers={}, metrics=CountingMetrics(), job_timeout_seconds=TIMEOUT,
                      sweep_interval_seconds=SWEEP)
    add(uow, PushItem("main", "MLA1"))
    with pytest.raises(TypeError, match="unknown command"):
        jobs.run(PushItem("main", "MLA1"))


def test_a_dead_runners_job_is_queued_again_once_its_lease_runs_out(uow, clock, handlers):
    queue = InMemoryTaskQueue()
    jobs = JobRuntime(ledger=uow, queue=queue, locks=FakeLocks(), clock=clock,
                      handlers={SyncOrder: handlers}, metrics=CountingMetrics(),
                      job_timeout_seconds=3600, sweep_interval_seconds=SWEEP, lease_seconds=20)
    add(uow, SyncOrder("main", 7))
    with uow:  # a runner claims the order and is killed: no heartbeat renews the claim
        assert uow.jobs.claim(dedup_key="order-main-7") is not None
        uow.commit()
    clock.advance(19)
    assert jobs.recover_dead_runners() == 0  # within its lease: the runner may be alive
    clock.advance(2)
    assert jobs.recover_dead_runners() == 1, "a 1-hour job timeout does not delay it"
    assert queue.submitted == [SyncOrder("main", 7)]
    assert jobs.run(SyncOrder("main", 7)).endswith("ok")


def test_a_live_runner_renews_its_claim_and_its_lock_while_the_job_runs(uow, clock):
    locks = FakeLocks()
    seen: list[object] = []

    def slow(command: Command) -> str:
        clock.advance(60)  # a long job, by the clock
        deadline = time.monotonic() + 5
        while len(locks.renewed) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.extend(j.claimed_at for j in uow.store.claimed_jobs.values())
        return "ok"

    jobs = JobRuntime(ledger=uow, queue=InMemoryTaskQueue(), locks=locks, clock=clock,
                      handlers={PushItem: slow}, metrics=CountingMetrics(),
                      job_timeout_seconds=TIMEOUT, sweep_interval_seconds=SWEEP,
                      lease_seconds=0.08)
    add(uow, PushItem("main", "MLA1"))
    assert jobs.run(PushItem("main", "MLA1")).endswith("ok")
    assert locks.renewed[:2] == ["job:push-main-MLA1"] * 2
    assert seen == [clock.now()], "the claim counts from the last heartbeat"


class SpawningHandlers(Handlers):
    """A sale's order job creates the pushes it causes, as the real one does."""

    def __init__(self, uow: FakeUnitOfWork, clock: FixedClock) -> None:
        super().__init__()
        self.uow, self.clock = uow, clock

    def __call__(self, command: Command) -> str:
        outcome = super().__call__(command)
        if isinstance(command, SyncOrder):
            add(self.uow, PushItem("main", "MLA2"),
                not_before=self.clock.now() + timedelta(seconds=30))
        return outcome


def test_a_drain_runs_held_back_jobs_and_the_jobs_they_create_then_stops(uow, clock):
    handlers = SpawningHandlers(uow, clock)
    handlers.failing.add("push-main-MLA9")
    jobs = runtime(uow, clock, handlers)
    later = clock.now() + timedelta(seconds=30)  # the push window
    add(uow, PushItem("main", "MLA1"), PushItem("main", "MLA9"), not_before=later)
    add(uow, SyncOrder("main", 7))
    add(uow, PushItem("main", "MLA5"))
    with uow:  # a job another runner holds is not waited for
        uow.jobs.claim(dedup_key="push-main-MLA5")
        uow.commit()

    assert jobs.drain() == (3, 1)
    assert [c.dedup_key for c in handlers.ran] == ["push-main-MLA1", "order-main-7",
                                                   "push-main-MLA2"]
    with uow:  # what is left: the failed job, waiting for its retry, and the held one
        assert sorted(j.dedup_key for j in uow.jobs.waiting()) == ["push-main-MLA9"]
    assert jobs.drain() == (0, 1)  # a new drain tries the failed job again


def test_a_drain_leaves_dead_letters_to_the_operator(uow, clock, handlers):
    handlers.failing.add("push-main-MLA1")
    jobs = runtime(uow, clock, handlers)
    add(uow, PushItem("main", "MLA1"))
    for _ in range(MAX_ATTEMPTS):
        jobs.drain()
    assert jobs.drain() == (0, 0)
