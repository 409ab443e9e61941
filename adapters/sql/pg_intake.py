"""The webhook's write on PostgreSQL: one statement, one round trip, per notification.

:class:`PostgresIntake` keeps the contract of
:class:`~connector_core.ports.inbox.NotificationIntake` (the inbox's deduplication, and the
``ProcessNotification`` job of a new entry in the same commit) with a single statement run
in autocommit mode: a data-modifying CTE counts a duplicate by ML ``_id``, or inserts the
entry (a duplicate of a waiting entry for the same resource joins it, if that entry's job can
still run: :mod:`adapters.sql.inbox_rules`), and inserts the job for a new entry. PostgreSQL
runs one statement as one transaction, so the entry and its job commit together or not at
all. When the waiting entry's job cannot run, the statement answers no row; the entry is
retired by a second statement and the first runs again (two more round trips, only then).

Through a unit of work (:class:`~connector_core.services.notifications.UnitOfWorkIntake`)
the same write takes five round trips (the pool's ping, ``BEGIN``, three statements,
``COMMIT``) and the ORM's statement building, the larger part of the web process's CPU at
the webhook's rates. SQLite has no data-modifying CTEs and keeps the unit-of-work path.

The statement is prepared once per connection and run through psycopg's libpq layer
(:mod:`psycopg.pq`) with text parameters, not through a cursor: the cursor's adaptation and
result machinery cost the web process more CPU per notification than the statement's own
work (the figures are in bench/RESULTS.md). libpq releases the GIL while it waits, as the
cursor does.

The job row is written here, not by :class:`~adapters.sql.job_ledger.SqlJobLedger`, so the
constructor checks that the command's stored form is still what the SQL builds.
"""

import json
import logging
import re
import threading
from datetime import datetime
from typing import Any

import psycopg.errors
from psycopg.pq import DiagnosticField, ExecStatus
from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

from adapters.serialization import command_to_json, to_json_document
from adapters.sql.engine import make_engine
from adapters.sql.inbox_rules import LIVE_JOB_SQL, RETIRE_SQL, RETIRED_OUTCOME
from connector_core.domain.commands import ProcessNotification
from connector_core.domain.lanes import default_lane
from connector_core.domain.notifications import Notification
from connector_core.ports.clock import Clock

log = logging.getLogger(__name__)

_RECEIVE = """
WITH seen AS (
    UPDATE inbox SET duplicates = inbox.duplicates + 1
    WHERE inbox.id = (SELECT min(id) FROM inbox WHERE ml_id = %(ml_id)s::varchar)
    RETURNING inbox.id, false AS is_new
), stored AS (
    INSERT INTO inbox (topic, resource, user_id, application_id, attempts, sent, received,
                       ml_id, raw, received_at, duplicates, outcome)
    SELECT %(topic)s::varchar, %(resource)s::varchar, %(user_id)s::bigint,
           %(application_id)s::bigint, %(attempts)s::integer, %(sent)s::timestamptz,
           %(received)s::timestamptz, %(ml_id)s::varchar, %(raw)s::json,
           %(received_at)s::timestamptz, 0, ''
    WHERE NOT EXISTS (SELECT 1 FROM seen)
    ON CONFLICT (topic, resource) WHERE processed_at IS NULL
    DO UPDATE SET duplicates = inbox.duplicates + 1
    WHERE """ + LIVE_JOB_SQL + """
    RETURNING inbox.id, inbox.duplicates = 0 AS is_new
), queued AS (
    INSERT INTO jobs (dedup_key, kind, command, created_at, attempts, lane)
    SELECT %(key_prefix)s::text || stored.id, %(kind)s::varchar,
           json_build_object(%(tag_name)s::text, %(kind)s::text, %(id_name)s::text, stored.id),
           %(received_at)s::timestamptz, 0, %(lane)s::varchar
    FROM stored WHERE stored.is_new
    ON CONFLICT (dedup_key) WHERE claimed_at IS NULL DO NOTHING
)
SELECT id, is_new FROM seen UNION ALL SELECT id, is_new FROM stored
"""
# The statement as the server prepares it: each name becomes one ``$n``, in this order.
_PARAMS = tuple(dict.fromkeys(re.findall(r"%\((\w+)\)s", _RECEIVE)))
_RECEIVE_NUMBERED = re.sub(r"%\((\w+)\)s", lambda m: f"${_PARAMS.index(m[1]) + 1}", _RECEIVE)
_STATEMENT = b"meli_connector_receive"
_RETIRE_PARAMS = tuple(dict.fromkeys(re.findall(r"%\((\w+)\)s", RETIRE_SQL)))
_RETIRE_NUMBERED = re.sub(r"%\((\w+)\)s", lambda m: f"${_RETIRE_PARAMS.index(m[1]) + 1}",
                          RETIRE_SQL)
_UNDEFINED_PREPARED_STATEMENT = b"26000"  # the server forgot it: DISCARD ALL, a pooler


def _job_shape() -> dict[str, str]:
    """The parts of a ``ProcessNotification`` job the SQL builds, checked against the
    serializer and the command's dedup key."""
    probe = ProcessNotification(inbox_id=7)
    stored = command_to_json(probe)
    shape = {"key_prefix": probe.dedup_key.removesuffix("7"), "kind": "ProcessNotification",
             "tag_name": "type", "id_name": "inbox_id", "lane": default_lane(probe).value}
    if stored != {"type": "ProcessNotification", "inbox_id": 7} or \
            probe.dedup_key != f"{shape['key_prefix']}7":
        raise RuntimeError(f"PostgresIntake builds ProcessNotification jobs as "
                           f"{{'type': ..., 'inbox_id': ...}} keyed '{shape['key_prefix']}<id>'; "
                           f"the serializer now writes {stored!r} keyed {probe.dedup_key!r}")
    return shape


class PostgresIntake:
    """:class:`~connector_core.ports.inbox.NotificationIntake` in one statement on PostgreSQL.

    ``engine`` should be its own (:meth:`beside` makes it): autocommit, no pool (each
    calling thread opens one connection and keeps it: web server threads live as long as
    their process, and a pool checkout per call costs more than the statement's own Python
    work). A connection found dead is dropped and the statement tried once more on a new
    one (safe: a first attempt that did commit makes the second a duplicate); a connection
    whose prepared statement the server forgot prepares it again.
    """

    def __init__(self, engine: Engine, clock: Clock, *,
                 max_attempts: int | None = None) -> None:
        """``max_attempts``: a job run that many times is a dead letter (None: no limit)."""
        if engine.dialect.name != "postgresql":
            raise ValueError(f"PostgresIntake needs PostgreSQL, not {engine.dialect.name}")
        self._engine = engine
        self._clock = clock
        self._shape = _job_shape()
        self._max_attempts = max_attempts if max_attempts is not None else 2**31 - 1
        self._local = threading.local()

    @classmethod
    def beside(cls, engine: Engine, clock: Clock, *,
               max_attempts: int | None = None) -> "PostgresIntake":
        """On an engine of its own to ``engine``'s database (autocommit, no pool)."""
        own = make_engine(engine.url.render_as_string(hide_password=False),
                          poolclass=NullPool, isolation_level="AUTOCOMMIT")
        return cls(own, clock, max_attempts=max_attempts)

    def receive(self, notification: Notification, raw: dict[str, Any]) -> tuple[int, bool]:
        n = notification
        values = {**self._shape, "topic": n.topic, "resource": n.resource,
                  "user_id": n.user_id, "application_id": n.application_id,
                  "attempts": n.attempts, "sent": _aware(n.sent),
                  "received": _aware(n.received), "ml_id": n.ml_id, "raw": _json(raw),
                  "received_at": _aware(self._clock.now()),
                  "max_attempts": self._max_attempts, "outcome": RETIRED_OUTCOME}
        params = [_text(values[name]) for name in _PARAMS]
        retire = [_text(values[name]) for name in _RETIRE_PARAMS]
        for attempt in (1, 2):
            connection = self._connection()
            try:
                return self._run(connection, params, retire)
            except Exception as exc:
                self._local.connection = None
                lost = _connection_lost(connection)
                if lost:
                    connection.invalidate()
                else:
                    connection.close()
                if attempt == 1 and lost:
                    log.warning("database connection lost (%s); storing the notification "
                                "again on a new one", exc)
                    continue
                raise
        raise AssertionError("unreachable")

    def _run(self, connection: Any, params: list[bytes | None],
             retire: list[bytes | None]) -> tuple[int, bool]:
        """Run the statement; when it answers no row (the waiting entry's job cannot run),
        retire that entry and run it again."""
        pgconn = connection.dbapi_connection.pgconn
        for _attempt in (1, 2, 3):
            answer = self._receive(pgconn, params)
            if answer is not None:
                return answer
            result = pgconn.exec_params(_RETIRE_NUMBERED.encode(), retire)
            _check(result, ExecStatus.TUPLES_OK)
            if result.ntuples:
                log.info("inbox entry %s retired: its job could not run, a new notification "
                         "for the same resource takes over", result.get_value(0, 0).decode())
        raise RuntimeError("the inbox statement answered no entry three times")

    def _receive(self, pgconn: Any, params: list[bytes | None]) -> tuple[int, bool] | None:
        """Run the prepared statement on ``pgconn`` (preparing it first on a connection
        that has not got it); the answer of :meth:`receive`, or None when it joined nothing
        (the waiting entry's job cannot run)."""
        for attempt in (1, 2):
            if getattr(self._local, "prepared_on", None) is not pgconn:
                _check(pgconn.prepare(_STATEMENT, _RECEIVE_NUMBERED.encode()),
                       ExecStatus.COMMAND_OK)
                self._local.prepared_on = pgconn
            result = pgconn.exec_prepared(_STATEMENT, params)
            if attempt == 1 and result.status == ExecStatus.FATAL_ERROR and \
                    result.error_field(DiagnosticField.SQLSTATE) == _UNDEFINED_PREPARED_STATEMENT:
                self._local.prepared_on = None
                continue
            _check(result, ExecStatus.TUPLES_OK)
            if result.ntuples == 0:
                return None
            entry_id = result.get_value(0, 0) if result.ntuples == 1 else None
            if entry_id is None:
                raise RuntimeError(f"the inbox statement answered {result.ntuples} rows, "
                                   f"not one entry")
            return int(entry_id), result.get_value(0, 1) == b"t"
        raise AssertionError("unreachable")

    def _connection(self) -> Any:
        """This thread's connection, opened on its first call."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._engine.raw_connection()
        return connection

    def dispose(self) -> None:
        self._engine.dispose()


def _connection_lost(connection: Any) -> bool:
    dbapi = connection.dbapi_connection
    return dbapi is None or bool(getattr(dbapi, "closed", False)) or \
        getattr(getattr(dbapi, "info", None), "status", None) not in (None, 0)


def _check(result: Any, expected: ExecStatus) -> None:
    """Raise the error PostgreSQL answered, as psycopg's exception for its SQLSTATE."""
    if result.status != expected:
        raise psycopg.errors.error_from_result(result)


def _text(value: object) -> bytes | None:
    """A parameter in PostgreSQL's text form (the statement casts each one). libpq reads a
    text parameter up to its first NUL, so one inside would cut the value silently."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().encode()
    text = str(value).encode()
    if b"\x00" in text:
        raise ValueError(f"PostgreSQL text cannot hold a NUL character: {value!r}")
    return text


def _json(raw: dict[str, Any]) -> str:
    try:
        return json.dumps(raw)  # a parsed request body: JSON types only
    except TypeError:
        return json.dumps(to_json_document(raw))


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the connector stores aware times only")
    return value
