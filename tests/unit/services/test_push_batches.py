"""Pushes waiting together read their items with one multiget (issue 21, item 1).

The job runtime's batches (:mod:`connector_core.services.job_batches`) on fakes, and the
item pushes' batching (:mod:`connector_core.services.push_batch`) with the real handlers:
calls made, rule 7, a sale that lands between the batch's read and an item's write, and
multiget entries that fail."""

import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector_core.domain.accounts import Account
from connector_core.domain.audit import AuditOutcome
from connector_core.domain.commands import Command, PushItem
from connector_core.domain.errors import (
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceUnavailable,
)
from connector_core.domain.items import ItemUpdate, MarketItem, MarketVariation
from connector_core.domain.jobs import MAX_ATTEMPTS
from connector_core.domain.lanes import Lane
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.domain.orders import Order, OrderLine
from connector_core.domain.stock import StockReport
from connector_core.services.handlers import handler_table
from connector_core.services.job_batches import Batching, Handler
from connector_core.services.jobs import JobRuntime
from connector_core.services.order_seen import order_seen
from connector_core.services.push_batch import PreReadMarketplace, push_batching
from connector_core.services.stock_changed import erp_stock_changed
from tests.fakes import (
    CountingMetrics,
    FakeLocks,
    FakeMarketplace,
    FakeUnitOfWork,
    FixedClock,
    InMemoryTaskQueue,
    Store,
)

T = datetime(2026, 12, 4, 12, tzinfo=UTC)
D = Decimal
MAIN = Account("main", 111, "MLA")
OTHER = Account("other", 222, "MLA")


# --- the runtime's batches, with a recording handler --------------------------------------


class Recorder:
    """A batching that records each ``prepare`` and fails the keys asked to."""

    def __init__(self) -> None:
        self.prepared: list[list[str]] = []
        self.ran: list[str] = []
        self.failing: set[str] = set()
        self.prepare_fails = False

    def batching(self, size: int = 20) -> Batching:
        def prepare(commands: Sequence[Command]) -> Handler:
            self.prepared.append([c.dedup_key for c in commands])
            if self.prepare_fails:
                raise MarketplaceUnavailable("multiget: HTTP 503")

            def run(command: Command) -> str:
                if command.dedup_key in self.failing:
                    raise RuntimeError(f"{command.dedup_key} fails")
                self.ran.append(command.dedup_key)
                return "ok"
            return run

        def account(command: Command) -> str:
            assert isinstance(command, PushItem)
            return command.account

        return Batching(group=account, key_prefix=lambda c: f"push-{account(c)}-",
                        prepare=prepare, size=size)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def uow(clock: FixedClock) -> FakeUnitOfWork:
    return FakeUnitOfWork(clock=clock, max_attempts=MAX_ATTEMPTS)


def runtime(uow: FakeUnitOfWork, clock: FixedClock, recorder: Recorder, *,
            queue: InMemoryTaskQueue | None = None, locks: FakeLocks | None = None,
            metrics: CountingMetrics | None = None) -> JobRuntime:
    def alone(command: Command) -> str:
        recorder.ran.append(command.dedup_key)
        return "ok"
    return JobRuntime(ledger=uow, queue=queue or InMemoryTaskQueue(), locks=locks or FakeLocks(),
                      clock=clock, handlers={PushItem: alone},
                      metrics=metrics or CountingMetrics(), job_timeout_seconds=60,
                      sweep_interval_seconds=30, batching={PushItem: recorder.batching()})


def add(uow: FakeUnitOfWork, *commands: Command, not_before: datetime | None = None,
        lane: Lane | None = None) -> None:
    with uow:
        for command in commands:
            uow.jobs.add(command, not_before=not_before, lane=lane)
        uow.commit()


def pushes(account: str, count: int, start: int = 1) -> list[PushItem]:
    return [PushItem(account, f"MLA{n}") for n in range(start, start + count)]


def test_a_push_takes_up_to_nineteen_waiting_pushes_of_its_account_and_lane(uow, clock):
    recorder = Recorder()
    metrics = CountingMetrics()
    jobs = runtime(uow, clock, recorder, metrics=metrics)
    add(uow, *pushes("main", 25))
    add(uow, *pushes("other", 3))
    add(uow, *pushes("main", 2, start=100), lane=Lane.URGENT)
    said = jobs.run(PushItem("main", "MLA7"))
    assert "and 19 more run with it" in said
    (batch,) = recorder.prepared
    assert batch[0] == "push-main-MLA7" and len(batch) == 20
    assert all(key.startswith("push-main-MLA") for key in batch)
    assert not {"push-main-MLA100", "push-main-MLA101"} & set(batch)  # urgent: its own lane
    assert metrics.jobs == {("PushItem", "done"): 20}
    waiting = {row.dedup_key for row in uow.store.waiting_jobs.values()}
    assert len(waiting) == 10 and uow.store.claimed_jobs == {}
    # the mates' own deliveries find nothing to do
    assert "nothing to do" in jobs.run(PushItem("main", batch[1].removeprefix("push-main-")))


def test_an_account_named_like_a_prefix_of_another_is_not_mixed_in(uow, clock):
    recorder = Recorder()
    jobs = runtime(uow, clock, recorder)
    add(uow, *pushes("main", 2), *pushes("main-b", 2, start=50))
    jobs.run(PushItem("main", "MLA1"))
    assert recorder.prepared == [["push-main-MLA1", "push-main-MLA2"]]


def test_a_mate_another_runner_holds_and_held_back_jobs_are_left_waiting(uow, clock):
    recorder = Recorder()
    locks = FakeLocks()
    jobs = runtime(uow, clock, recorder, locks=locks)
    add(uow, *pushes("main", 3))
    add(uow, PushItem("main", "MLA9"), not_before=clock.now() + timedelta(seconds=2))
    locks.held.add("job:push-main-MLA2")  # another runner is pushing MLA2 (a newer job)
    jobs.run(PushItem("main", "MLA1"))
    assert recorder.prepared == [["push-main-MLA1", "push-main-MLA3"]]
    assert {r.dedup_key for r in uow.store.waiting_jobs.values()} == {"push-main-MLA2",
                                                                      "push-main-MLA9"}
    assert locks.held == {"job:push-main-MLA2"}  # every lock the batch took is let go


def test_a_failed_mate_goes_back_to_wait_and_is_queued_to_run_alone(uow, clock):
    recorder = Recorder()
    queue = InMemoryTaskQueue()
    jobs = runtime(uow, clock, recorder, queue=queue)
    add(uow, *pushes("main", 3))
    recorder.failing.add("push-main-MLA2")
    assert "1 failed and queued again" in jobs.run(PushItem("main", "MLA1"))
    (row,) = uow.store.waiting_jobs.values()
    assert row.dedup_key == "push-main-MLA2" and row.attempts == 1
    assert [c.dedup_key for c in queue.submitted] == ["push-main-MLA2"]
    # a job with an attempt behind it runs alone: the next batch does not take it
    add(uow, *pushes("main", 1, start=5))
    jobs.run(PushItem("main", "MLA5"))
    assert recorder.prepared[-1] == ["push-main-MLA5"]
    recorder.failing.clear()
    assert jobs.run(PushItem("main", "MLA2")) == "push-main-MLA2: ok"
    assert uow.store.waiting_jobs == {}


def test_the_first_jobs_failure_is_raised_after_its_mates_ran(uow, clock):
    recorder = Recorder()
    jobs = runtime(uow, clock, recorder)
    add(uow, *pushes("main", 3))
    recorder.failing.add("push-main-MLA1")
    with pytest.raises(RuntimeError, match="MLA1 fails"):
        jobs.run(PushItem("main", "MLA1"))
    assert recorder.ran == ["push-main-MLA2", "push-main-MLA3"]
    (row,) = uow.store.waiting_jobs.values()
    assert row.dedup_key == "push-main-MLA1" and row.attempts == 1


def test_a_failed_shared_read_fails_every_job_of_the_batch(uow, clock):
    recorder = Recorder()
    queue = InMemoryTaskQueue()
    jobs = runtime(uow, clock, recorder, queue=queue)
    add(uow, *pushes("main", 3))
    recorder.prepare_fails = True
    with pytest.raises(MarketplaceUnavailable):
        jobs.run(PushItem("main", "MLA1"))
    assert sorted((r.dedup_key, r.attempts) for r in uow.store.waiting_jobs.values()) == [
        ("push-main-MLA1", 1), ("push-main-MLA2", 1), ("push-main-MLA3", 1)]
    assert {c.dedup_key for c in queue.submitted} == {"push-main-MLA2", "push-main-MLA3"}
    assert uow.store.claimed_jobs == {}


def test_a_bulk_batch_gives_way_to_urgent_work_and_its_rest_waits_untried(uow, clock):
    recorder = Recorder()
    queue = InMemoryTaskQueue()
    jobs = runtime(uow, clock, recorder, queue=queue)
    add(uow, *pushes("main", 5))
    plain = recorder.batching()

    def prepare(commands: Sequence[Command]) -> Handler:
        run = plain.prepare(commands)

        def then_a_sale(command: Command) -> str:
            queue.urgent = True  # a sale's job waits for a runner
            return run(command)
        return then_a_sale

    jobs._batching[PushItem] = Batching(group=plain.group, key_prefix=plain.key_prefix,
                                        prepare=prepare)
    said = jobs.run(PushItem("main", "MLA1"))
    assert recorder.ran == ["push-main-MLA1"] and "4 more" in said
    rest = sorted(uow.store.waiting_jobs.values(), key=lambda r: r.id)
    assert [(r.dedup_key, r.attempts) for r in rest] == [
        (f"push-main-MLA{n}", 0) for n in range(2, 6)]  # untried
    assert {c.dedup_key for c in queue.submitted} == {r.dedup_key for r in rest}  # queued again
    assert uow.store.claimed_jobs == {}
    queue.urgent = False
    jobs._batching[PushItem] = plain
    jobs.run(PushItem("main", "MLA2"))  # they still batch together afterwards
    assert recorder.prepared[-1] == [f"push-main-MLA{n}" for n in range(2, 6)]


def test_an_urgent_batch_does_not_give_way(uow, clock):
    recorder = Recorder()
    queue = InMemoryTaskQueue()
    queue.urgent = True
    jobs = runtime(uow, clock, recorder, queue=queue)
    add(uow, *pushes("main", 3), lane=Lane.URGENT)
    jobs.run(PushItem("main", "MLA1"))
    assert recorder.ran == ["push-main-MLA1", "push-main-MLA2", "push-main-MLA3"]


def test_a_drain_runs_held_back_pushes_in_batches_and_each_once(uow, clock):
    recorder = Recorder()
    jobs = runtime(uow, clock, recorder)
    add(uow, *pushes("main", 30), not_before=clock.now() + timedelta(seconds=5))
    assert jobs.drain() == (30, 0)
    assert [len(batch) for batch in recorder.prepared] == [20, 10]
    assert sorted(recorder.ran) == sorted(f"push-main-MLA{n}" for n in range(1, 31))


def test_the_heartbeat_renews_every_claim_and_lock_of_a_batch(uow, clock):
    locks = FakeLocks()
    recorder = Recorder()
    plain = recorder.batching()
    renewed: list[str] = []

    def prepare(commands: Sequence[Command]) -> Handler:
        run = plain.prepare(commands)

        def after_a_beat(command: Command) -> str:
            if not renewed:  # the first job: wait for the heartbeat to renew all three
                deadline = time.monotonic() + 10
                while len(set(locks.renewed)) < 3 and time.monotonic() < deadline:
                    time.sleep(0.01)
                renewed.extend(locks.renewed)
            return run(command)
        return after_a_beat

    jobs = JobRuntime(ledger=uow, queue=InMemoryTaskQueue(), locks=locks, clock=clock,
                      handlers={}, metrics=CountingMetrics(), job_timeout_seconds=60,
                      sweep_interval_seconds=30, lease_seconds=0.2,
                      batching={PushItem: Batching(group=plain.group,
                                                   key_prefix=plain.key_prefix,
                                                   prepare=prepare)})
    add(uow, *pushes("main", 3))
    clock.advance(5)
    jobs.run(PushItem("main", "MLA1"))
    assert set(renewed) == {f"job:push-main-MLA{n}" for n in (1, 2, 3)}
    assert recorder.ran == ["push-main-MLA1", "push-main-MLA2", "push-main-MLA3"]


# --- item pushes in batches, with the real handlers --------------------------------------


class CountingML(FakeMarketplace):
    """The fake ML, counting calls as ML would: one per multiget of up to 20 ids.

    ``entry_errors`` answer an id's multiget entry with an error; ``read_errors`` make the
    single ``GET`` of an item fail; ``after_multiget`` and ``before_put[item]`` run at
    those moments (a sale landing there)."""

    def __init__(self, items: Sequence[MarketItem]) -> None:
        super().__init__(items)
        self.multigets: list[list[str]] = []
        self.single_reads: list[str] = []
        self.entry_errors: dict[str, MarketplaceError] = {}
        self.read_errors: dict[str, MarketplaceError] = {}
        self.after_multiget: Callable[[], None] | None = None
        self.before_put: dict[str, Callable[[], None]] = {}

    @property
    def calls(self) -> int:
        return len(self.multigets) + len(self.single_reads) + len(self.updates)

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        self.single_reads.append(item_id)
        if item_id in self.read_errors:
            raise self.read_errors[item_id]
        return super().get_item(account, item_id)

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        result: dict[str, MarketItem | MarketplaceError] = {}
        for start in range(0, len(item_ids), 20):
            self.multigets.append(list(item_ids[start:start + 20]))
        for item_id in item_ids:
            if item_id in self.entry_errors:
                result[item_id] = self.entry_errors[item_id]
            elif item_id in self.items:
                result[item_id] = self.items[item_id]
            else:
                result[item_id] = MarketplaceNotFound(f"GET /items/{item_id} (multiget): 404")
        if self.after_multiget is not None:
            self.after_multiget()
        return result

    def update_item(self, account: Account, update: ItemUpdate) -> MarketItem:
        hook = self.before_put.pop(update.item_id, None)
        if hook is not None:
            hook()
        return super().update_item(account, update)


def ml_item(item_id: str, qty: int = 5, variations: Sequence[MarketVariation] = ()) -> MarketItem:
    return MarketItem(id=item_id, site_id="MLA", seller_id=111, status="active", price=D(100),
                      currency_id="ARS", available_quantity=qty, variations=tuple(variations))


def world(count: int, *, variations: bool = False) -> tuple[FakeUnitOfWork, CountingML]:
    """``count`` items MLA1.. of account main, each selling SKU S<n>, 5 on ML; with
    ``variations`` MLA100 has three variations of which V1 (variation 1001) is mapped."""
    rows = [MappingRow(f"S{n}", Listing("main", f"MLA{n}")) for n in range(1, count + 1)]
    items = [ml_item(f"MLA{n}") for n in range(1, count + 1)]
    if variations:
        rows.append(MappingRow("V1", Listing("main", "MLA100", 1001)))
        items.append(ml_item("MLA100", 15, [MarketVariation(1000 + n, 5, D(100))
                                            for n in (1, 2, 3)]))
    uow = FakeUnitOfWork(Store(accounts={"main": MAIN}, table=MappingTable(rows, [])),
                         clock=FixedClock(T), max_attempts=MAX_ATTEMPTS)
    return uow, CountingML(items)


def pushing_runtime(uow: FakeUnitOfWork, ml: CountingML,
                    queue: InMemoryTaskQueue | None = None) -> JobRuntime:
    clock = FixedClock(T)
    handlers = handler_table(uow=uow, marketplace=lambda: PreReadMarketplace(ml), clock=clock,
                             metrics=CountingMetrics())
    return JobRuntime(ledger=uow, queue=queue or InMemoryTaskQueue(), locks=FakeLocks(),
                      clock=clock, handlers=handlers, metrics=CountingMetrics(),
                      job_timeout_seconds=60, sweep_interval_seconds=30,
                      batching={PushItem: push_batching(uow=uow, marketplace=lambda: ml,
                                                        run_push=handlers[PushItem])})


def report(uow: FakeUnitOfWork, figures: dict[str, int], at: datetime = T) -> None:
    erp_stock_changed([StockReport(sku, "main", q, at) for sku, q in figures.items()], uow=uow)


def sale(uow: FakeUnitOfWork, order_id: int, item_id: str, sku: str, units: int) -> None:
    order_seen(Order(id=order_id, account="main", status="paid", last_updated=T,
                     lines=(OrderLine(item_id, None, sku, units, D(100)),)), uow=uow)


def put_of(ml: CountingML, item_id: str) -> list[ItemUpdate]:
    return [u for u in ml.updates if u.item_id == item_id]


@pytest.mark.parametrize(("pushed", "changed"), [(45, 7), (45, 0), (20, 20), (1, 1)])
def test_n_pushes_with_c_changes_cost_a_multiget_per_20_and_a_put_per_change(pushed, changed):
    uow, ml = world(pushed)
    report(uow, {f"S{n}": 9 if n <= changed else 5 for n in range(1, pushed + 1)})
    assert pushing_runtime(uow, ml).drain() == (pushed, 0)
    expected_reads = math.ceil(pushed / 20) if pushed > 1 else 0
    assert len(ml.multigets) == expected_reads
    assert len(ml.single_reads) == (1 if pushed == 1 else 0)  # a push alone reads alone
    assert sorted(u.item_id for u in ml.updates) == sorted(f"MLA{n}"
                                                           for n in range(1, changed + 1))
    assert ml.calls == math.ceil(pushed / 20) + changed
    assert all(ml.items[f"MLA{n}"].available_quantity == (9 if n <= changed else 5)
               for n in range(1, pushed + 1))


def test_a_batched_put_carries_every_variation_id():
    uow, ml = world(3, variations=True)
    report(uow, {"S1": 5, "S2": 5, "S3": 5, "V1": 8})
    pushing_runtime(uow, ml).drain()
    (put,) = ml.updates
    assert put.item_id == "MLA100"
    assert [(v.id, v.available_quantity) for v in put.variations] == [
        (1001, 8), (1002, None), (1003, None)]  # rule 7: the others' ids, unchanged
    assert len(ml.multigets) == 1 and not ml.single_reads


def test_a_sale_right_after_the_batchs_read_is_in_the_figure_written():
    uow, ml = world(3)
    report(uow, {"S1": 9, "S2": 9, "S3": 9})
    ml.after_multiget = lambda: sale(uow, 1, "MLA2", "S2", 2)  # ML read, nothing written yet
    pushing_runtime(uow, ml).drain()
    assert len(ml.multigets) == 1
    assert [u.available_quantity for u in put_of(ml, "MLA2")] == [7]  # 9 - 2, never 9
    assert ml.items["MLA2"].available_quantity == 7


def test_a_sale_while_the_batch_writes_another_item_is_in_the_next_items_figure():
    uow, ml = world(3)
    report(uow, {"S1": 9, "S2": 9, "S3": 9})
    # the batch read MLA3 with its mates; the sale lands while MLA1 is being written
    ml.before_put["MLA1"] = lambda: sale(uow, 2, "MLA3", "S3", 1)
    pushing_runtime(uow, ml).drain()
    assert [u.available_quantity for u in put_of(ml, "MLA1")] == [9]
    assert [u.available_quantity for u in put_of(ml, "MLA3")] == [8]  # 9 - 1, never 9
    assert len(ml.multigets) == 1


def test_an_item_missing_from_the_multiget_is_recorded_as_a_single_read_404_is():
    uow, ml = world(3)
    del ml.items["MLA2"]
    report(uow, {"S1": 9, "S2": 9, "S3": 9})
    assert pushing_runtime(uow, ml).drain() == (3, 0)
    assert not ml.single_reads and len(ml.multigets) == 1
    (rejected,) = [e for e in uow.store.audit if e.item_id == "MLA2"]
    assert rejected.outcome is AuditOutcome.REJECTED and "not found" in rejected.reason
    assert sorted(u.item_id for u in ml.updates) == ["MLA1", "MLA3"]


def test_a_failed_multiget_entry_is_read_again_alone():
    uow, ml = world(3)
    ml.entry_errors["MLA2"] = MarketplaceUnavailable("GET /items/MLA2 (multiget): HTTP 503")
    report(uow, {"S1": 9, "S2": 9, "S3": 9})
    assert pushing_runtime(uow, ml).drain() == (3, 0)
    assert ml.single_reads == ["MLA2"]
    assert sorted(u.item_id for u in ml.updates) == ["MLA1", "MLA2", "MLA3"]


def test_an_item_that_cannot_be_read_at_all_is_retried_as_its_own_job():
    uow, ml = world(3)
    ml.entry_errors["MLA2"] = MarketplaceUnavailable("GET /items/MLA2 (multiget): HTTP 503")
    ml.read_errors["MLA2"] = MarketplaceUnavailable("GET /items/MLA2: HTTP 503")
    report(uow, {"S1": 9, "S2": 9, "S3": 9})
    queue = InMemoryTaskQueue()
    jobs = pushing_runtime(uow, ml, queue)
    assert jobs.drain() == (2, 1)
    (row,) = uow.store.waiting_jobs.values()
    assert row.dedup_key == "push-main-MLA2" and row.attempts == 1
    assert [c.dedup_key for c in queue.submitted] == ["push-main-MLA2"]  # queued again
    del ml.read_errors["MLA2"]  # ML is back: its retry reads it alone and writes it
    assert jobs.run(PushItem("main", "MLA2")) == "push-main-MLA2: sent"
    assert ml.items["MLA2"].available_quantity == 9


def test_the_in_process_queue_says_when_urgent_work_waits():
    import threading

    from adapters.inprocess_queue import InProcessTaskQueue

    running, go = threading.Event(), threading.Event()

    def run(command: Command) -> None:
        running.set()
        assert go.wait(10)

    queue = InProcessTaskQueue(run)
    queue.submit(PushItem("main", "MLA1"))  # runs, and holds the thread
    assert running.wait(10)
    queue.submit(PushItem("main", "MLA2"))
    assert not queue.urgent_waiting()
    queue.submit(PushItem("main", "MLA3"), lane=Lane.URGENT)
    assert queue.urgent_waiting()
    go.set()
    queue.join()
    assert not queue.urgent_waiting()
