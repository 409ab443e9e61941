"""The retention purge on SQLite and PostgreSQL (and the fake, held to the same contract),
and the scheduler tick that runs it."""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from adapters.sql.engine import make_session_factory
from adapters.sql.rows.events import AuditRow, ErpEventRow
from adapters.sql.rows.jobs import InboxRow, JobRow
from adapters.sql.rows.stock import HoldRow, OrderRow
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from config.bootstrap import Connector
from config.settings import Settings
from connector_core.domain.audit import AuditEntry, AuditOutcome
from connector_core.domain.commands import PushItem
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import ErpEvent, ErpEventType, Order, OrderLine, OrderRecord
from connector_core.domain.stock import Hold
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.retention import Retention, purge_expired
from connector_core.services.scheduler import PURGE_INTERVAL_SECONDS
from tests.fakes import FakeUnitOfWork, FixedClock, InMemoryTaskQueue
from tests.integration.sql.conftest import KINDS, Databases, clean_engine
from tests.integration.sql.plans import (
    database_without_statistics,
    explain,
    nodes,
    rows_read,
    shown,
    statements,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def note(n: int, ml_id: str | None = None) -> Notification:
    return Notification(topic="orders_v2", resource=f"/orders/{n}", user_id=111,
                        application_id=5, ml_id=ml_id)


def order(order_id: int) -> Order:
    line = OrderLine(item_id="MLA1", variation_id=None, seller_sku="SKU-1", quantity=1,
                     unit_price=Decimal(10))
    return Order(id=order_id, account="main", status="paid",
                 last_updated=NOW - 400 * DAY, lines=(line,))


def add_inbox(uow: UnitOfWork, n: int, received: datetime, processed: datetime | None,
              ml_id: str | None = None) -> int:
    with uow:
        entry_id, _ = uow.inbox.add(note(n, ml_id), {"n": n}, received)
        if processed is not None:
            uow.inbox.mark_processed(entry_id, "done", processed)
        uow.commit()
    return entry_id


@pytest.fixture(params=("fake", *KINDS))
def backend(request: pytest.FixtureRequest, databases: Databases) -> tuple[Any, FixedClock]:
    clock = FixedClock(NOW)
    if request.param == "fake":
        return FakeUnitOfWork(clock=clock), clock
    engine = clean_engine(databases, request.param)
    return SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock), clock


def inbox_ids(uow: UnitOfWork) -> set[int]:
    with uow:  # every entry is below 1000 in these tests
        return {i for i in range(1, 1000) if uow.inbox.get(i) is not None}


class TestPortContract:
    def test_inbox_keeps_waiting_recent_and_boundary_entries(self, backend: Any) -> None:
        uow, clock = backend
        old = add_inbox(uow, 1, NOW - 40 * DAY, NOW - 40 * DAY)
        just_past = add_inbox(uow, 2, NOW - 31 * DAY, NOW - 30 * DAY - timedelta(seconds=1))
        boundary = add_inbox(uow, 3, NOW - 31 * DAY, NOW - 30 * DAY)
        recent = add_inbox(uow, 4, NOW - DAY, NOW - DAY)
        waiting = add_inbox(uow, 5, NOW - 400 * DAY, None)
        late = add_inbox(uow, 6, NOW - 40 * DAY, NOW - 2 * DAY)

        result = purge_expired(Retention(inbox_days=30), uow=uow, clock=clock)

        assert result.inbox == 2 and result.complete
        assert inbox_ids(uow) == {boundary, recent, waiting, late}
        assert not {old, just_past} & inbox_ids(uow)
        with uow:
            assert [e.id for e in uow.inbox.unprocessed(NOW, 10)] == [waiting]

    def test_inbox_batches_oldest_first_and_ids_are_not_reused(self, backend: Any) -> None:
        uow, clock = backend
        ids = [add_inbox(uow, n, NOW - 90 * DAY + n * timedelta(minutes=1), NOW - 60 * DAY)
               for n in range(5)]
        with uow:
            assert uow.inbox.purge_processed(NOW - 30 * DAY, 2) == 2
            uow.commit()
        assert inbox_ids(uow) == set(ids[2:])
        result = purge_expired(Retention(inbox_days=30, audit_days=0), uow=uow, clock=clock,
                               batch_size=2, max_batches=1)
        assert (result.inbox, result.complete) == (2, False)
        assert inbox_ids(uow) == {ids[4]}
        assert add_inbox(uow, 99, NOW, None) > ids[-1]

    def test_a_purged_ml_id_comes_back_as_new_work(self, backend: Any) -> None:
        """Documented: past the retention a redelivered ``_id`` is processed again."""
        uow, clock = backend
        first = add_inbox(uow, 1, NOW - 60 * DAY, NOW - 60 * DAY, ml_id="abc")
        with uow:
            assert uow.inbox.add(note(1, "abc"), {}, NOW) == (first, False)
            uow.commit()
        purge_expired(Retention(inbox_days=30), uow=uow, clock=clock)
        with uow:
            again, new = uow.inbox.add(note(1, "abc"), {}, NOW)
            assert new and again != first

    def test_audit_rows_past_the_retention_go(self, backend: Any) -> None:
        uow, clock = backend
        with uow:
            for at, item in [(NOW - 200 * DAY, "OLD"), (NOW - 90 * DAY - timedelta(seconds=1),
                                                         "JUST-PAST"),
                             (NOW - 90 * DAY, "BOUNDARY"), (NOW, "NEW")]:
                uow.audit.record(AuditEntry(at=at, account="main", item_id=item,
                                            action="push", outcome=AuditOutcome.SENT,
                                            reason="r"))
            uow.commit()
        result = purge_expired(Retention(inbox_days=0, audit_days=90), uow=uow, clock=clock)
        assert result.audit == 2
        if isinstance(uow, FakeUnitOfWork):
            left = [e.item_id for e in uow.store.audit]
        else:
            with uow:
                left = [e.item_id for e in reversed(uow.audit.entries())]
        assert left == ["BOUNDARY", "NEW"]

    def test_erp_events_keep_their_cursors(self, backend: Any) -> None:
        uow, clock = backend
        for offset, order_id in ((100 * DAY, 1), (30 * DAY, 2), (DAY, 3)):
            clock.current = NOW - offset
            with uow:
                uow.erp_feed.append(ErpEvent(ErpEventType.CREATED, order(order_id)))
                uow.commit()
        clock.current = NOW
        assert purge_expired(Retention(), uow=uow, clock=clock).erp_events == 0
        result = purge_expired(Retention(erp_events_days=30), uow=uow, clock=clock)
        assert result.erp_events == 1  # the one exactly 30 days old stays
        with uow:
            events = uow.erp_feed.read(0, 10)
            assert [(e.order_id, e.id) for e in events] == [(2, 2), (3, 3)]
            uow.erp_feed.append(ErpEvent(ErpEventType.PAID, order(3)))
            uow.commit()
        with uow:
            assert [e.id for e in uow.erp_feed.read(3, 10)] == [4]

    def test_orders_holds_and_jobs_stay(self, backend: Any) -> None:
        uow, clock = backend
        record = OrderRecord(order_id=1, order=order(1), accounted_at=NOW - 300 * DAY,
                             emitted=frozenset({ErpEventType.CREATED}))
        hold = Hold(order_id=1, line="MLA1/-", sku="SKU-1", units=1)
        clock.current = NOW - 300 * DAY
        with uow:
            uow.orders.save(record)
            uow.stock.put_holds([hold])
            uow.jobs.add(PushItem("main", "MLA1"))
            uow.commit()
        clock.current = NOW
        purge_expired(Retention(inbox_days=1, audit_days=1, erp_events_days=0), uow=uow,
                      clock=clock)
        with uow:
            assert uow.orders.get(1) == record
            assert uow.stock.holds_for_order(1) == [hold]
            assert not uow.jobs.add(PushItem("main", "MLA1"))  # the old one still waits


# --- the SQL side: bounded statements, and the scheduler ---------------------------------

def count(engine: Engine, row: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(row)).scalar_one())


def test_only_old_processed_rows_are_deleted_by_the_sql(engine: Engine) -> None:
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=FixedClock(NOW))
    for n in range(25):
        add_inbox(uow, n, NOW - 60 * DAY, NOW - 60 * DAY)
    for n in range(25, 30):
        add_inbox(uow, n, NOW - 60 * DAY, None)
    with uow:
        assert uow.inbox.purge_processed(NOW - 30 * DAY, 10) == 10
        uow.commit()
    assert count(engine, InboxRow) == 20
    result = purge_expired(Retention(inbox_days=30), uow=uow, clock=FixedClock(NOW),
                           batch_size=10)
    assert (result.inbox, result.complete) == (15, True)
    with engine.connect() as conn:
        left = conn.execute(select(InboxRow.processed_at)).scalars().all()
    assert left == [None] * 5


def connector(engine: Engine, clock: FixedClock) -> Connector:
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                        inbox_retention_days=30, audit_retention_days=90)
    return Connector(settings, engine=engine, clock=clock, queue=InMemoryTaskQueue())


def test_the_scheduler_purges_hourly_and_logs_it(engine: Engine,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    clock = FixedClock(NOW)
    app = connector(engine, clock)
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock)
    add_inbox(uow, 1, NOW - 60 * DAY, NOW - 60 * DAY)
    waiting = add_inbox(uow, 2, NOW - 60 * DAY, None)
    with uow:
        uow.audit.record(AuditEntry(at=NOW - 100 * DAY, account="main", item_id="MLA1",
                                    action="push", outcome=AuditOutcome.SENT, reason="r"))
        uow.commit()

    with caplog.at_level(logging.INFO, logger="connector_core.services.scheduler"):
        assert app.scheduler.tick(last_reconcile=1000.0, now=1000.0) == 1000.0
    assert count(engine, InboxRow) == 1 and count(engine, AuditRow) == 0
    with uow:
        assert uow.inbox.get(waiting) is not None
    assert "retention purge deleted 1 processed notification(s) (older than 30 days), " \
           "1 audit row(s) (90 days), 0 ERP event(s) (kept)" in caplog.text

    add_inbox(uow, 3, NOW - 60 * DAY, NOW - 60 * DAY)
    app.scheduler.tick(last_reconcile=1000.0, now=1000.0 + PURGE_INTERVAL_SECONDS - 1)
    assert count(engine, InboxRow) == 2  # not due yet within the hour
    app.scheduler.tick(last_reconcile=1000.0, now=1000.0 + PURGE_INTERVAL_SECONDS)
    assert count(engine, InboxRow) == 1


def test_a_backlog_keeps_the_purge_due_at_the_next_tick(engine: Engine,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connector_core.services.scheduler.BATCH_SIZE", 2)
    monkeypatch.setattr("connector_core.services.scheduler.MAX_BATCHES", 1)
    clock = FixedClock(NOW)
    app = connector(engine, clock)
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock)
    for n in range(5):
        add_inbox(uow, n, NOW - 60 * DAY, NOW - 60 * DAY)
    app.scheduler.tick(last_reconcile=1000.0, now=1000.0)
    assert count(engine, InboxRow) == 3
    app.scheduler.tick(last_reconcile=1000.0, now=1030.0)  # next tick, not an hour later
    assert count(engine, InboxRow) == 1
    app.scheduler.tick(last_reconcile=1000.0, now=1060.0)
    assert count(engine, InboxRow) == 0
    add_inbox(uow, 9, NOW - 60 * DAY, NOW - 60 * DAY)
    app.scheduler.tick(last_reconcile=1000.0, now=1090.0)  # caught up: now hourly again
    assert count(engine, InboxRow) == 1


def test_untouched_tables_survive_a_scheduled_purge(engine: Engine) -> None:
    clock = FixedClock(NOW - 500 * DAY)
    app = connector(engine, clock)
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock)
    with uow:
        uow.orders.save(OrderRecord(order_id=1, order=order(1)))
        uow.stock.put_holds([Hold(order_id=1, line="MLA1/-", sku="SKU-1", units=1)])
        uow.erp_feed.append(ErpEvent(ErpEventType.CREATED, order(1)))
        uow.jobs.add(PushItem("main", "MLA1"))
        uow.commit()
    clock.current = NOW
    app.scheduler.tick(last_reconcile=1000.0, now=1000.0)
    assert [count(engine, t) for t in (OrderRow, HoldRow, ErpEventRow, JobRow)] == [1, 1, 1, 1]


# --- without planner statistics: each batch walks its index ------------------------------

_FILL = {  # 30,000 rows, one every 2 minutes up to NOW: about 40 days, half of them old
    "inbox": """
        INSERT INTO inbox (topic, resource, user_id, application_id, ml_id, raw,
                           received_at, duplicates, outcome, processed_at)
        SELECT 'orders_v2', '/orders/' || g, 111, 5, 'm' || g, '{}',
               %(now)s - interval '2 minutes' * (30000 - g), 0, 'done',
               %(now)s - interval '2 minutes' * (30000 - g)
        FROM generate_series(1, 30000) AS g""",
    "audit_log": """
        INSERT INTO audit_log (at, account, item_id, action, outcome, reason, before, after,
                               response)
        SELECT %(now)s - interval '2 minutes' * (30000 - g), 'main', 'MLA' || g, 'push',
               'applied', '', '{}', '{}', '{}'
        FROM generate_series(1, 30000) AS g""",
    "erp_events": """
        INSERT INTO erp_events (cursor, type, order_id, account, "order", created_at)
        SELECT g, 'order_paid', g, 'main', '{}', %(now)s - interval '2 minutes' * (30000 - g)
        FROM generate_series(1, 30000) AS g""",
}
_PURGES: dict[str, Any] = {
    "inbox": lambda uow, before, n: uow.inbox.purge_processed(before, n),
    "audit_log": lambda uow, before, n: uow.audit.purge(before, n),
    "erp_events": lambda uow, before, n: uow.erp_feed.purge(before, n),
}


@pytest.mark.parametrize("table", sorted(_FILL))
def test_a_purge_batch_reads_its_batch_not_the_table_without_statistics(table: str) -> None:
    """A database with no statistics (autovacuum off, a restored dump) once had PostgreSQL
    pick every purge batch by scanning and sorting the whole table: each hourly batch read
    every row. Here, 30,000 rows and no ANALYZE: the batch's own statement, explained, picks
    its rows by reading about as many as it deletes, and sorts nothing. (How it then deletes
    them, by key probes or by one pass over a small table, the planner rightly sizes from the
    table's pages.)"""
    batch = 100
    with database_without_statistics(table, _FILL[table], {"now": NOW}) as engine:
        uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=FixedClock(NOW))
        with statements(engine, "DELETE") as seen, uow:
            assert _PURGES[table](uow, NOW - 20 * DAY, batch) == batch
            (statement, parameters), = seen
            plan = explain(uow.session, statement, parameters)
    pick = next(n for n in nodes(plan) if n["Node Type"] == "Limit")
    assert rows_read(pick) <= 2 * batch, (table, shown(plan))
    assert not [n for n in nodes(plan) if "Sort" in n["Node Type"]], (table, shown(plan))
