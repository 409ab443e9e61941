"""``Locks`` implementations: Redis (every process of a deployment) and threads (one process).

A database-backed implementation for deployments without Redis lives with the SQL adapter.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import redis
from redis.exceptions import LockError


def connect_redis(url: str) -> "redis.Redis":
    """The process's Redis client (locks, the task queue, the health check): short
    timeouts, so a Redis that went away fails a call instead of hanging it."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2,
                                health_check_interval=30)


class RedisLocks:
    """Named locks in Redis (redis-py's ``Lock``: a token key with a TTL, released by owner)."""

    def __init__(self, client: "redis.Redis", *, prefix: str = "meli-connector:lock:") -> None:
        self._client = client
        self._prefix = prefix

    @contextmanager
    def hold(self, name: str, *, ttl: float = 60.0,
             wait: float = 30.0) -> Iterator[Callable[[], None]]:
        lock = self._client.lock(self._prefix + name, timeout=ttl, sleep=0.02,
                                 blocking=True, blocking_timeout=wait)
        if not lock.acquire():
            raise TimeoutError(f"lock {name!r} not acquired within {wait} s")

        def renew() -> None:
            with suppress(LockError):  # lost meanwhile: the next holder has it
                lock.extend(ttl, replace_ttl=True)

        try:
            yield renew
        finally:
            # LockError: the TTL ran out while held; another holder may already have it
            with suppress(LockError):
                lock.release()


class ThreadLocks:
    """Named locks for one process (the laptop setup): ``ttl`` is not enforced."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, name: str, *, ttl: float = 60.0,
             wait: float = 30.0) -> Iterator[Callable[[], None]]:
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        started = time.monotonic()
        if not lock.acquire(timeout=wait):
            raise TimeoutError(f"lock {name!r} not acquired within "
                               f"{time.monotonic() - started:.1f} s")
        try:
            yield lambda: None
        finally:
            lock.release()
