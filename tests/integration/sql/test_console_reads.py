"""The console's reads and counters on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from adapters.sql.admin import apply_admin_tables
from adapters.sql.call_counts import SqlCallCounter
from adapters.sql.console_reads import SqlConsoleReads
from adapters.sql.listing_titles import SqlListingTitles
from adapters.sql.rows.jobs import JobRow
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from connector_core.domain.accounts import Account
from connector_core.domain.audit import AuditEntry, AuditOutcome
from connector_core.domain.commands import ProcessNotification, PushItem
from connector_core.domain.console import OperatorAction
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import (
    ErpEvent,
    ErpEventType,
    Order,
    OrderLine,
    OrderRecord,
)
from connector_core.domain.stock import Hold
from tests.e2e.conftest import wait_for
from tests.fakes import FixedClock

MAX = 3


def reads(engine: Engine, clock: FixedClock) -> SqlConsoleReads:
    return SqlConsoleReads(engine, clock.now, max_attempts=MAX)


def test_search_by_sku_item_or_title(engine: Engine, sql_uow: SqlAlchemyUnitOfWork,
                                     clock: FixedClock) -> None:
    with sql_uow as uow:
        apply_admin_tables(uow.session, MappingTable(
            [MappingRow("MUG-01", Listing("main", "MLA1")),
             MappingRow("MUG_02", Listing("main", "MLA2", 21), active=False)]),
            accounts=[Account("main", 1001, "MLA")])
        uow.commit()
    SqlListingTitles(engine, clock.now).remember("main", "MLA2", "Taza 100% cerámica")
    console = reads(engine, clock)
    assert [h.item_id for h in console.search("mug-01", 10)] == ["MLA1"]
    assert [h.item_id for h in console.search("mla", 10)] == ["MLA1", "MLA2"]
    hit = console.search("100%", 10)
    assert [(h.item_id, h.variation_id, h.title, h.active) for h in hit] == [
        ("MLA2", 21, "Taza 100% cerámica", False)]
    assert [h.sku for h in console.search("_", 10)] == ["MUG_02"]  # not a LIKE wildcard
    assert console.search("  ", 10) == []


def test_counts_per_minute_with_429s_and_pushes(engine: Engine, sql_uow: SqlAlchemyUnitOfWork,
                                                clock: FixedClock) -> None:
    counter = SqlCallCounter(engine, clock.now, flush_seconds=3600)
    for status in (200, 200, 429):
        counter.observe("/items/MLA1", status)
    counter.observe("/oauth/token", 400)
    counter.flush()
    counter.observe("/items/MLA1", 200)  # a second process's, or a later flush: added up
    counter.flush()
    with sql_uow as uow:
        uow.audit.record(AuditEntry(at=clock.now(), account="main", item_id="MLA1",
                                    action="push", outcome=AuditOutcome.SENT, reason="r"))
        uow.commit()
    clock.advance(120)
    minutes = reads(engine, clock).minutes(clock.now() - timedelta(minutes=4))
    assert len(minutes) == 5
    busy = minutes[2]
    assert (busy.calls, busy.throttled, busy.token_failures, busy.pushes) == (5, 1, 1, 1)
    assert sum(m.calls for m in minutes) == 5
    clock.advance(3 * 86400)
    counter.observe("/items/MLA1", 200)
    counter.flush()  # the minutes past KEEP go
    assert sum(m.calls for m in reads(engine, clock).minutes(
        clock.now() - timedelta(days=4))) == 1


def test_counts_reach_the_table_when_the_calls_stop(engine: Engine) -> None:
    counter = SqlCallCounter(engine, lambda: datetime.now(UTC), flush_seconds=0.2)
    counter.observe("/items/MLA1", 200)  # no call comes after these two: the timer adds them
    counter.observe("/items/MLA1", 429)
    console = SqlConsoleReads(engine, lambda: datetime.now(UTC), max_attempts=MAX)
    wait_for(lambda: sum(m.calls for m in console.minutes(
        datetime.now(UTC) - timedelta(minutes=2))) == 2, 5, "the timer's flush")


def test_jobs_by_state_and_by_account(engine: Engine, sql_uow: SqlAlchemyUnitOfWork,
                                             clock: FixedClock) -> None:
    with sql_uow as uow:
        uow.jobs.add(PushItem("main", "MLA1"))
        uow.jobs.add(PushItem("main", "MLA2"), not_before=clock.now() + timedelta(seconds=9))
        uow.session.add(JobRow(dedup_key="push-main-MLA3", kind="PushItem",
                               command={"type": "PushItem", "account": "main",
                                        "item_id": "MLA3"},
                               created_at=clock.now(), attempts=MAX))
        uow.commit()
    console = reads(engine, clock)
    counts = console.job_counts()
    assert (counts.waiting, counts.held_back, counts.running, counts.dead) == (1, 1, 0, 1)
    assert [(c.account, c.waiting, c.held_back, c.dead)
            for c in console.job_counts_by_account()] == [("main", 1, 1, 1)]
    with sql_uow as uow:
        uow.jobs.add(ProcessNotification(7))
        uow.jobs.add(PushItem("other-shop", "MLA9"))
        uow.commit()
    assert [(c.account, c.waiting) for c in console.job_counts_by_account()] == [
        ("main", 1), ("other-shop", 1), (None, 1)]


def test_orders_with_holds_events_and_accounting(engine: Engine, sql_uow: SqlAlchemyUnitOfWork,
                                                 clock: FixedClock) -> None:
    line = OrderLine(item_id="MLA1", variation_id=None, seller_sku="A", quantity=2,
                     unit_price=Decimal(10))
    sold = Order(id=5, account="main", status="paid", last_updated=clock.now(), lines=(line,))
    with sql_uow as uow:
        uow.orders.get(5)
        uow.orders.save(OrderRecord(5, sold, emitted=frozenset({ErpEventType.CREATED})))
        uow.stock.put_holds([Hold(5, "MLA1/-", "A", 2)])
        uow.erp_feed.append(ErpEvent(ErpEventType.CREATED, sold))
        uow.orders.get(6)
        uow.orders.save(OrderRecord(6, None, accounted_at=clock.now()))
        uow.commit()
    console = reads(engine, clock)
    five, six = console.orders(10)
    assert five.order_id == 5 and five.order == sold and five.accounted_at is None
    assert [h.units for h in five.holds] == [2]
    assert [e.type for e in five.events] == ["order.created"]
    assert six.order is None and six.accounted_at == clock.now()
    assert [o.order_id for o in console.orders(10, order_id=6)] == [6]


def test_accounts_topics_audit_and_operator_actions(engine: Engine,
                                                    sql_uow: SqlAlchemyUnitOfWork,
                                                    clock: FixedClock) -> None:
    with sql_uow as uow:
        apply_admin_tables(uow.session, MappingTable([]),
                           accounts=[Account("main", 1001, "MLA")])
        uow.checkpoints.set("main", "orders", clock.now())
        for n in (1, 1, 2):
            uow.inbox.add(Notification(topic="orders_v2", resource=f"/orders/{n}",
                                       user_id=1001), {}, clock.now())
        uow.inbox.add(Notification(topic="items", resource="/items/MLA1", user_id=1001), {},
                      clock.now())
        for minute in (1, 2):
            uow.audit.record(AuditEntry(at=clock.now() + timedelta(minutes=minute),
                                        account="main", item_id="MLA1", action="push",
                                        outcome=AuditOutcome.SKIPPED, reason=f"r{minute}"))
        uow.commit()
    console = reads(engine, clock)
    [account] = console.accounts()
    assert account.reconciled_to == clock.now() and not account.connected
    assert [(t.topic, t.received, t.waiting) for t in console.topics(clock.now())] == [
        ("items", 1, 1), ("orders_v2", 3, 2)]
    assert [a.reason for a in console.audit_trail("main", "MLA1", 10)] == ["r2", "r1"]
    for what in ("login", "retry"):
        console.record(OperatorAction(at=clock.now(), operator="ana", action=what,
                                      target="-", outcome="ok"))
    assert [a.action for a in console.operator_actions(10)] == ["retry", "login"]
