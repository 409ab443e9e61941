"""A 429 storm: many updates through a rate-limited gateway while ML throws 429s and 5xx.

Every update must land, and the sandbox (which counts arrivals) must never have seen more
than the configured rate in any 1-second window, all processes together.
"""

import time
import uuid
from typing import Any

import pytest

from ml_sandbox import RunningSandbox
from tests.integration.ml_api.conftest import collect, spawn_workers
from tests.ml_support import SELLER_ID
from tests.services import redis_url

RATE = 8
UPDATES = 32


# A request granted at t may be stamped (by the worker, or on arrival at the sandbox) a little
# later when the machine is busy, which bunches stamps that the limiter had spread out. Counting
# in a window shorter by that jitter keeps the check strict about the limiter, not the scheduler.
STAMP_JITTER = 0.15


def max_in_any_second(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_max_in_any_second() -> None:
    assert max_in_any_second([0.0, 0.5, 0.99, 1.0, 1.2]) == 4
    assert max_in_any_second([0.0, 1.0, 2.0]) == 1
    assert max_in_any_second([]) == 0


def run_storm(sandbox: RunningSandbox, processes: int, extra: dict[str, Any]) -> None:
    issued = sandbox.state.seed({
        "sellers": [{"id": SELLER_ID}], "tokens": [{"user_id": SELLER_ID}],
        "items": [{"id": f"MLA{n}", "seller_id": SELLER_ID, "available_quantity": 100}
                  for n in range(UPDATES)]})
    sandbox.faults.configure({"rate_429": 0.3, "rate_5xx": 0.05, "seed": 7,
                              "rate_cap": RATE})
    jobs: list[tuple[str, int]] = [(f"MLA{n}", n + 1) for n in range(UPDATES)]
    start = time.time()
    configs = [{"mode": "storm", "url": sandbox.url, "tokens": issued["tokens"][str(SELLER_ID)],
                "rate": RATE, "threads": 3, "jobs": jobs[p::processes],
                "start_at": start + 1.5, **extra} for p in range(processes)]
    results = collect(spawn_workers(configs), timeout=120)

    assert [r["errors"] for r in results] == [[]] * processes
    assert sorted(i for r in results for i in r["landed"]) == sorted(j[0] for j in jobs)
    for item_id, qty in jobs:  # every update landed with its value
        assert sandbox.state.items[item_id]["available_quantity"] == qty
    calls = [c for c in sandbox.calls() if c["path"].startswith("/items/")]
    statuses = [c["status"] for c in calls]
    assert statuses.count(429) >= 3, "the storm did not happen"
    assert sum(r["retries"] for r in results) == len(calls) - UPDATES
    window = 1.0 - STAMP_JITTER
    assert max_in_any_second([c["time"] for c in calls], window) <= RATE
    assert max_in_any_second([t for r in results for t in r["acquired"]], window) <= RATE


@pytest.mark.integration
@pytest.mark.slow
def test_storm_one_process_in_memory_limiter(sandbox: RunningSandbox) -> None:
    run_storm(sandbox, 1, {"lock_dir": "/tmp", "limiter_key": "storm"})


@pytest.mark.integration
@pytest.mark.redis
@pytest.mark.slow
def test_storm_two_processes_share_the_redis_limiter(sandbox: RunningSandbox) -> None:
    run_storm(sandbox, 2, {"redis_url": redis_url(), "lock_prefix": f"t:{uuid.uuid4().hex}:",
                           "limiter_key": f"test-storm:{uuid.uuid4().hex}"})
