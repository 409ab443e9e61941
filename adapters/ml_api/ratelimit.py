"""A request rate shared by every process that talks to ML (CONTRACT rule 8).

Built on the ``limits`` library's moving window, in Redis (``redis://...``: every worker
process of the deployment shares one window) or in memory (one process). :meth:`acquire`
blocks until a slot is free.

The window is one second plus a small guard (``margin``, 100 ms by default): a slot is re-used
only ``1 + margin`` seconds after it was taken. Requests reach ML a few milliseconds after
they take their slot, and not all equally late; without the guard, two bursts a hair over a
second apart *at the client* can land inside one second *at ML*. ``limits`` windows are whole
seconds, so the guarded window uses a float expiry: fine for its memory storage, and for
Redis the library's own moving-window script with ``PEXPIRE`` instead of ``EXPIRE``.
"""

import math
import random
import time
from collections.abc import Callable
from typing import Any

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

_EXPIRE = b"redis.call('expire', KEYS[1], expiry)"
_PEXPIRE = b"redis.call('pexpire', KEYS[1], math.ceil(expiry * 1000))"


class _GuardedWindow(RateLimitItemPerSecond):
    """``amount`` per ``window`` seconds, where ``window`` need not be whole."""

    __slots__ = ("window",)

    def __init__(self, amount: int, window: float) -> None:
        super().__init__(amount, 1)
        self.window = window

    def get_expiry(self) -> float:  # type: ignore[override]  # limits types it int; floats work
        return self.window


class _MillisecondRedisStorage(RedisStorage):
    """``limits``' Redis storage, its moving-window script setting a millisecond TTL."""

    if _EXPIRE not in RedisStorage.SCRIPT_ACQUIRE_MOVING_WINDOW:  # pragma: no cover
        raise ImportError("limits changed its moving-window script; revisit ratelimit.py")
    SCRIPT_ACQUIRE_MOVING_WINDOW = RedisStorage.SCRIPT_ACQUIRE_MOVING_WINDOW.replace(
        _EXPIRE, _PEXPIRE)


def _storage(uri: str | None) -> Storage:
    if not uri or uri.startswith("memory://"):
        return MemoryStorage()
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return _MillisecondRedisStorage(uri)
    raise ValueError(f"unsupported rate-limit storage {uri.split(':', 1)[0]}:// (use redis://)")


class SharedRateLimiter:
    """At most ``per_second`` requests in any 1-second window, across processes sharing
    ``storage_uri`` (a Redis URL; None: this process only)."""

    def __init__(self, per_second: float, *, storage_uri: str | None = None,
                 key: str = "meli-connector:ml-api", margin: float = 0.1,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_second <= 0:
            raise ValueError(f"per_second must be > 0, got {per_second}")
        if per_second >= 1:
            self.item = _GuardedWindow(math.floor(per_second), 1 + margin)
        else:  # e.g. 0.5/s: one request per 2 seconds
            self.item = _GuardedWindow(1, math.ceil(1 / per_second) + margin)
        self._limiter = MovingWindowRateLimiter(_storage(storage_uri))
        self._key = key
        self._sleep = sleep
        self.waited = 0.0  # total seconds spent waiting, for metrics and tests

    def acquire(self) -> None:
        """Take one slot, sleeping until one is free."""
        while not self._limiter.hit(self.item, self._key):
            stats = self._limiter.get_window_stats(self.item, self._key)
            wait = max(0.001, stats.reset_time - time.time()) + 0.005 * random.random()
            self.waited += wait
            self._sleep(wait)

    def clear(self) -> None:
        self._limiter.clear(self.item, self._key)

    @property
    def stats(self) -> Any:
        return self._limiter.get_window_stats(self.item, self._key)
