"""Rate use: two RQ workers share a configured limit of 10 ML requests/s; 500 pushes.

A private redis-server, a fresh PostgreSQL database (``TEST_DATABASE_URL``, default the local
server; dropped afterwards), the sandbox on a thread of this process (loopback), two
``meli-connector worker`` processes. One ERP report changes 500 items (one listing each), so
500 push jobs go to RQ; the pushes waiting together read their items with one multiget per 20
and each PUTs its item (issue 21: about 500/20 + 500 requests; before, a GET and a PUT each).

Figures: ML requests per second over the run against the configured limit (target >= 97%),
the most requests the sandbox saw in any one second, sliding and by calendar second (must be
<= the limit), 429s (the sandbox is set to answer 429 above the limit), the requests made
against the fewest possible (``ceil(N/20) + C`` and the token refresh; target <= 1.1 x), and
the CPU the two workers used (when they are busy most of the run, the machine, not the
limiter, sets the pace).

    .venv/bin/python bench/rate_use.py [--pushes 500] [--rate 10] [--workers 2]
"""

import argparse
import collections
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import (
    PrivateRedis,
    cap_sandbox,
    catalog,
    connector_env,
    machine,
    max_in_window,
    ml_calls,
    prepare,
    start_workers,
    stop_workers,
    wait_workers,
)
from sqlalchemy import func, select

from adapters.sql.rows.jobs import JobRow
from config.bootstrap import Connector
from config.settings import Settings
from ml_sandbox import SandboxState
from ml_sandbox.server import start_sandbox
from tests.services import fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent


def report(calls: list[dict[str, Any]], rate: float, done: int, total: int,
           worker_cpu: float) -> bool:
    """Print the figures; True when the targets hold."""
    times = sorted(float(c["time"]) for c in calls)
    throttled = sum(1 for c in calls if c["status"] == 429)
    served = [t for c, t in zip(sorted(calls, key=lambda c: c["time"]), times, strict=True)
              if c["status"] != 429]
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    achieved = (len(served) - 1) / span if span else float("nan")
    per_second = collections.Counter(int(t) for t in times)
    sliding = max_in_window(times)
    print(f"  {len(calls)} ML requests ({throttled} answered 429) in {span:.1f} s; "
          f"{done}/{total} items at their new quantity")
    print(f"  achieved {achieved:.2f} requests/s = {achieved / rate:.1%} of the limit "
          f"(target >= 97%)")
    print(f"  most in any one second: {sliding} sliding, {max(per_second.values())} by calendar "
          f"second (limit {rate:g}: must be <=)")
    bound = math.ceil(total / 20) + total + 1  # every item changes; one token refresh
    print(f"  {len(calls)} requests against the fewest possible {bound} (ceil({total}/20) "
          f"reads + {total} PUTs + the token refresh): {len(calls) / bound:.2f} x "
          f"(target <= 1.1)")
    print(f"  the two workers used {worker_cpu:.1f} CPU seconds in {span:.1f} s "
          f"({worker_cpu / span / 2:.0%} of a core each)")
    return (achieved / rate >= 0.97 and sliding <= rate and not throttled
            and done == total and len(calls) <= 1.1 * bound)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after (300 s)")
    args = parser.parse_args()
    pg = os.environ.get("TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    seed, listings = catalog(args.pushes, 0)
    state = SandboxState()
    state.seed(seed)
    print(f"machine: {machine()}")
    print(f"{args.pushes} pushes, {args.workers} RQ worker processes, limit {args.rate:g} "
          f"requests/s, PostgreSQL (fresh database), private Redis")
    workers: list[subprocess.Popen[bytes]] = []
    with (tempfile.TemporaryDirectory() as tmp, PrivateRedis() as redis_server,
          fresh_postgres_database(pg) as db_url, start_sandbox(state) as sandbox):
        cap_sandbox(sandbox.url, args.rate)
        env = connector_env(Path(tmp), redis_url=redis_server.url, database_url=db_url,
                            ml_url=sandbox.url, rate=args.rate, queue="bench-rate")
        connector = Connector(Settings.load(env))
        try:
            prepare(connector, listings)
            workers = start_workers([sys.executable, "-m", "config.cli"], env, Path(tmp),
                                    "rate", args.workers)
            wait_workers(redis_server.url, args.workers)
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            since = time.time()
            connector.bridge.stock_changed(updates=[{"sku": sku, "quantity": 7}
                                                    for sku, _, _ in listings])
            connector.jobs.dispatch()
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                with connector.uow as uow:
                    waiting = uow.session.scalar(select(func.count()).select_from(JobRow))
                if not waiting:
                    break
                time.sleep(0.5)
            else:
                print(f"timed out with {waiting} jobs left")
        finally:
            stop_workers(workers)
            connector.close()
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = ((cpu_after.ru_utime + cpu_after.ru_stime)
                      - (cpu_before.ru_utime + cpu_before.ru_stime))
        calls = ml_calls(sandbox, since)
        done = sum(1 for _, item, _ in listings
                   if sandbox.state.items[item]["available_quantity"] == 7)
    return 0 if report(calls, args.rate, done, len(listings), worker_cpu) else 1


if __name__ == "__main__":
    sys.exit(main())
