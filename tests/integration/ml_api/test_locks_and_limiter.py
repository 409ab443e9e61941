"""The Locks implementations and the shared rate limiter, on threads and on Redis."""

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from adapters.ml_api.ratelimit import SharedRateLimiter, _MemoryWindow
from adapters.redis_locks import RedisLocks, ThreadLocks
from connector_core.domain.lanes import Lane
from connector_core.ports.locks import Locks
from tests.integration.ml_api.test_storm import max_in_any_second
from tests.services import redis_url


def redis_locks() -> Iterator[Locks]:
    import redis

    client = redis.Redis.from_url(redis_url())
    try:
        yield RedisLocks(client, prefix=f"test:{uuid.uuid4().hex}:")
    finally:
        client.close()


@pytest.fixture(params=["threads", pytest.param("redis", marks=[pytest.mark.redis,
                                                               pytest.mark.integration])])
def locks(request: pytest.FixtureRequest) -> Iterator[Locks]:
    if request.param == "threads":
        yield ThreadLocks()
    else:
        yield from redis_locks()


def test_hold_is_mutually_exclusive(locks: Locks) -> None:
    inside: list[int] = []
    overlaps: list[int] = []

    def work() -> None:
        for _ in range(5):
            with locks.hold("acct", ttl=5, wait=5):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.002)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def test_wait_times_out(locks: Locks) -> None:
    acquired = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with locks.hold("busy", ttl=5, wait=1):
            acquired.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    acquired.wait(5)
    started = time.monotonic()
    with pytest.raises(TimeoutError), locks.hold("busy", ttl=5, wait=0.2):
        pass
    assert 0.15 < time.monotonic() - started < 2
    with locks.hold("other", wait=0.2):  # names are independent
        pass
    release.set()
    thread.join()


@pytest.mark.integration
@pytest.mark.redis
def test_redis_lock_expires_after_ttl() -> None:
    for locks in redis_locks():
        with locks.hold("crashed", ttl=0.3, wait=1):
            time.sleep(0.4)  # the holder overran its TTL: the lock is free again
            with locks.hold("crashed", ttl=1, wait=0.5):
                pass


class TestRateLimiter:
    def test_rate_in_any_second(self) -> None:
        limiter = SharedRateLimiter(10, key=f"t-{uuid.uuid4().hex}")
        stamps: list[float] = []
        started = time.monotonic()
        for _ in range(25):
            with limiter.slot():  # as the transport sends: the slot counts from the answer
                stamps.append(time.time())
        # 10 per 1.005 s (a second and the guard) from each answer, a grant every 0.1005 s
        assert limiter.window == pytest.approx(1.005)
        assert 9 <= max_in_any_second(stamps) <= 10
        assert 24 * 0.1005 - 0.01 < time.monotonic() - started < 3.2

    def test_a_slot_counts_from_the_answer_not_from_the_grant(self) -> None:
        clock = [100.0]
        limiter = SharedRateLimiter(2, key=f"t-{uuid.uuid4().hex}")
        limiter._window = _MemoryWindow(2, limiter.window, 1, lambda: clock[0])
        first = limiter.acquire()  # at 100.0
        clock[0] += 0.6
        second = limiter.acquire()  # at 100.6 (spaced 0.5025 s)
        clock[0] += 0.05
        limiter.done(second)  # answered at 100.65
        clock[0] += 0.25
        limiter.done(first)  # a slow answer at 100.9: ML may have seen it only now
        # the window is full until the first answer's slot frees, 1.005 s after 100.65
        # (counted from the grants, the first slot would free at 101.005)
        assert limiter._window.try_take(Lane.BULK, "w") == pytest.approx(0.755)
        limiter.done(None)  # a grant the caller did not keep: nothing to do

    def test_fractional_rates(self) -> None:
        slow = SharedRateLimiter(0.5, key=f"t-{uuid.uuid4().hex}")
        assert (slow.amount, slow.window) == (1, 2.005)
        assert SharedRateLimiter(2.7).amount == 2
        with pytest.raises(ValueError, match="> 0"):
            SharedRateLimiter(0)
        with pytest.raises(ValueError, match="memcached"):
            SharedRateLimiter(1, storage_uri="memcached://x")

    @pytest.mark.integration
    @pytest.mark.redis
    def test_redis_window_is_shared_between_limiters(self) -> None:
        key = f"test-limiter:{uuid.uuid4().hex}"
        first = SharedRateLimiter(4, storage_uri=redis_url(), key=key)
        second = SharedRateLimiter(4, storage_uri=redis_url(), key=key)
        stamps = []
        for n in range(10):
            with (first if n % 2 else second).slot():
                stamps.append(time.time())
        assert max_in_any_second(stamps) == 4
        assert first.waited + second.waited > 1.0
        first.clear()
