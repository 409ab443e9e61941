"""The composition root's first layer: what a process stores through (the database, Redis,
the locks, the encrypted tokens), built from the settings alone.

:class:`config.bootstrap.Connector` stands on it (through :class:`config.ml_parts.MlParts`);
every part is built on first use, so a command that only reads the database never opens a
Redis connection.
"""

from functools import cached_property

from redis import Redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.clock import SystemClock
from adapters.redis_locks import RedisLocks, connect_redis
from adapters.sql.admin import SqlAdminTables
from adapters.sql.engine import make_engine, make_session_factory
from adapters.sql.locks import SqlLocks
from adapters.sql.pg_intake import PostgresIntake
from adapters.sql.tokens import SqlTokenStore
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from config.settings import Settings
from connector_core.domain.jobs import MAX_ATTEMPTS
from connector_core.ports.clock import Clock
from connector_core.ports.inbox import NotificationIntake
from connector_core.ports.locks import Locks
from connector_core.services.notifications import UnitOfWorkIntake


class StorageParts:
    """``engine`` and ``clock`` override the built ones (tests, a command's own database)."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 engine: Engine | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._engine = engine
        self.schema_checked = False  # set by the CLI once the schema is known to be current

    @cached_property
    def engine(self) -> Engine:
        return self._engine or make_engine(self.settings.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def uow(self) -> SqlAlchemyUnitOfWork:
        """One unit of work shared by the process's threads (a session per ``with``)."""
        return SqlAlchemyUnitOfWork(self.session_factory, clock=self.clock,
                                    max_attempts=MAX_ATTEMPTS)

    @cached_property
    def admin_tables(self) -> SqlAdminTables:
        return SqlAdminTables(self.uow)

    @cached_property
    def intake(self) -> NotificationIntake:
        """How the webhook stores a notification with its job: one statement on PostgreSQL,
        the unit of work elsewhere."""
        if self.engine.dialect.name == "postgresql":
            return PostgresIntake.beside(self.engine, self.clock, max_attempts=MAX_ATTEMPTS)
        return UnitOfWorkIntake(self.uow, self.clock)

    @cached_property
    def redis(self) -> Redis | None:
        return connect_redis(self.settings.redis_url) if self.settings.redis_url else None

    @cached_property
    def locks(self) -> Locks:
        return RedisLocks(self.redis) if self.redis is not None else SqlLocks(self.engine)

    @cached_property
    def tokens(self) -> SqlTokenStore:
        return SqlTokenStore(self.session_factory, self.settings.require_secret_key())

    def close(self) -> None:
        """Close what was opened (what was never used was never built)."""
        if "redis" in self.__dict__ and self.redis is not None:
            self.redis.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "intake" in self.__dict__ and isinstance(self.intake, PostgresIntake):
            self.intake.dispose()
