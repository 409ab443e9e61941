"""Reading PostgreSQL's plans of the connector's own statements, on a database without
planner statistics (autovacuum off, a restored dump): the tests that hold a statement to its
indexes whatever the statistics say."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from adapters.sql.engine import make_engine
from adapters.sql.migrate import upgrade
from tests.services import database_url, fresh_postgres_database


@contextmanager
def database_without_statistics(table: str, fill: str,
                                params: dict[str, Any]) -> Iterator[Engine]:
    """A fresh, migrated database whose ``table`` got ``fill`` (SQL) and no statistics."""
    with fresh_postgres_database(database_url()) as url:
        engine = make_engine(url, poolclass=NullPool)
        try:
            upgrade(engine)
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                 autocommit=True) as conn:
                conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
                conn.execute(fill, params)
                analyzed = conn.execute(
                    "SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables "
                    "WHERE relname = %s", (table,)).fetchone()
                assert analyzed == (None, None)
            yield engine
        finally:
            engine.dispose()


@contextmanager
def statements(engine: Engine, verb: str) -> Iterator[list[tuple[str, Any]]]:
    """Collect the statements starting with ``verb`` that ``engine`` runs meanwhile."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
             _many: bool) -> None:
        if statement.lstrip().upper().startswith(verb):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def explain(session: Session, statement: str, parameters: Any) -> dict[str, Any]:
    """The statement's plan, run (``ANALYZE``) in the session's transaction."""
    plan = session.connection().exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar_one()
    return dict(plan[0]["Plan"])


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def rows_read(node: dict[str, Any]) -> int:
    """Rows the scans of tables under ``node`` produced or filtered out (a subquery's scan
    of its own result is not a read)."""
    return sum((n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0))
               * n.get("Actual Loops", 1) for n in nodes(node) if "Relation Name" in n)


def shown(node: dict[str, Any]) -> list[tuple[str, str | None, int]]:
    """The plan in short, for an assertion's message."""
    return [(n["Node Type"], n.get("Index Name"), n.get("Actual Rows", 0)) for n in nodes(node)]
