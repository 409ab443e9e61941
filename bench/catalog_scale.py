"""Catalog scale (issue 21): a full resync, a 1 % resync, `mappings verify` and `mappings
discover` at 1,000 and 10,000 listings; calls against the bound, time against calls / rate,
peak memory of every process, seconds over the rate.

Each size: a private redis-server, a fresh PostgreSQL database (``TEST_DATABASE_URL``, default
the local server; dropped afterwards), the sandbox on a thread of this process capped at the
rate (it answers 429 above it). The catalog: N items of one seller, every fifth with three
variations, one in ten a kit (2 x the next item's SKU + 1 x the one after). Scenarios:

  (a) the ERP reports a new figure for every SKU, ``meli-connector sync stock --all`` queues a
      push per item, ``--workers`` ``meli-connector worker`` processes start and run them;
  (b) the same when 1 % of the items change (one simple item in a hundred);
  (c) ``meli-connector mappings verify`` and ``mappings discover main -o FILE``.

C (items that change) is counted on the sandbox: items whose quantities differ before and
after. Bounds: a push ``ceil(N/20) + C`` (multiget reads, a PUT per change; issue 21); verify
``ceil(N/20)``; discover ``ceil(N/20) + ceil(N/100)`` (multigets and scan pages of 100).
Workers start fresh for each push scenario, so each one's peak RSS (``wait4``) is its own.

    .venv/bin/python bench/catalog_scale.py [--listings 1000 10000] [--rate 50] [--workers 2]
                                            [--scenarios abc]
"""

import argparse
import collections
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import (
    PEAK,
    SELLER,
    PrivateRedis,
    cap_sandbox,
    connector_env,
    machine,
    ml_calls,
    over_the_rate,
    prepare,
    run_cli,
    seed_for,
    start_workers,
    stop_workers,
    wait_workers,
)
from sqlalchemy import func, select

from adapters.sql.rows.jobs import JobRow
from config.bootstrap import Connector
from config.settings import Settings
from connector_core.domain.mapping import Kit
from ml_sandbox import SandboxState
from ml_sandbox.server import start_sandbox
from tests.services import fresh_postgres_database

Rows = list[tuple[str, str, int | None]]


def scale_world(n: int) -> tuple[dict[str, Any], Rows, list[Kit]]:
    items: list[dict[str, Any]] = []
    rows: Rows = []
    kits: list[Kit] = []
    for k in range(1, n + 1):
        item = {"id": f"MLA{k:07d}", "seller_id": SELLER, "price": 1000,
                "title": f"Producto {k}"}
        if k % 5 == 0:
            item["variations"] = [{"id": k * 10 + v, "available_quantity": 1,
                                   "seller_sku": f"V-{k}-{v}"} for v in (1, 2, 3)]
            rows += [(f"V-{k}-{v}", item["id"], k * 10 + v) for v in (1, 2, 3)]
        else:
            sku = f"KIT-{k}" if k % 10 == 1 and k + 2 <= n else f"S-{k}"
            if sku.startswith("KIT"):
                kits.append(Kit(sku, {f"S-{k + 1}": 2, f"S-{k + 2}": 1}))
            item.update(available_quantity=1, seller_sku=sku)
            rows.append((sku, item["id"], None))
        items.append(item)
    return seed_for(items), rows, kits


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def published(state: SandboxState) -> dict[str, tuple[int, ...]]:
    with state.lock:
        return {i["id"]: (tuple(v["available_quantity"] for v in i["variations"])
                          or (i["available_quantity"],)) for i in state.items.values()}


def expected(rows: Rows, kits: list[Kit], figures: dict[str, int]) -> dict[str, tuple[int, ...]]:
    kit_of = {kit.sku: kit for kit in kits}
    out: dict[str, list[int]] = collections.defaultdict(list)
    for sku, item, _ in rows:  # rows are in variation order
        kit = kit_of.get(sku)
        out[item].append(figures[sku] if kit is None else
                         min(figures[c] // units for c, units in kit.components.items()))
    return {item: tuple(q) for item, q in out.items()}


def report_stock(connector: Connector, figures: dict[str, int]) -> None:
    updates = [{"sku": sku, "quantity": q} for sku, q in figures.items()]
    for start in range(0, len(updates), 5000):
        connector.bridge.stock_changed(updates=updates[start:start + 5000])


def kinds(calls: list[dict[str, Any]]) -> str:
    """The calls by kind, e.g. ``GET /items?ids 500, PUT /items 120``."""
    def kind(c: dict[str, Any]) -> str:
        path = "/" + c["path"].strip("/").split("/")[0]
        multi = "?ids" if path == "/items" and c["path"].rstrip("/") == "/items" else ""
        return f"{c['method']} {path}{multi}"
    return ", ".join(f"{k} {n}" for k, n in collections.Counter(map(kind, calls)).most_common())


def figures_of(name: str, calls: list[dict[str, Any]], bound: int, rate: float, *,
               wall: float, rss: dict[str, tuple[int, float]], extra: str = "",
               own_cpu: float = 0.0) -> dict[str, Any]:
    times = sorted(float(c["time"]) for c in calls)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    sliding, over = over_the_rate(calls, rate)
    return {"name": name, "calls": len(calls), "bound": bound, "span": span, "wall": wall,
            "ideal": len(calls) / rate, "use": (len(calls) - 1) / span / rate if span else 0.0,
            "throttled": sum(1 for c in calls if c["status"] == 429), "sliding": sliding,
            "over": over, "rss": rss, "kinds": kinds(calls), "extra": extra,
            "own_cpu": own_cpu}


def push_scenario(name: str, world: dict[str, Any], figures: dict[str, int],
                  args: argparse.Namespace) -> dict[str, Any]:
    """The ERP reports ``figures``; `sync stock --all`; workers run every push."""
    connector, sandbox, env = world["connector"], world["sandbox"], world["env"]
    before = published(sandbox.state)
    report_stock(connector, figures)
    cpu = cpu_seconds()
    code, out, err, cli_rss = run_cli("config.cli", ["sync", "stock", "--all", "--json"], env)
    if code:
        raise SystemExit(f"sync failed ({code}): {err.strip()}")
    pushed = int(json.loads(out)["items"])
    since, started = time.time(), time.monotonic()
    workers = start_workers([*PEAK, "config.cli"], env, world["logs"], name[0], args.workers)
    try:
        wait_workers(world["redis"], args.workers)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            with connector.uow as uow:
                if not uow.session.scalar(select(func.count()).select_from(JobRow)):
                    break
            time.sleep(0.5)
        else:
            print(f"  {name}: timed out with jobs left")
        wall = time.monotonic() - started
    finally:
        worker_rss = stop_workers(workers)
    after = published(sandbox.state)
    changed = sum(1 for item, q in after.items() if before[item] != q)
    wrong = sum(1 for item, q in expected(world["rows"], world["kits"], figures).items()
                if after[item] != q)
    rss = {"sync CLI": cli_rss, **{f"worker {n + 1}": r for n, r in enumerate(worker_rss)}}
    return figures_of(name, ml_calls(sandbox, since), math.ceil(pushed / 20) + changed,
                      args.rate, wall=wall, rss=rss, own_cpu=cpu_seconds() - cpu,
                      extra=f"N={pushed} pushed, C={changed} changed, {wrong} items not at the "
                      f"ERP's figure")


def cli_scenario(name: str, argv: list[str], bound: int, world: dict[str, Any],
                 args: argparse.Namespace) -> dict[str, Any]:
    since, started, cpu = time.time(), time.monotonic(), cpu_seconds()
    code, out, err, rss = run_cli("config.cli", argv, world["env"])
    wall = time.monotonic() - started
    if code:
        raise SystemExit(f"{name} failed ({code}): {err.strip()[-500:]}")
    return figures_of(name, ml_calls(world["sandbox"], since), bound, args.rate, wall=wall,
                      rss={f"{argv[1]} CLI": rss}, own_cpu=cpu_seconds() - cpu, extra=next(
                          (line for line in reversed((out + err).splitlines())
                           if " INFO " not in line), ""))


def run_size(n: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    pg = os.environ.get("TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    seed, rows, kits = scale_world(n)
    state = SandboxState()
    state.seed(seed)
    skus = [sku for sku, _, _ in rows if not sku.startswith("KIT")]
    every = {sku: 10 + i % 7 for i, sku in enumerate(skus)}
    one_in_100 = {**every, **{f"S-{k}": every[f"S-{k}"] + 5 for k in range(7, n + 1, 100)}}
    with (tempfile.TemporaryDirectory() as tmp, PrivateRedis() as redis_server,
          fresh_postgres_database(pg) as db_url, start_sandbox(state) as sandbox):
        cap_sandbox(sandbox.url, args.rate)
        env = connector_env(Path(tmp), redis_url=redis_server.url, database_url=db_url,
                            ml_url=sandbox.url, rate=args.rate, queue="bench-scale")
        connector = Connector(Settings.load(env))
        logs = Path(args.logs or tmp)
        logs.mkdir(parents=True, exist_ok=True)
        world = {"connector": connector, "sandbox": sandbox, "env": env, "rows": rows,
                 "kits": kits, "redis": redis_server.url, "logs": logs}
        try:
            prepare(connector, rows, kits)
            results = []
            if "a" in args.scenarios:
                results.append(push_scenario("a: every figure changes", world, every, args))
            if "b" in args.scenarios:
                results.append(push_scenario("b: 1% change", world, one_in_100, args))
            if "c" in args.scenarios:
                results += [cli_scenario("c: mappings verify", ["mappings", "verify"],
                                         math.ceil(n / 20), world, args),
                            cli_scenario("c: mappings discover",
                                         ["mappings", "discover", "main", "-o",
                                          str(Path(tmp) / "found.csv")],
                                         math.ceil(n / 20) + math.ceil(n / 100), world, args)]
        finally:
            connector.close()
    return results


def show(n: int, results: list[dict[str, Any]]) -> bool:
    print(f"\n### {n:,} items ({len(scale_world(n)[1]):,} mapping rows)\n")
    print("| scenario | ML calls | bound | calls / bound | ML time s | calls / rate s | "
          "rate use | wall s | 429s | most in a second | seconds over | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        rss = ", ".join(f"{p} {kib / 1024:.0f}" for p, (kib, _) in r["rss"].items())
        print(f"| {r['name']} | {r['calls']:,} | {r['bound']:,} | {r['calls'] / r['bound']:.2f} "
              f"| {r['span']:.1f} | {r['ideal']:.1f} | {r['use']:.1%} | {r['wall']:.1f} "
              f"| {r['throttled']} | {r['sliding']} | {r['over']} | {rss} |")
    ok = True
    for r in results:
        cpu = ", ".join(f"{p} {s:.0f}" for p, (_, s) in r["rss"].items())
        print(f"- {r['name']}: {r['kinds']}; {r['extra']}")
        print(f"  CPU s: {cpu}; this process (the sandbox) {r['own_cpu']:.0f}")
        calls_ok = r["calls"] <= 1.1 * r["bound"]
        resync = r["name"].startswith(("a", "b"))  # the workers; a CLI reads one call at a time
        use_ok = r["use"] >= 0.97 or not resync
        use = (f"rate use >= 97%: {r['use']:.1%} {'met' if use_ok else 'NOT met'}" if resync
               else "rate use: no target (one command, one call at a time)")
        print(f"  target calls <= 1.1 x bound: {r['calls']:,} <= {1.1 * r['bound']:,.0f} "
              f"{'met' if calls_ok else 'NOT met'}; {use}; seconds over the rate: {r['over']} "
              f"{'met' if r['over'] == 0 else 'NOT met'}")
        ok = ok and calls_ok and use_ok and r["over"] == 0 and not r["throttled"]
    return ok


def growth(sizes: list[int], runs: dict[int, list[dict[str, Any]]]) -> bool:
    small, large = min(sizes), max(sizes)
    print(f"\n### Growth {small:,} -> {large:,} items (peak RSS within 20 %; calls per item)\n")
    ok = True
    for a, b in zip(runs[small], runs[large], strict=True):
        parts = []
        for process, (kib, _) in b["rss"].items():
            ratio = kib / max(1, a["rss"][process][0])
            ok = ok and ratio <= 1.2
            parts.append(f"{process} {a['rss'][process][0] / 1024:.0f} -> {kib / 1024:.0f} MiB "
                         f"(x{ratio:.2f})")
        print(f"- {a['name']}: calls per item {a['calls'] / small:.3f} -> "
              f"{b['calls'] / large:.3f}; {'; '.join(parts)}")
    print(f"  target peak memory flat within 20 %: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenarios", default="abc", help="which of a, b, c to run (abc)")
    parser.add_argument("--logs", help="keep the workers' logs in this directory")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="give up a push scenario after this many seconds")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.workers} RQ workers, limit {args.rate:g} requests/s (sandbox capped there), "
          f"PostgreSQL (fresh database), private Redis")
    runs: dict[int, list[dict[str, Any]]] = {}
    ok = True
    for n in args.listings:
        started = time.monotonic()
        runs[n] = run_size(n, args)
        ok = show(n, runs[n]) and ok
        print(f"({n:,} items: the run took {time.monotonic() - started:.0f} s)")
    if len(runs) > 1:
        ok = growth(args.listings, runs) and ok
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
