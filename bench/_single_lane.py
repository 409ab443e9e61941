"""`meli-connector` as before lanes: every job on one RQ queue in order, and the rate limiter
blind to lanes. The baseline of ``bench/sales_first.py`` (its single-lane workers)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis
from rq import Queue

import config.bootstrap
from adapters import rq_queue
from adapters.ml_api import ratelimit
from config.cli import main
from connector_core.domain.lanes import LANES, Lane


def one_queue(name: str, connection: Redis) -> dict[Lane, Queue]:
    bulk = rq_queue.lane_queues(name, connection)[Lane.BULK]
    return dict.fromkeys(LANES, bulk)


config.bootstrap.lane_queues = one_queue  # type: ignore[assignment]
ratelimit.running_lane = lambda: Lane.BULK

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
