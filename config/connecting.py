"""How a CLI command gets its connector: the database checked to be at the newest schema, the
secret key checked to decrypt the stored tokens when the command calls ML, and every failure
a one-line :class:`InvalidInput` (the CLI prints those), never a traceback.

Imports stay inside the functions: ``meli-connector --help`` must not load SQLAlchemy.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from config.settings import Settings
from connector_core.domain.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from config.bootstrap import Connector


def open_database(settings: Settings, *, migrated: bool = True) -> "Engine":
    """The engine for ``settings``; with ``migrated`` the schema must be at the newest
    revision."""
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("alembic").setLevel(logging.WARNING)  # before alembic's imports log
    from sqlalchemy.exc import SQLAlchemyError

    from adapters.sql.engine import make_engine

    try:
        engine = make_engine(settings.database_url)
        if migrated:
            _check_schema(engine)
    except SQLAlchemyError as exc:
        raise InvalidInput(f"cannot use the database: {first_line(exc)}") from exc
    except ValueError as exc:
        raise InvalidInput(f"DATABASE_URL: {exc}") from exc
    return engine


def _check_schema(engine: "Engine") -> None:
    from adapters.sql.migrate import current_revision, head_revision

    revision = current_revision(engine)
    if revision != head_revision():
        raise InvalidInput(f"the database is at revision {revision or 'none'}, not "
                           f"{head_revision()}: run `meli-connector db upgrade`")


def migrated_connector() -> "Connector":
    """This process's connector (``config.jobs``), once its database is known to be at the
    newest revision."""
    from sqlalchemy.exc import SQLAlchemyError

    from config import jobs

    connector = jobs.connector()
    if connector.schema_checked:
        return connector
    try:
        _check_schema(connector.engine)
    except SQLAlchemyError as exc:
        raise InvalidInput(f"cannot use the database: {first_line(exc)}") from exc
    except ValueError as exc:
        raise InvalidInput(f"DATABASE_URL: {exc}") from exc
    connector.schema_checked = True
    return connector


def connector_with_tokens() -> "Connector":
    """:func:`migrated_connector` for a command that calls ML: ``CONNECTOR_SECRET_KEY`` is
    checked first to decrypt every stored token, so a wrong or missing key is a one-line
    error and a non-zero exit, not jobs queued that can only fail."""
    connector = migrated_connector()
    with database_errors():
        connector.tokens.check_key()
    return connector


@contextmanager
def connector_for(settings: Settings) -> Iterator["Connector"]:
    """A connector for ``settings`` (a command's own ``--config``) on a migrated database,
    closed at the end; database failures inside are one-line errors."""
    from config.bootstrap import Connector

    engine = open_database(settings)
    connector = Connector(settings, engine=engine)
    connector.schema_checked = True
    try:
        with database_errors():
            yield connector
    finally:
        connector.close()


@contextmanager
def database_errors() -> Iterator[None]:
    """Database failures as a one-line :class:`InvalidInput`."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        raise InvalidInput(f"database error: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
