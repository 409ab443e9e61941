"""Two OS processes share one account whose access tokens expire every couple of seconds.

Refresh tokens are single use: a second refresh for the same expiry would either reuse the
rotated token (ML answers ``invalid_grant`` and the account is lost) or rotate twice. The
sandbox records every grant, so both failure modes are visible.
"""

import itertools
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ml_sandbox import RunningSandbox
from tests.integration.ml_api.conftest import collect, spawn_workers
from tests.ml_support import SELLER_ID, SqliteTokenStore, seed_tokens
from tests.services import redis_url

# The margin is what a process may lose between checking its token and the call reaching the
# sandbox; on a loaded machine that is easily a second, so it is half the lifetime.
TTL = 4.0
MARGIN = 2.0
DURATION = 8.0


def run_race(sandbox: RunningSandbox, tmp_path: Path, lock_config: dict[str, Any]) -> None:
    sandbox.state.token_ttl = int(TTL)
    issued = sandbox.state.seed({
        "sellers": [{"id": SELLER_ID}], "tokens": [{"user_id": SELLER_ID, "expires_in": TTL}],
        "items": [{"id": "MLA1", "seller_id": SELLER_ID, "available_quantity": 3}]})
    store = SqliteTokenStore(tmp_path / "tokens.db")
    seed_tokens(store, issued["tokens"][str(SELLER_ID)])
    start_at = time.time() + 1.5  # both processes imported and waiting
    base = {"mode": "race", "url": sandbox.url, "token_db": str(tmp_path / "tokens.db"),
            "margin": MARGIN, "duration": DURATION, "start_at": start_at, "item_id": "MLA1",
            **lock_config}
    results = collect(spawn_workers([base, base]))

    assert [r["errors"] for r in results] == [[], []]
    assert all(r["calls"] > 20 for r in results), results
    grants = [g for g in sandbox.state.grants if g["grant_type"] == "refresh_token"]
    assert [g for g in grants if not g["ok"]] == [], "a refresh token was reused"
    assert store.revoked("main") is None
    # exactly one refresh per expiry: grants are a token lifetime (minus the margin) apart
    times = [g["time"] for g in grants]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap > (TTL - MARGIN) * 0.6 for gap in gaps), gaps
    assert len(grants) >= int(DURATION / TTL), grants
    assert sum(r["refreshes"] for r in results) == len(grants)
    # refreshed ahead of expiry: no call ever went out with an expired token
    assert [c for c in sandbox.calls() if c["status"] == 401] == []


@pytest.mark.integration
@pytest.mark.slow
def test_refresh_race_with_file_locks(sandbox: RunningSandbox, tmp_path: Path) -> None:
    (tmp_path / "locks").mkdir()
    run_race(sandbox, tmp_path, {"lock_dir": str(tmp_path / "locks")})


@pytest.mark.integration
@pytest.mark.redis
@pytest.mark.slow
def test_refresh_race_with_redis_locks(sandbox: RunningSandbox, tmp_path: Path) -> None:
    run_race(sandbox, tmp_path, {"redis_url": redis_url(),
                                 "lock_prefix": f"test:{uuid.uuid4().hex}:"})
