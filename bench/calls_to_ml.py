"""Calls to ML: 1,000 ERP stock changes over 100 items (30 with 3 variations) -> PUTs sent.

In-process jobs (no Redis), SQLite in a temporary directory, the bundled sandbox on a thread
(loopback only). Three runs of the same 1,000 changes, each on a fresh world:

* ``one call each``: 1,000 ``stock_changed`` hook calls, one change each, as fast as the ERP
  can make them, while the pushes they queue already run;
* ``batches of 50``: 20 calls of 50 changes each (``{"updates": [...]}``, a SKU changed twice
  in a batch sent once with its latest figure, since a batch's reports share one time);
* ``one call each`` again with ``push_delay_seconds`` set (``--push-delay``, 2 s): every
  push the ERP causes waits out that window, and the changes arriving in it join it.

Figures: PUTs sent, distinct items changed, PUTs per distinct item (target <= 1.05) and PUTs
against the one-call-per-change baseline (1,000).

    .venv/bin/python bench/calls_to_ml.py [--rate 50] [--seed 8] [--push-delay 2]
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import APP_ID, catalog, machine, prepare
from cryptography.fernet import Fernet

from adapters.inprocess_queue import InProcessTaskQueue
from config.bootstrap import Connector
from config.settings import Settings
from ml_sandbox import SandboxState
from ml_sandbox.server import start_sandbox

CHANGES = 1000
ITEMS = 100
WITH_VARIATIONS = 30


def run(mode: str, changes: list[tuple[str, int]], rate: float,
        push_delay: float = 0.0) -> dict[str, float]:
    seed, listings = catalog(ITEMS, WITH_VARIATIONS)
    item_of = {sku: item for sku, item, _ in listings}
    state = SandboxState()
    state.seed(seed)
    with tempfile.TemporaryDirectory() as tmp, start_sandbox(state) as sandbox:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                            ml_api_url=sandbox.url, ml_sandbox=True, ml_client_id="123",
                            ml_client_secret="shh",
                            secret_key=Fernet.generate_key().decode(),
                            rate_limit_per_second=rate, application_id=APP_ID,
                            push_delay_seconds=push_delay)
        connector = Connector(settings)
        try:
            prepare(connector, listings)
            # a first report for every SKU, so that the changes below are changes
            connector.bridge.stock_changed(updates=[{"sku": sku, "quantity": 5}
                                                    for sku, _, _ in listings])
            queue = connector.queue
            assert isinstance(queue, InProcessTaskQueue)
            settle(connector, queue, push_delay)
            since = time.time()
            started = time.monotonic()
            if mode == "one call each":
                for sku, quantity in changes:
                    connector.bridge.stock_changed(sku, quantity)
            else:
                for i in range(0, len(changes), 50):
                    # one report per SKU in a batch (they share a time): its latest figure
                    latest = dict(changes[i:i + 50])
                    connector.bridge.stock_changed(updates=[
                        {"sku": sku, "quantity": q} for sku, q in latest.items()])
            reported = time.monotonic() - started
            settle(connector, queue, push_delay)
            elapsed = time.monotonic() - started
            calls = sandbox.calls(since)
            puts = [c for c in calls if c["method"] == "PUT"]
            final_ok = all(
                _published(sandbox.state.items[item], var) == quantity
                for (sku, quantity) in _last(changes).items()
                for s, item, var in listings if s == sku)
        finally:
            connector.close()
    return {"puts": len(puts), "calls": len(calls),
            "items": len({item_of[sku] for sku, _ in changes}), "seconds": elapsed,
            "report_seconds": reported, "final_ok": float(final_ok)}


def settle(connector: Connector, queue: InProcessTaskQueue, push_delay: float) -> None:
    """Wait until every push, held back ones included, has run."""
    time.sleep(push_delay)
    connector.jobs.dispatch()
    queue.join()
    while True:  # a push held back may still be due a moment later
        with connector.uow as uow:
            if uow.jobs.next_due() is None and not uow.jobs.waiting(1):
                return
        time.sleep(0.05)
        connector.jobs.dispatch()
        queue.join()


def _last(changes: list[tuple[str, int]]) -> dict[str, int]:
    return dict(changes)


def _published(item: dict[str, Any], variation_id: int | None) -> int:
    if variation_id is None:
        return int(item["available_quantity"])
    for var in item["variations"]:
        if var["id"] == variation_id:
            return int(var["available_quantity"])
    raise KeyError(variation_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0,
                        help="rate_limit_per_second of the connector (50)")
    parser.add_argument("--seed", type=int, default=8, help="random seed (8)")
    parser.add_argument("--push-delay", type=float, default=2.0,
                        help="push_delay_seconds of the third run (2)")
    args = parser.parse_args()
    _, listings = catalog(ITEMS, WITH_VARIATIONS)
    rnd = random.Random(args.seed)
    skus = [sku for sku, _, _ in listings]
    changes = [(rnd.choice(skus), rnd.randint(0, 40)) for _ in range(CHANGES)]
    print(f"machine: {machine()}")
    print(f"{CHANGES} stock changes over {ITEMS} items ({WITH_VARIATIONS} with 3 variations, "
          f"{len(skus)} SKUs); in-process jobs, SQLite, rate limit {args.rate:g}/s")
    ok = True
    for mode, delay in (("one call each", 0.0), ("batches of 50", 0.0),
                        ("one call each", args.push_delay)):
        r = run(mode, changes, args.rate, delay)
        ratio = r["puts"] / r["items"]
        ok = ok and ratio <= 1.05 and bool(r["final_ok"])
        print(f"  {mode:14} (push_delay_seconds = {delay:g}): {r['puts']:.0f} PUTs "
              f"({r['calls']:.0f} ML calls) for "
              f"{r['items']:.0f} distinct items -> {ratio:.2f} PUTs per item (target <= 1.05); "
              f"{r['puts'] / CHANGES:.3f} of one call per change ({CHANGES}); "
              f"ERP calls took {r['report_seconds']:.1f} s, all pushed in {r['seconds']:.1f} s; "
              f"final quantities {'all right' if r['final_ok'] else 'WRONG'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
