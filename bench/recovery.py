"""How long a killed worker's orders take to be processed: the chaos scenario of
``tests/e2e/test_chaos.py`` (real worker processes, PostgreSQL, a private Redis; ML slow on
``GET /orders/{id}``; every worker SIGKILLed while an order read is in flight, three times,
then Redis killed and restarted empty), run ``--runs`` times with the default job lease.

The figure: the slowest order, from the last fault to its ``order.paid`` in the ERP feed
(target <= 60 s). Baseline from the same run: ``job_lease_seconds`` itself.

    .venv/bin/python bench/recovery.py [--runs 3] [--orders 40]
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import machine

from config.settings import Settings
from tests.e2e.chaos import run_chaos
from tests.e2e.conftest import PrivateRedis


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orders", type=int, default=40)
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server is not on PATH", file=sys.stderr)
        return 2
    print(machine())
    lease = Settings().job_lease_seconds
    print(f"{args.orders} orders, 2 worker processes, GET /orders/{{id}} answers after 1.2 s, "
          f"job_lease_seconds = {lease:g} (the default), job_timeout_seconds = 600")
    slowest = []
    for run in range(1, args.runs + 1):
        redis = PrivateRedis(binary)
        redis.start()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                report = run_chaos(Path(tmp), redis, orders=args.orders)
        finally:
            redis.stop()
        slowest.append(report.slowest_recovery_s)
        print(f"  run {run}: {report.line()}"
              + ("" if report.paid_once == report.orders else "  (NOT ALL PAID ONCE)"))
    print(f"slowest recovery after the last fault: max {max(slowest):.1f} s over "
          f"{len(slowest)} runs (target <= 60 s; the lease alone is {lease:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
