"""The webhook's write: ``PostgresIntake`` (one statement) keeps the contract of the
unit-of-work intake, row for row, and holds under concurrent duplicates and a lost
connection."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import psycopg.errors
import pytest
from psycopg import sql
from sqlalchemy import Engine, select, text
from sqlalchemy.pool import NullPool

from adapters.serialization import command_from_json
from adapters.sql.engine import make_engine, make_session_factory
from adapters.sql.pg_intake import _PARAMS, _RECEIVE_NUMBERED, PostgresIntake, _job_shape
from adapters.sql.rows.jobs import InboxRow, JobRow
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from connector_core.domain.commands import ProcessNotification
from connector_core.domain.notifications import Notification
from connector_core.ports.inbox import NotificationIntake
from connector_core.services.notifications import UnitOfWorkIntake
from tests.fakes import FixedClock
from tests.integration.sql.conftest import Databases, clean_engine
from tests.integration.sql.plans import database_without_statistics, nodes

T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)


def note(resource: str, *, ml_id: str | None = None, topic: str = "orders_v2") -> Notification:
    return Notification(topic=topic, resource=resource, user_id=468424240,
                        application_id=5503910054141466, attempts=1,
                        sent=T0 - timedelta(seconds=1), received=T0, ml_id=ml_id)


@pytest.fixture
def intake_engine(databases: Databases) -> Iterator[Engine]:
    clean_engine(databases, "postgresql")
    engine = make_engine(databases.urls["postgresql"], poolclass=NullPool,
                         isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def make_intakes(engine: Engine, clock: FixedClock,
                 max_attempts: int | None = None) -> dict[str, NotificationIntake]:
    return {"one statement": PostgresIntake(engine, clock, max_attempts=max_attempts),
            "unit of work": UnitOfWorkIntake(
                SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock,
                                     max_attempts=max_attempts), clock)}


def scenario(intake: NotificationIntake, engine: Engine, clock: FixedClock) -> list[Any]:
    """Every deduplication rule in turn; returns what each call answered."""
    answers: list[Any] = []
    raw = {"resource": "/orders/1", "nested": {"n": 1}, "list": [1, "a"]}
    answers.append(intake.receive(note("/orders/1", ml_id="a"), raw))         # new
    answers.append(intake.receive(note("/orders/1", ml_id="b"), {}))          # same resource
    answers.append(intake.receive(note("/orders/1", topic="items"), {}))     # other topic
    answers.append(intake.receive(note("/orders/2"), {}))                     # no ML _id
    with engine.begin() as conn:  # the first entry is processed
        conn.execute(text("UPDATE inbox SET processed_at = :at, outcome = 'done' "
                          "WHERE resource = '/orders/1' AND topic = 'orders_v2'"), {"at": T0})
    clock.advance(5)
    answers.append(intake.receive(note("/orders/1", ml_id="a"), {}))          # ML retry
    answers.append(intake.receive(note("/orders/1", ml_id="c"), {}))          # new work
    return answers


def table_state(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        inbox = [tuple(r) for r in conn.execute(
            select(InboxRow.topic, InboxRow.resource, InboxRow.user_id, InboxRow.application_id,
                   InboxRow.attempts, InboxRow.sent, InboxRow.received, InboxRow.ml_id,
                   InboxRow.raw, InboxRow.received_at, InboxRow.duplicates, InboxRow.outcome)
            .order_by(InboxRow.id))]
        jobs = [(r.dedup_key.split("-")[0], r.kind, command_from_json(r.command).__class__,
                 r.created_at, r.attempts, r.dispatched_at, r.claimed_at)
                for r in conn.execute(select(JobRow).order_by(JobRow.id))]
    return inbox, jobs


def test_one_statement_writes_what_the_unit_of_work_writes(
        databases: Databases, intake_engine: Engine) -> None:
    results = {}
    for name in ("unit of work", "one statement"):
        clean_engine(databases, "postgresql")
        clock = FixedClock(T0)
        intake = make_intakes(intake_engine, clock)[name]
        answers = scenario(intake, intake_engine, clock)
        results[name] = ([new for _, new in answers], table_state(intake_engine))
        ids = [entry_id for entry_id, _ in answers]
        # the duplicates name the entry they joined
        assert ids[1] == ids[0] and ids[4] == ids[0]
        assert len({ids[0], ids[2], ids[3], ids[5]}) == 4
    assert results["one statement"] == results["unit of work"]
    news, (inbox, jobs) = results["one statement"]
    assert news == [True, False, True, True, False, True]
    assert [row[-2] for row in inbox] == [2, 0, 0, 0]  # duplicates counted on the first
    assert len(jobs) == 4 and all(kind == "ProcessNotification" for _, kind, *_ in jobs)


def dead_letter_scenario(intake: NotificationIntake, engine: Engine,
                         clock: FixedClock) -> None:
    """Issue 16 item 3: an entry whose job cannot run absorbed every later notification for
    its resource, and none of them ever got a job."""
    first, _ = intake.receive(note("/orders/1", ml_id="a"), {})
    with engine.begin() as conn:  # its job failed its last attempt: a dead letter
        conn.execute(text("UPDATE jobs SET attempts = 3"))
    clock.advance(60)
    second, new = intake.receive(note("/orders/1", ml_id="b"), {})
    assert new and second != first
    assert intake.receive(note("/orders/1", ml_id="c"), {}) == (second, False)
    with engine.begin() as conn:  # the second's job is running (claimed) now
        conn.execute(text("UPDATE jobs SET claimed_at = :at, attempts = 1 "
                          "WHERE dedup_key = :key"),
                     {"at": clock.now(), "key": ProcessNotification(second).dedup_key})
    third, new = intake.receive(note("/orders/1", ml_id="d"), {})
    assert new and third not in (first, second)
    with engine.connect() as conn:
        inbox = conn.execute(select(InboxRow.id, InboxRow.processed_at, InboxRow.outcome,
                                    InboxRow.duplicates).order_by(InboxRow.id)).all()
        waiting = conn.scalars(select(JobRow.dedup_key).where(JobRow.claimed_at.is_(None),
                                                              JobRow.attempts < 3)).all()
    assert [(r.id, r.processed_at is not None, r.outcome.split(":")[0], r.duplicates)
            for r in inbox] == [(first, True, "retired", 0), (second, True, "retired", 1),
                                (third, False, "", 0)]
    assert waiting == [ProcessNotification(third).dedup_key]


@pytest.mark.parametrize("path", ["one statement", "unit of work"])
def test_an_entry_whose_job_cannot_run_absorbs_nothing(intake_engine: Engine,
                                                        path: str) -> None:
    clock = FixedClock(T0)
    dead_letter_scenario(make_intakes(intake_engine, clock, max_attempts=3)[path],
                         intake_engine, clock)


def test_an_entry_whose_job_cannot_run_absorbs_nothing_on_sqlite(sqlite_engine: Engine) -> None:
    clock = FixedClock(T0)
    uow = SqlAlchemyUnitOfWork(make_session_factory(sqlite_engine), clock=clock,
                               max_attempts=3)
    dead_letter_scenario(UnitOfWorkIntake(uow, clock), sqlite_engine, clock)


def test_the_job_of_a_new_entry_names_it(intake_engine: Engine) -> None:
    clock = FixedClock(T0)
    entry_id, new = PostgresIntake(intake_engine, clock).receive(note("/orders/9"), {})
    assert new
    with intake_engine.connect() as conn:
        job = conn.execute(select(JobRow)).one()
    assert command_from_json(job.command) == ProcessNotification(entry_id)
    assert job.dedup_key == ProcessNotification(entry_id).dedup_key
    assert job.created_at == T0


def test_concurrent_duplicates_store_one_entry_and_one_job(intake_engine: Engine) -> None:
    intake = PostgresIntake(intake_engine, FixedClock(T0))
    answers: list[tuple[int, bool]] = []
    barrier = threading.Barrier(8)

    def post(n: int) -> None:
        barrier.wait()
        for resource in ("/orders/1", "/orders/2", "/orders/3"):
            answers.append(intake.receive(note(resource, ml_id=f"{resource}-{n}"), {}))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(new for _, new in answers) == 3
    with intake_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM inbox")) == 3
        assert conn.scalar(text("SELECT sum(duplicates) FROM inbox")) == 21
        assert conn.scalar(text("SELECT count(*) FROM jobs")) == 3


def test_a_connection_the_server_dropped_is_replaced(databases: Databases,
                                                     intake_engine: Engine) -> None:
    intake = PostgresIntake(intake_engine, FixedClock(T0))
    intake.receive(note("/orders/1"), {})  # this thread now keeps a connection
    with databases.engine("postgresql").connect() as admin:  # drop every other session
        killed = admin.scalars(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
    assert killed and all(killed)
    _, new = intake.receive(note("/orders/2"), {})
    assert new
    with intake_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM jobs")) == 2


def test_refuses_other_databases(sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        PostgresIntake(sqlite_engine, FixedClock(T0))


def test_a_statement_the_server_forgot_is_prepared_again(intake_engine: Engine) -> None:
    intake = PostgresIntake(intake_engine, FixedClock(T0))
    intake.receive(note("/orders/1"), {})  # prepares the statement on this thread's connection
    connection = intake._local.connection.dbapi_connection
    connection.execute("DEALLOCATE ALL")  # what a pooler's DISCARD ALL does
    assert connection.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
    _, new = intake.receive(note("/orders/2"), {})
    assert new
    assert intake._local.connection.dbapi_connection is connection  # no reconnection needed
    with intake_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM jobs")) == 2


def test_a_value_the_database_refuses_fails_alone(intake_engine: Engine) -> None:
    intake = PostgresIntake(intake_engine, FixedClock(T0))
    with pytest.raises(psycopg.errors.StringDataRightTruncation):
        intake.receive(note("/orders/1", ml_id="x" * 65), {})  # the column holds 64
    entry_id, new = intake.receive(note("/orders/1", ml_id="y"), {})
    assert new
    with intake_engine.connect() as conn:
        assert conn.execute(text("SELECT id, ml_id FROM inbox")).all() == [(entry_id, "y")]
        assert conn.scalar(text("SELECT count(*) FROM jobs")) == 1


def test_a_nul_character_is_refused_not_cut(intake_engine: Engine) -> None:
    intake = PostgresIntake(intake_engine, FixedClock(T0))
    with pytest.raises(ValueError, match="NUL"):
        intake.receive(note("/orders/1\x00/extra"), {})
    with intake_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM inbox")) == 0


_SEEN = """
    INSERT INTO inbox (topic, resource, user_id, application_id, attempts, sent, received,
                       ml_id, raw, received_at, duplicates, outcome, processed_at)
    SELECT 'orders_v2', '/orders/' || (2000000000 + g), 468424240, 5503910054141466, 1,
           now(), now(), 'seen-' || g,
           json_build_object('_id', 'seen-' || g, 'topic', 'orders_v2',
                             'resource', '/orders/' || (2000000000 + g),
                             'user_id', 468424240, 'application_id', 5503910054141466,
                             'attempts', 1, 'sent', now(), 'received', now()),
           now(), 0, 'done', now()
    FROM generate_series(1, 50000) AS g"""


def test_the_duplicate_check_reads_a_few_pages_however_big_the_inbox() -> None:
    """A database with no statistics on ``inbox`` (autovacuum off, a restored dump) once had
    PostgreSQL walk the whole primary key for ``min(id) WHERE ml_id = ?``: every new
    notification read every stored one. Here, 50,000 processed entries and no ANALYZE: the
    statement, planned both ways the server may (custom and generic), reads a few pages."""
    with database_without_statistics("inbox", _SEEN, {}) as engine:
        conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"PREPARE receive AS {_RECEIVE_NUMBERED}")
            for mode, ml_id in [("force_custom_plan", "new-1"), ("force_generic_plan", "new-2"),
                                ("force_generic_plan", "seen-49999")]:
                conn.execute(f"SET plan_cache_mode = {mode}")
                values = {**_job_shape(), "topic": "orders_v2", "resource": f"/orders/{ml_id}",
                          "user_id": 1, "application_id": 2, "attempts": 1, "sent": None,
                          "received": None, "ml_id": ml_id, "raw": "{}",
                          "received_at": T0.isoformat(), "max_attempts": 6}
                explain = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE receive({})")
                row = conn.execute(explain.format(sql.SQL(", ").join(
                    sql.Literal(values[name]) for name in _PARAMS))).fetchone()
                assert row is not None
                scans = [n for n in nodes(row[0][0]["Plan"])
                         if "Scan" in n["Node Type"] and "CTE" not in n["Node Type"]]
                pages = sum(s.get("Shared Hit Blocks", 0) + s.get("Shared Read Blocks", 0)
                            for s in scans)
                filtered = sum(s.get("Rows Removed by Filter", 0) for s in scans)
                shown = [(s["Node Type"], s.get("Index Name")) for s in scans]
                assert pages <= 20 and filtered == 0, (mode, ml_id, pages, filtered, shown)
