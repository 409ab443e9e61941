"""A request rate shared by every process that talks to ML (CONTRACT rule 8).

Built on the ``limits`` library's moving window, so no 1-second window ever holds more than
the configured number of requests: in Redis (``redis://...``, every worker process of the
deployment shares one window) or in memory (one process). :meth:`acquire` blocks until a
slot is free.
"""

import math
import random
import time
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter


class SharedRateLimiter:
    """``per_second`` requests in any 1-second window, across processes sharing ``storage_uri``.

    ``margin`` (seconds) is added, with jitter, before retrying a full window, so a slot is
    re-used a little after it frees rather than exactly at the boundary; this keeps request
    *arrival* times at ML (which vary by a few milliseconds) inside the limit too.
    """

    def __init__(self, per_second: float, *, storage_uri: str | None = None,
                 key: str = "meli-connector:ml-api", margin: float = 0.05,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_second <= 0:
            raise ValueError(f"per_second must be > 0, got {per_second}")
        if per_second >= 1:
            self.item = RateLimitItemPerSecond(math.floor(per_second), 1)
        else:
            self.item = RateLimitItemPerSecond(1, math.ceil(1 / per_second))
        self._storage = (storage_from_string(storage_uri) if storage_uri
                         else MemoryStorage())
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._key = key
        self._margin = margin
        self._sleep = sleep
        self.waited = 0.0  # total seconds spent waiting, for metrics and tests

    def acquire(self) -> None:
        """Take one slot, sleeping until one is free."""
        while not self._limiter.hit(self.item, self._key):
            stats = self._limiter.get_window_stats(self.item, self._key)
            wait = max(0.0, stats.reset_time - time.time()) + self._margin * random.random()
            wait = max(wait, 0.001)
            self.waited += wait
            self._sleep(wait)

    def clear(self) -> None:
        self._limiter.clear(self.item, self._key)
