"""Several worker processes on the same SKU at once (CONTRACT §1 rule 3).

Four real processes run the core use cases (``erp_stock_changed``, ``erp_price_changed``,
``order_seen``, ``order_accounted``) through the SQL unit of work: stock reports out of order,
ERP cost and list-price updates, holds for different orders, every order state delivered three
times from different processes, "accounted" calls twice. The final state must equal what the
same operations give when run one after the other on the in-memory fake: no lost update, no
double hold, no oversell.
"""

import multiprocessing
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from adapters.sql.admin import apply_admin_tables
from adapters.sql.engine import is_transient, make_engine, make_session_factory
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from connector_core.domain.accounts import Account
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.orders import Order, OrderLine
from connector_core.domain.prices import ErpPrice
from connector_core.domain.stock import StockReport, StockView
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.order_accounted import order_accounted
from connector_core.services.order_seen import order_seen
from connector_core.services.prices_changed import erp_price_changed
from connector_core.services.stock_changed import erp_stock_changed
from tests.fakes import FakeUnitOfWork

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WORKERS = 4
ACCOUNT = Account(name="main", user_id=111, site_id="MLA")
ROWS = [MappingRow("S", Listing("main", "MLA1")),
        MappingRow("S", Listing("main", "MLA2", 501), safety_stock=3),
        MappingRow("T", Listing("main", "MLA3")),
        MappingRow("K", Listing("main", "MLA4"))]
KITS = [Kit("K", {"S": 2, "T": 1})]
LINES = {"MLA1": ("MLA1", None), "MLA2": ("MLA2", 501), "MLA3": ("MLA3", None),
         "MLA4": ("MLA4", None)}
Op = tuple[Any, ...]


def operations(seed: int = 7) -> tuple[list[Op], list[Op]]:
    """Phase 1 (reports, paid orders x3, accounted x2), phase 2 (cancellations x2, and
    cost and list-price updates of one SKU)."""
    rnd = random.Random(seed)
    phase1: list[Op] = []
    for i in range(30):
        sku, wh = rnd.choice([("S", "w1"), ("S", "w2"), ("T", "w1")])
        phase1.append(("stock", sku, wh, rnd.randint(0, 80), i))
    for order_id in range(1, 31):
        item = rnd.choice(list(LINES))
        qty = rnd.randint(1, 3)
        phase1 += [("order", order_id, "paid", 0, item, qty)] * 3
        if order_id % 2 == 0:  # half accounted: before or after the last report
            phase1 += [("accounted", order_id, rnd.choice([10, 100]))] * 2
    phase2: list[Op] = []
    for order_id in range(1, 31, 3):
        original = next(op for op in phase1 if op[0] == "order" and op[1] == order_id)
        phase2 += [("order", order_id, "cancelled", 5, original[4], original[5])] * 2
    for i in range(60):  # cost and list price move independently (newest of each wins)
        phase2.append(("price", "S", "cost" if i % 2 else "list", rnd.randint(100, 999), i))
    rnd.shuffle(phase1)
    rnd.shuffle(phase2)
    return phase1, phase2


def run_op(op: Op, uow: UnitOfWork) -> None:
    kind = op[0]
    if kind == "stock":
        _, sku, wh, qty, second = op
        erp_stock_changed([StockReport(sku, wh, qty, T0 + timedelta(seconds=second))], uow=uow)
    elif kind == "order":
        _, order_id, status, minutes, item, qty = op
        item_id, variation = LINES[item]
        order_seen(Order(id=order_id, account="main", status=status,
                         last_updated=T0 + timedelta(minutes=minutes),
                         lines=[OrderLine(item_id, variation, None, qty, Decimal("10"))]),
                   uow=uow)
    elif kind == "price":
        _, sku, field, amount, second = op
        stamp = T0 + timedelta(seconds=second)
        price = (ErpPrice(sku=sku, cost=Decimal(amount), cost_as_of=stamp) if field == "cost"
                 else ErpPrice(sku=sku, list_price=Decimal(amount), list_price_as_of=stamp))
        erp_price_changed([price], uow=uow)
    else:
        _, order_id, second = op
        order_accounted(order_id, T0 + timedelta(seconds=second), uow=uow)


def worker(url: str, phases: list[list[Op]], barrier: Any, retries: Any) -> None:
    engine = make_engine(url)
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    for ops in phases:
        barrier.wait(60)
        for op in ops:
            for attempt in range(20):
                try:
                    run_op(op, uow)
                    break
                except Exception as exc:
                    if not is_transient(exc) or attempt == 19:
                        raise
                    with retries.get_lock():
                        retries.value += 1
                    time.sleep(0.01 * (attempt + 1))
    engine.dispose()


def state(uow: UnitOfWork) -> dict[str, Any]:
    """Everything rule 3 depends on, as comparable values."""
    skus = ["S", "T", "K"]
    with uow:
        reports = uow.stock.reports_for(skus)
        kits = uow.mappings.kits()
        view = StockView(reports, uow.stock.holds_for_skus(skus), kits)
        holds = sorted((h.key, h.units, h.accounted_at) for h in uow.stock.holds_for_skus(skus)
                       if h.counts(view.latest_report_at(h.sku)))
        orders = {}
        for order_id in range(1, 31):
            record = uow.orders.get(order_id)
            assert record is not None and record.order is not None
            orders[order_id] = (record.order.status, record.order.last_updated,
                                record.accounted_at, sorted(record.emitted))
        events = uow.erp_feed.read(0, 10_000)
        rows = uow.mappings.rows_for_skus(skus)
        return {
            "reports": sorted(reports, key=lambda r: (r.sku, r.warehouse)),
            "counting_holds": holds,
            "orders": orders,
            "events": Counter((e.order_id, e.type) for e in events),
            "free": {sku: view.free(sku) for sku in skus},
            "published": {str(r.listing): view.published(r) for r in rows},
            "prices": uow.prices.erp_prices(skus),
        }


def test_four_processes_end_where_one_would(engine: Engine, db_url: str) -> None:
    phase1, phase2 = operations()
    table = MappingTable(ROWS, KITS)

    expected_uow = FakeUnitOfWork()
    expected_uow.store.accounts["main"] = ACCOUNT
    expected_uow.store.table = table
    for op in [*phase1, *phase2]:
        run_op(op, expected_uow)
    expected = state(expected_uow)

    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    with uow:
        apply_admin_tables(uow.session, table, accounts=[ACCOUNT])
        uow.commit()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    retries = ctx.Value("i", 0)
    shares = [[phase1[i::WORKERS], phase2[i::WORKERS]] for i in range(WORKERS)]
    procs = [ctx.Process(target=worker, args=(db_url, share, barrier, retries))
             for share in shares]
    try:
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(180)
    finally:
        for proc in procs:  # stopped and reaped, also when one hangs or the test fails
            if proc.is_alive():
                proc.kill()
                proc.join(10)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    print(f"transient failures retried: {retries.value}")

    actual = state(uow)
    assert actual["reports"] == expected["reports"]            # the newest report won
    assert actual["orders"] == expected["orders"]              # newest state, first accounted
    assert actual["counting_holds"] == expected["counting_holds"]  # held once, not twice
    assert actual["events"] == expected["events"]              # each (order, type) once
    assert set(actual["events"].values()) == {1}
    assert actual["free"] == expected["free"]
    assert actual["published"] == expected["published"]
    assert actual["prices"] == expected["prices"]              # no field lost to a race
    assert expected["free"]["S"] is not None and len(expected["counting_holds"]) > 3

    with uow:
        events = uow.erp_feed.read(0, 10_000)
        cursors = [e.id for e in events if e.id is not None]
        assert len(cursors) == len(events) and cursors == sorted(set(cursors))
        waiting = [j.dedup_key for j in uow.jobs.waiting()]
    assert len(waiting) == len(set(waiting))  # pushes coalesced: one waiting job per item
