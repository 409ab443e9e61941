"""The console's failed-login throttle holds across web processes: with Redis, each gunicorn
process sees the failures the others counted (docs/console.md, "Limits")."""

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from adapters.redis_throttle import RedisLoginThrottle
from tests.services import redis_url
from tests.unit.console.test_access import PASSWORD, console, log_in
from webhook_app.console.throttle import LoginThrottle

pytestmark = [pytest.mark.redis, pytest.mark.integration]


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url())
    yield client
    client.close()


def shared(client: redis.Redis, prefix: str, *, limit: int = 5,
           window: float = 300) -> RedisLoginThrottle:
    return RedisLoginThrottle(client, limit=limit, window=window, prefix=prefix,
                              fallback=LoginThrottle(limit=limit, window=window))


def test_two_processes_count_the_same_failures(client: redis.Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    one, two = shared(client, prefix, limit=3), shared(client, prefix, limit=3)
    one.failed("name:ana", "address:1")
    two.failed("name:ana", "address:1")
    assert one.wait("name:ana") == 0 and two.wait("address:1") == 0
    one.failed("name:ana", "address:1")
    # the oldest failure is a moment old: the wait is just under the window, on both
    assert 299 < two.wait("name:ana") <= 300
    assert 299 < one.wait("name:bob", "address:1") <= 300
    assert two.wait("name:bob", "address:2") == 0
    two.succeeded("name:ana")
    assert one.wait("name:ana") == 0
    # the sets stay small and expire with the window
    assert client.zcard(prefix + "address:1") == 3
    assert 0 < client.ttl(prefix + "address:1") <= 300


def test_the_window_slides(client: redis.Redis) -> None:
    throttle = shared(client, f"test:{uuid.uuid4().hex}:", limit=2, window=0.5)
    throttle.failed("name:ana")
    throttle.failed("name:ana")
    assert 0 < throttle.wait("name:ana") <= 0.5
    # Redis's clock decides: ask until the window has passed (it must within a second)
    deadline = time.monotonic() + 5
    while throttle.wait("name:ana") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert throttle.wait("name:ana") == 0
    assert time.monotonic() < deadline


def test_failures_on_one_web_process_lock_the_name_on_another(client: redis.Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    first, _ = console(throttle=shared(client, prefix))
    second, _ = console(throttle=shared(client, prefix))
    for n in range(5):
        assert log_in(first if n % 2 else second, password="wrong").status_code == 401
    for web in (first, second):  # even the right password, on either process
        refused = log_in(web, password=PASSWORD)
        assert refused.status_code == 429
        assert "Too many failed logins" in refused.get_data(as_text=True)


def test_redis_away_falls_back_to_this_process_never_a_500() -> None:
    away = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
    web, _ = console(throttle=shared(away, "test:away:"))
    for _ in range(5):
        assert log_in(web, password="wrong").status_code == 401
    assert log_in(web, password=PASSWORD).status_code == 429
