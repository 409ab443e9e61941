"""A separate OS process for the refresh-race and 429-storm tests.

``python -m tests.integration.ml_api.worker CONFIG_JSON`` prints one JSON line of results.
"""

import json
import sys
import threading
import time
from datetime import timedelta
from typing import Any

from adapters.redis_locks import RedisLocks
from connector_core.domain.errors import MarketplaceError
from connector_core.domain.items import ItemUpdate
from tests.fakes import FakeTokenStore
from tests.ml_support import ACCOUNT, FileLocks, SqliteTokenStore, build_gateway, seed_tokens


def _locks(config: dict[str, Any]) -> Any:
    if config.get("redis_url"):
        import redis

        return RedisLocks(redis.Redis.from_url(config["redis_url"]),
                          prefix=config["lock_prefix"])
    return FileLocks(config["lock_dir"])


def race(config: dict[str, Any]) -> dict[str, Any]:
    tokens = SqliteTokenStore(config["token_db"])
    gateway, client = build_gateway(config["url"], tokens, _locks(config),
                                    refresh_margin=timedelta(seconds=config["margin"]))
    calls, errors = 0, []
    time.sleep(max(0.0, config["start_at"] - time.time()))
    deadline = time.time() + config["duration"]
    try:
        while time.time() < deadline:
            try:
                gateway.get_item(ACCOUNT, config["item_id"])
                calls += 1
            except MarketplaceError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                break
    finally:
        client.close()
    return {"calls": calls, "errors": errors, "refreshes": gateway._oauth.refreshes}


def storm(config: dict[str, Any]) -> dict[str, Any]:
    tokens = FakeTokenStore()
    seed_tokens(tokens, config["tokens"])
    gateway, client = build_gateway(
        config["url"], tokens, _locks(config), per_second=config["rate"],
        storage_uri=config.get("redis_url"), limiter_key=config["limiter_key"],
        max_attempts=12, backoff_base=0.05, backoff_cap=1.0)
    errors: list[str] = []
    landed: list[str] = []
    acquired: list[float] = []
    limiter = gateway._limiter
    original = limiter.acquire

    def acquire(*args: Any, **kwargs: Any) -> str:
        grant = original(*args, **kwargs)
        acquired.append(time.time())
        return grant

    limiter.acquire = acquire  # type: ignore[method-assign]
    time.sleep(max(0.0, config["start_at"] - time.time()))

    def push(jobs: list[list[Any]]) -> None:
        for item_id, qty in jobs:
            try:
                after = gateway.update_item(ACCOUNT, ItemUpdate(item_id=item_id,
                                                                available_quantity=qty))
                landed.append(after.id)
            except MarketplaceError as exc:
                errors.append(f"{item_id}: {type(exc).__name__}: {exc}")

    jobs = config["jobs"]
    threads = [threading.Thread(target=push, args=(jobs[n::config["threads"]],))
               for n in range(config["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    return {"landed": landed, "errors": errors, "retries": gateway.retries,
            "acquired": acquired}


if __name__ == "__main__":
    settings = json.loads(sys.argv[1])
    result = {"race": race, "storm": storm}[settings["mode"]](settings)
    print(json.dumps(result))
