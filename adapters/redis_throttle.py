"""The console's failed-login throttle shared by every web process of a deployment (Redis).

Each name or address has a sorted set of its recent failures (score: Redis's own clock, so
processes on different hosts agree), trimmed to the last ``limit`` and expiring with the
window. Same rules as the one-process ``webhook_app.console.throttle.LoginThrottle``: past
``limit`` failures within ``window`` seconds, logins for that key wait until the oldest of
them is ``window`` old.

If Redis does not answer, the process falls back to ``fallback`` (its own in-memory count)
and logs it: a login page must not answer 500 because Redis is away, and the failures it sees
meanwhile still count in this process. After a failed call it stays local for ``pause``
seconds rather than have every login wait for Redis's connection retries.
"""

import logging
import time
import uuid
from typing import Protocol

import redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1e6 "

# KEYS: the keys; ARGV: limit, window. Returns the longest wait in milliseconds (0: now).
_WAIT = _NOW + """
local limit, window, longest = tonumber(ARGV[1]), tonumber(ARGV[2]), 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    longest = math.max(longest, window - (now - oldest))
  end
end
return math.ceil(longest * 1000)
"""

# KEYS: the keys; ARGV: limit, window, a unique member for this failure.
_FAILED = _NOW + """
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('ZREMRANGEBYRANK', key, 0, -limit - 1)
  redis.call('EXPIRE', key, math.ceil(window))
end
return 0
"""


class Throttle(Protocol):
    def wait(self, *keys: str) -> float: ...
    def failed(self, *keys: str) -> None: ...
    def succeeded(self, key: str) -> None: ...


class RedisLoginThrottle:
    def __init__(self, client: "redis.Redis", *, limit: int, window: float, fallback: Throttle,
                 prefix: str = "meli-connector:console-login:", pause: float = 30.0) -> None:
        self._client = client
        self._limit = limit
        self._window = window
        self._prefix = prefix
        self._wait = client.register_script(_WAIT)
        self._failed = client.register_script(_FAILED)
        self._local = fallback
        self._pause = pause
        self._away_until = 0.0

    def _shared(self) -> bool:
        return time.monotonic() >= self._away_until

    def _away(self, what: str, exc: RedisError) -> None:
        self._away_until = time.monotonic() + self._pause
        log.warning("console login throttle: Redis unavailable (%s); %s, counting failed "
                    "logins in this process for %g s", exc, what, self._pause)

    def _keys(self, keys: tuple[str, ...]) -> list[str]:
        return [self._prefix + key for key in keys]

    def wait(self, *keys: str) -> float:
        if self._shared():
            try:
                shared = int(self._wait(keys=self._keys(keys),
                                        args=[self._limit, self._window])) / 1000
                return max(shared, self._local.wait(*keys))
            except RedisError as exc:
                self._away("a login was checked locally", exc)
        return self._local.wait(*keys)

    def failed(self, *keys: str) -> None:
        self._local.failed(*keys)
        if self._shared():
            try:
                self._failed(keys=self._keys(keys),
                             args=[self._limit, self._window, uuid.uuid4().hex])
            except RedisError as exc:
                self._away("a failed login was not shared", exc)

    def succeeded(self, key: str) -> None:
        self._local.succeeded(key)
        if self._shared():
            try:
                self._client.delete(self._prefix + key)
            except RedisError as exc:
                self._away("a success was not shared", exc)
