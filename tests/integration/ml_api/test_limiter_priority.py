"""The rate limiter's lanes: an urgent call takes the next slot, bulk keeps its floor, and the
total never goes over the rate (in memory and on Redis)."""

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from adapters.ml_api.ratelimit import (
    WAITER_GRACE_SECONDS,
    YIELD_POLL_SECONDS,
    SharedRateLimiter,
    _MemoryWindow,
    _RedisWindow,
    _Window,
)
from connector_core.domain.lanes import Lane, in_lane
from tests.integration.ml_api.test_storm import max_in_any_second
from tests.services import redis_url

URGENT, BULK = Lane.URGENT, Lane.BULK


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_urgent_caller_takes_the_next_slot_and_bulk_keeps_its_floor() -> None:
    clock = Clock()
    window = _MemoryWindow(amount=4, window=1.0, bulk_floor=1, now=clock)
    for _ in range(4):  # bulk fills the window, a slot every 0.25 s
        assert window.try_take(BULK, "b") == 0.0
        clock.now += 0.25
    clock.now -= 0.25
    wait = window.try_take(URGENT, "u1")  # full: waits for the oldest grant to expire
    assert wait == pytest.approx(0.25)
    clock.now += wait
    assert window.try_take(BULK, "b") == YIELD_POLL_SECONDS  # the freed slot is the sale's
    assert window.try_take(URGENT, "u1") == 0.0
    # a flood of urgent callers: bulk still takes a slot while it holds under its floor
    for n in range(4):
        clock.now += 0.25
        assert window.try_take(URGENT, f"u{n + 2}") == 0.0
    wait = window.try_take(URGENT, "u9")  # waiting; the window holds no bulk grant now
    clock.now += wait
    assert window.try_take(BULK, "b") == 0.0  # under its floor: bulk goes anyway
    assert window.try_take(URGENT, "u9") > 0


def test_an_urgent_caller_that_went_away_holds_bulk_back_only_briefly() -> None:
    clock = Clock()
    window = _MemoryWindow(amount=2, window=4.0, bulk_floor=1, now=clock)
    assert window.try_take(BULK, "b") == 0.0
    assert window.try_take(URGENT, "gone") == pytest.approx(2.0)  # then its process dies
    clock.now += 2.0
    assert window.try_take(BULK, "b") == YIELD_POLL_SECONDS
    clock.now += WAITER_GRACE_SECONDS
    assert window.try_take(BULK, "b") == 0.0


def test_a_bulk_caller_under_its_floor_goes_before_urgent_ones() -> None:
    clock = Clock()
    window = _MemoryWindow(amount=2, window=1.0, bulk_floor=1, now=clock)
    assert window.try_take(URGENT, "u") == 0.0
    assert window.try_take(BULK, "b") == pytest.approx(0.5)  # waiting, holding none
    clock.now += 0.5
    assert window.try_take(URGENT, "u") == YIELD_POLL_SECONDS
    assert window.try_take(BULK, "b") == 0.0
    clock.now += 0.5
    assert window.try_take(URGENT, "u") == 0.0  # bulk holds its floor again


def test_a_lone_call_never_waits_and_grants_are_spaced() -> None:
    clock = Clock()
    window = _MemoryWindow(amount=10, window=1.1, bulk_floor=1, now=clock)
    assert window.try_take(BULK, "b") == 0.0
    assert window.try_take(BULK, "b") == pytest.approx(0.11)
    clock.now += 0.11
    assert window.try_take(URGENT, "u") == 0.0


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str | None:
    if request.param == "redis":
        request.applymarker(pytest.mark.redis)
        return redis_url()
    return None


@pytest.fixture
def limiter(storage: str | None) -> Iterator[SharedRateLimiter]:
    made = SharedRateLimiter(10, storage_uri=storage, key=f"test-priority:{uuid.uuid4().hex}")
    yield made
    made.clear()


def hammer(limiter: SharedRateLimiter, lane: Lane, stop: threading.Event,
           stamps: list[tuple[float, Lane]]) -> threading.Thread:
    def loop() -> None:
        with in_lane(lane):  # the lane comes from the running job, as in production
            while not stop.is_set():
                with limiter.slot():  # as the transport sends a request
                    stamps.append((time.time(), lane))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_a_sale_does_not_queue_behind_saturating_bulk(limiter: SharedRateLimiter) -> None:
    stop, stamps = threading.Event(), []
    bulk = [hammer(limiter, BULK, stop, stamps) for _ in range(3)]
    waits = []
    try:
        time.sleep(1.5)  # bulk saturates the window
        for _ in range(8):
            started = time.monotonic()
            with limiter.slot(URGENT):
                waits.append(time.monotonic() - started)
                stamps.append((time.time(), URGENT))
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in bulk:
            thread.join(5)
    # a slot frees every 0.1 s: the sale's call waits for one, not behind three callers
    # (a fair share would be every fourth slot: 0.44 s)
    assert sorted(waits)[len(waits) // 2] < 0.11 + 0.05, waits
    assert max(waits) < 0.4, waits
    # never more than the rate in any second (the limiter's window is 1 s plus its guard)
    assert max_in_any_second([t for t, _ in stamps]) <= 10


def test_a_flood_of_sales_leaves_bulk_its_floor(limiter: SharedRateLimiter) -> None:
    stop, stamps = threading.Event(), []
    threads = [hammer(limiter, URGENT, stop, stamps) for _ in range(3)]
    threads.append(hammer(limiter, BULK, stop, stamps))
    try:
        time.sleep(3.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
    # never more than the rate in any second (the limiter's window is 1 s plus its guard)
    assert max_in_any_second([t for t, _ in stamps]) <= 10
    bulk = [t for t, lane in stamps if lane is BULK]
    # three windows: bulk keeps two slots of ten in each (its floor), urgent gets the rest
    assert limiter.bulk_floor == 2
    assert len(bulk) >= 5, len(bulk)
    assert len(stamps) - len(bulk) >= 20


@pytest.mark.redis
def test_the_redis_window_yields_to_a_waiting_urgent_caller() -> None:
    from redis import Redis

    key = f"test-priority:{uuid.uuid4().hex}"
    window: _Window = _RedisWindow(Redis.from_url(redis_url()), key, 3, 0.3, bulk_floor=1)
    try:
        for _ in range(3):
            while (wait := window.try_take(BULK, "b")) > 0:
                time.sleep(wait)
        wait = window.try_take(URGENT, "u")
        assert 0 < wait <= 0.3
        time.sleep(wait + 0.002)
        assert window.try_take(BULK, "b") == YIELD_POLL_SECONDS
        assert window.try_take(URGENT, "u") == 0.0
    finally:
        window.clear()
