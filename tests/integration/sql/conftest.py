"""One database per kind per test session, migrated with the shipped Alembic scripts.

``engine`` is THE parametrized fixture over SQLite and PostgreSQL; ``backend`` adds the
in-memory fake for contract tests. Each test starts from empty tables.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert

from adapters.sql.engine import make_engine, make_session_factory
from adapters.sql.migrate import upgrade
from adapters.sql.rows.base import Base
from adapters.sql.rows.events import OutboxSequenceRow
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import FixedClock
from tests.services import database_url, fresh_postgres_database

KINDS = ("sqlite", "postgresql")


class Databases:
    """Lazily created, migrated databases (one per kind), dropped at the end."""

    def __init__(self, tmp: Path) -> None:
        self._tmp = tmp
        self._stack = ExitStack()
        self._engines: dict[str, Engine] = {}
        self.urls: dict[str, str] = {}

    def engine(self, kind: str) -> Engine:
        if kind not in self._engines:
            if kind == "sqlite":
                url = f"sqlite:///{self._tmp / 'connector_test.db'}"
            else:
                url = self._stack.enter_context(fresh_postgres_database(database_url()))
            engine = make_engine(url)
            self._stack.callback(engine.dispose)
            upgrade(engine)
            self._engines[kind] = engine
            self.urls[kind] = url
        return self._engines[kind]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("sql"))
    yield dbs
    dbs.close()


def empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
        conn.execute(insert(OutboxSequenceRow).values(name="erp_events", value=0))


def clean_engine(databases: Databases, kind: str) -> Engine:
    engine = databases.engine(kind)
    empty_tables(engine)
    return engine


@pytest.fixture(params=KINDS)
def engine(request: pytest.FixtureRequest, databases: Databases) -> Engine:
    return clean_engine(databases, request.param)


@pytest.fixture
def pg_engine(databases: Databases) -> Engine:
    """PostgreSQL only: for interleavings SQLite cannot have (it runs one writer at a time)."""
    return clean_engine(databases, "postgresql")


@pytest.fixture
def sqlite_engine(databases: Databases) -> Engine:
    return clean_engine(databases, "sqlite")


@pytest.fixture
def db_url(engine: Engine, databases: Databases) -> str:
    return databases.urls[engine.dialect.name]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def sql_uow(engine: Engine, clock: FixedClock) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock)
