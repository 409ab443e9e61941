"""Failed logins slow down guessing: past ``LIMIT`` failures for one name or from one address
within ``WINDOW`` seconds, logins for it are refused (429) until the oldest failure is that
old. ``LoginThrottle`` counts in one process (the laptop setup); with Redis configured the
wiring passes ``adapters.redis_throttle.RedisLoginThrottle``, shared by every web process."""

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

LIMIT = 5
WINDOW = 300.0
MAX_KEYS = 10_000  # names and addresses tracked at once; the stalest go first


class Throttle(Protocol):
    def wait(self, *keys: str) -> float:
        """Seconds before any of ``keys`` may try again (0: now)."""
    def failed(self, *keys: str) -> None: ...
    def succeeded(self, key: str) -> None: ...


class LoginThrottle:
    def __init__(self, *, limit: int = LIMIT, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] >= self._window:
            times.popleft()
        return times

    def wait(self, *keys: str) -> float:
        """Seconds before any of ``keys`` may try again (0: now)."""
        now = self._clock()
        with self._lock:
            waits = [self._window - (now - times[0]) for key in keys
                     if len(times := self._recent(key, now)) >= self._limit]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                times.append(now)
                self._failures.pop(key, None)
                self._failures[key] = times  # the most recently failed last
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
