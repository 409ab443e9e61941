"""Rate pacing: two processes share the limiter through Redis and call ML as fast as it lets them.

The limiter's own share of rate use (issue 21, item 2), without the pushes' database work:
a private redis-server, the sandbox on a thread of this process (loopback) answering 429 above
the limit in any second (``rate_cap``), and two OS processes, each with three threads calling
``GET /items/{id}`` through the connector's gateway (token, shared limiter, transport) for
``--seconds``. Figures: requests per second against the configured limit (target >= 97%),
the most requests the sandbox saw in any one second (sliding, must be <= the limit) and 429s
(must be 0). ``bench/rate_use.py`` measures the same with real pushes and RQ workers.

    .venv/bin/python bench/rate_pacing.py [--rate 10] [--seconds 30]
"""

import argparse
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis
from _world import PrivateRedis, machine, max_in_window

from adapters.redis_locks import RedisLocks
from ml_sandbox.server import start_sandbox
from tests.fakes import FakeTokenStore
from tests.ml_support import ACCOUNT, SELLER_ID, build_gateway, seed_tokens

PROCESSES, THREADS = 2, 3


def child(config: dict[str, Any]) -> None:
    """One process: THREADS threads calling ML until the deadline; prints its call count."""
    tokens = FakeTokenStore()
    seed_tokens(tokens, config["token"])
    gateway, client = build_gateway(
        config["url"], tokens, RedisLocks(redis.Redis.from_url(config["redis"])),
        per_second=config["rate"], storage_uri=config["redis"], limiter_key=config["key"])
    calls = [0] * THREADS
    time.sleep(max(0.0, config["start_at"] - time.time()))

    def loop(n: int) -> None:
        while time.time() < config["stop_at"]:
            gateway.get_item(ACCOUNT, "MLA1")
            calls[n] += 1

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    print(json.dumps({"calls": sum(calls)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0
    print(f"machine: {machine()}")
    print(f"{PROCESSES} processes x {THREADS} threads, limit {args.rate:g} requests/s, "
          f"{args.seconds:g} s, private Redis, the sandbox capped at the limit")
    with PrivateRedis() as redis_server, start_sandbox() as sandbox:
        issued = sandbox.state.seed({
            "sellers": [{"id": SELLER_ID}], "tokens": [{"user_id": SELLER_ID}],
            "items": [{"id": "MLA1", "seller_id": SELLER_ID, "available_quantity": 1}]})
        sandbox.faults.configure({"rate_cap": int(args.rate)})
        start = time.time() + 8  # the children import the connector meanwhile
        config = {"url": sandbox.url, "redis": redis_server.url, "rate": args.rate,
                  "key": f"bench-pacing:{uuid.uuid4().hex}", "start_at": start,
                  "stop_at": start + args.seconds,
                  "token": issued["tokens"][str(SELLER_ID)]}
        children = [subprocess.Popen([sys.executable, __file__, "--child", json.dumps(config)],
                                     stdout=subprocess.PIPE, text=True)
                    for _ in range(PROCESSES)]
        outputs = [c.communicate(timeout=args.seconds + 60)[0] for c in children]
        calls = [c for c in sandbox.calls(start - 1) if c["path"].startswith("/items/")]
    made = sum(json.loads(out.strip().splitlines()[-1])["calls"] for out in outputs)
    times = sorted(float(c["time"]) for c in calls)
    throttled = sum(1 for c in calls if c["status"] == 429)
    span = times[-1] - times[0]
    achieved = (len(times) - 1) / span
    sliding = max_in_window(times)
    print(f"  {len(calls)} requests ({made} answered to the callers, {throttled} answered 429) "
          f"in {span:.1f} s")
    print(f"  achieved {achieved:.2f} requests/s = {achieved / args.rate:.1%} of the limit "
          f"(target >= 97%)")
    print(f"  most in any one second (sliding): {sliding} (limit {args.rate:g}: must be <=)")
    return 0 if achieved / args.rate >= 0.97 and sliding <= args.rate and not throttled else 1


if __name__ == "__main__":
    sys.exit(main())
