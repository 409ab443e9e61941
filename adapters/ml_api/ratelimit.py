"""A request rate shared by every process that talks to ML (CONTRACT rule 8), where a sale's
calls go first.

A moving window: at most ``amount`` grants in any ``window`` seconds, and grants at least
``window / amount`` apart, kept in Redis (``redis://...``: every worker process of the
deployment shares one window, timed by the Redis server's clock) or in memory (one
process). :meth:`SharedRateLimiter.acquire` blocks until the caller may send. The spacing
keeps a saturated window from granting in bursts (all of a window's slots at once, then
nothing for a whole window): a slot frees every ``window / amount`` seconds, so that is how
long an urgent call waits for one.

**Priority.** Each call belongs to a lane (:mod:`connector_core.domain.lanes`: the lane of
the job running it). An urgent caller finding the window full registers as waiting; while
one waits, bulk callers leave freed slots to it, so an urgent call takes the next slot
instead of queueing behind bulk calls already pacing here. Bulk never starves: while it holds
fewer than ``bulk_floor`` of the window's grants (a fifth of them, rounded up), a waiting
bulk caller goes before urgent ones, so under a flood of urgent calls bulk still gets that
share of the rate.
Priority changes who goes next, never how many go: the total stays within ``amount``.

**A slot counts from the answer.** A request's slot is taken before it is sent
(:meth:`SharedRateLimiter.slot`, which the transport uses) and, once its answer is back,
counts from then (:meth:`SharedRateLimiter.done`): ML has certainly seen a request by the
time its answer arrives, so the request that takes the slot next reaches ML at least a
``window`` later, however late either travelled. The window is one second plus a 5 ms guard
(``margin``). Until issue 21 a slot counted from when it was taken, with a 100 ms guard for
the trip, which capped the rate at 10 calls per 1.1 s (90.9 %) and still let a slow trip put
11 requests inside one second at ML under load. The cost now is the round trip per slot:
about ``amount / (window + round trip)`` calls per second.

**A late waiter keeps its place.** Grants are spaced from the last grant's *slot* (the
spacing's anchor), not from its moment: a caller told to wait that wakes a few milliseconds
late takes its slot without pushing every later slot back (it catches up at most one
spacing).
"""

import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from redis import Redis

from connector_core.domain.lanes import Lane, running_lane

log = logging.getLogger(__name__)

BULK_FLOOR_SHARE = 0.2  # of the window's slots bulk keeps however many urgent calls wait
YIELD_POLL_SECONDS = 0.02  # how soon a bulk caller that yielded a free slot looks again
WAITER_GRACE_SECONDS = 0.5  # an urgent waiter not seen again for this long is gone


class _Window(Protocol):
    def try_take(self, lane: Lane, waiter: str, grant: str | None = None, *,
                 waited: bool = False) -> float:
        """Take a slot for ``lane`` as ``grant`` (0.0), or say how long to wait before
        trying again. ``waited``: this caller was told to wait before (it may catch up)."""
        ...

    def done(self, grant: str) -> None:
        """``grant``'s request has its answer: its slot counts from now."""
        ...

    def clear(self) -> None: ...


class _MemoryWindow:
    def __init__(self, amount: int, window: float, bulk_floor: int,
                 now: Callable[[], float]) -> None:
        self._amount, self._window, self._floor, self._now = amount, window, bulk_floor, now
        self._spacing = window / amount
        self._grants: dict[str, tuple[float, Lane]] = {}  # grant -> (when, lane)
        self._slot = -math.inf  # the spacing's anchor: when the last grant's slot was
        self._waiters: dict[str, float] = {}  # urgent caller -> when it stops counting
        self._starving: dict[str, float] = {}  # bulk callers under their floor, the same
        self._lock = threading.Lock()

    def try_take(self, lane: Lane, waiter: str, grant: str | None = None, *,
                 waited: bool = False) -> float:
        with self._lock:
            now = self._now()
            self._grants = {g: held for g, held in self._grants.items()
                            if held[0] > now - self._window}
            self._waiters = {w: t for w, t in self._waiters.items() if t > now}
            self._starving = {w: t for w, t in self._starving.items() if t > now}
            bulk_held = sum(1 for _, held_by in self._grants.values() if held_by is Lane.BULK)
            wait = 0.0
            if len(self._grants) >= self._amount:
                wait = min(at for at, _ in self._grants.values()) + self._window - now
            wait = max(wait, self._slot + self._spacing - now)
            if wait > 0:
                if lane is Lane.URGENT:
                    self._waiters[waiter] = now + wait + WAITER_GRACE_SECONDS
                elif bulk_held < self._floor:
                    self._starving[waiter] = now + wait + WAITER_GRACE_SECONDS
                return wait
            if lane is Lane.BULK and self._waiters and bulk_held >= self._floor:
                return YIELD_POLL_SECONDS
            if lane is Lane.URGENT and self._starving and bulk_held < self._floor:
                return YIELD_POLL_SECONDS  # bulk's floor: its waiting caller goes first
            self._grants[grant or uuid.uuid4().hex] = (now, lane)
            self._slot = (max(self._slot + self._spacing, now - self._spacing) if waited
                          else now)
            self._waiters.pop(waiter, None)
            self._starving.pop(waiter, None)
            return 0.0

    def done(self, grant: str) -> None:
        with self._lock:
            if grant in self._grants:
                self._grants[grant] = (self._now(), self._grants[grant][1])

    def clear(self) -> None:
        with self._lock:
            self._grants, self._waiters, self._starving = {}, {}, {}
            self._slot = -math.inf


# KEYS: every grant, bulk's grants (zsets scored by time), urgent waiters and bulk waiters
# under bulk's floor (scored by expiry), the spacing's anchor (the last grant's slot).
# ARGV: window, amount, bulk floor, lane, waiter id, grant id, yield poll, waiter grace,
# spacing, waited ('1': the caller was told to wait before, and may catch up).
_TRY_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window, amount, floor = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local urgent = ARGV[4] == 'urgent'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local bulk_held = redis.call('ZCARD', KEYS[2])
local ttl = math.ceil(window * 1000) + 1000
local wait = 0
if redis.call('ZCARD', KEYS[1]) >= amount then
    wait = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]) + window - now
end
local spacing = tonumber(ARGV[9])
local slot = tonumber(redis.call('GET', KEYS[5]) or '-1')
wait = math.max(wait, slot + spacing - now)
if wait > 0 then
    local queue = nil
    if urgent then queue = KEYS[3] elseif bulk_held < floor then queue = KEYS[4] end
    if queue then
        redis.call('ZADD', queue, now + wait + tonumber(ARGV[8]), ARGV[5])
        redis.call('PEXPIRE', queue, ttl + math.ceil(wait * 1000))
    end
    return tostring(wait)
end
if not urgent and redis.call('ZCARD', KEYS[3]) > 0 and bulk_held >= floor then
    return ARGV[7]
end
if urgent and redis.call('ZCARD', KEYS[4]) > 0 and bulk_held < floor then
    return ARGV[7]
end
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('PEXPIRE', KEYS[1], ttl)
if ARGV[10] == '1' then slot = math.max(slot + spacing, now - spacing) else slot = now end
redis.call('SET', KEYS[5], string.format('%.6f', slot), 'PX', ttl)
redis.call('ZREM', KEYS[4], ARGV[5])
if urgent then
    redis.call('ZREM', KEYS[3], ARGV[5])
else
    redis.call('ZADD', KEYS[2], now, ARGV[6])
    redis.call('PEXPIRE', KEYS[2], ttl)
end
return '0'
"""


# KEYS: every grant, bulk's grants. ARGV: the grant. Its slot counts from now (if it is still
# in the window: XX never adds one).
_DONE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', now, ARGV[1])
return 0
"""


class _RedisWindow:
    def __init__(self, redis: Redis, key: str, amount: int, window: float,
                 bulk_floor: int) -> None:
        self._redis = redis
        self._keys = [f"{key}:grants", f"{key}:bulk", f"{key}:urgent-waiting",
                      f"{key}:bulk-starving", f"{key}:slot"]
        self._args = [window, amount, bulk_floor]
        self._script = redis.register_script(_TRY_TAKE)
        self._done = redis.register_script(_DONE)

    def try_take(self, lane: Lane, waiter: str, grant: str | None = None, *,
                 waited: bool = False) -> float:
        answer = self._script(keys=self._keys, args=[
            *self._args, lane.value, waiter, grant or uuid.uuid4().hex, YIELD_POLL_SECONDS,
            WAITER_GRACE_SECONDS, self._args[0] / self._args[1], "1" if waited else "0"])
        return float(answer)

    def done(self, grant: str) -> None:
        self._done(keys=self._keys[:2], args=[grant])

    def clear(self) -> None:
        self._redis.delete(*self._keys)


def _storage(uri: str | None, key: str, amount: int, window: float,
             bulk_floor: int) -> _Window:
    if not uri or uri.startswith("memory://"):
        return _MemoryWindow(amount, window, bulk_floor, time.monotonic)
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return _RedisWindow(Redis.from_url(uri, socket_timeout=5, socket_connect_timeout=2),
                            key, amount, window, bulk_floor)
    raise ValueError(f"unsupported rate-limit storage {uri.split(':', 1)[0]}:// (use redis://)")


class SharedRateLimiter:
    """At most ``per_second`` requests in any 1-second window, across processes sharing
    ``storage_uri`` (a Redis URL; None: this process only); urgent calls first."""

    def __init__(self, per_second: float, *, storage_uri: str | None = None,
                 key: str = "meli-connector:ml-api", margin: float = 0.005,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_second <= 0:
            raise ValueError(f"per_second must be > 0, got {per_second}")
        if per_second >= 1:
            self.amount, self.window = math.floor(per_second), 1 + margin
        else:  # e.g. 0.5/s: one request per 2 seconds
            self.amount, self.window = 1, math.ceil(1 / per_second) + margin
        self.bulk_floor = math.ceil(self.amount * BULK_FLOOR_SHARE)
        self._window = _storage(storage_uri, key, self.amount, self.window, self.bulk_floor)
        self._sleep = sleep
        self.waited = 0.0  # total seconds spent waiting, for metrics and tests

    def acquire(self, lane: Lane | None = None) -> str:
        """Take one slot for ``lane`` (default: the running job's), sleeping until one is
        free to it; the grant's id, for :meth:`done`."""
        lane = lane or running_lane()
        waiter, grant = uuid.uuid4().hex, uuid.uuid4().hex
        waited = False
        while (wait := self._window.try_take(lane, waiter, grant, waited=waited)) > 0:
            wait = max(0.001, wait) + 0.001 * random.random()
            self.waited += wait
            self._sleep(wait)
            waited = True
        return grant

    def done(self, grant: str | None) -> None:
        """The request sent under ``grant`` has its answer (or failed): ML has seen it by
        now, so its slot counts from now (see the module). Never raises: a slot counted
        from its grant is still within the limit, only the guard is thinner."""
        if grant is None:
            return
        try:
            self._window.done(grant)
        except Exception as exc:
            log.warning("rate limiter: could not mark a request answered (%s)", exc)

    @contextmanager
    def slot(self, lane: Lane | None = None) -> Iterator[None]:
        """Hold a slot while the block sends one request (:meth:`acquire`, then
        :meth:`done` when the block ends)."""
        grant = self.acquire(lane)
        try:
            yield
        finally:
            self.done(grant)

    def clear(self) -> None:
        self._window.clear()
