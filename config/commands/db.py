"""``meli-connector db upgrade``: Alembic migrations to head against ``DATABASE_URL``."""

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from connector_core.domain.errors import InvalidInput


def open_database(settings: Settings, *, migrated: bool = True
                  ) -> tuple[Engine, sessionmaker[Session]]:
    """The engine and session factory for ``settings``; with ``migrated`` the schema must
    be at the newest revision (a one-line error otherwise)."""
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("alembic").setLevel(logging.WARNING)  # before alembic's imports log
    from sqlalchemy.exc import SQLAlchemyError

    from adapters.sql.engine import make_engine, make_session_factory
    from adapters.sql.migrate import current_revision, head_revision

    try:
        engine = make_engine(settings.database_url)
        if migrated:
            revision = current_revision(engine)
            if revision != head_revision():
                raise InvalidInput(f"the database is at revision {revision or 'none'}, not "
                                   f"{head_revision()}: run `meli-connector db upgrade`")
    except SQLAlchemyError as exc:
        raise InvalidInput(f"cannot use the database: {_first_line(exc)}") from exc
    except ValueError as exc:
        raise InvalidInput(f"DATABASE_URL: {exc}") from exc
    return engine, make_session_factory(engine)


def migrated_connector() -> Any:
    """This process's :class:`config.bootstrap.Connector`, once its database is known to be
    at the newest revision (a one-line error otherwise, never a traceback)."""
    from sqlalchemy.exc import SQLAlchemyError

    from adapters.sql.migrate import current_revision, head_revision
    from config import jobs

    connector = jobs.connector()
    if connector.schema_checked:
        return connector
    try:
        revision = current_revision(connector.engine)
    except SQLAlchemyError as exc:
        raise InvalidInput(f"cannot use the database: {_first_line(exc)}") from exc
    except ValueError as exc:
        raise InvalidInput(f"DATABASE_URL: {exc}") from exc
    if revision != head_revision():
        raise InvalidInput(f"the database is at revision {revision or 'none'}, not "
                           f"{head_revision()}: run `meli-connector db upgrade`")
    connector.schema_checked = True
    return connector


def connector_with_tokens() -> Any:
    """:func:`migrated_connector` for a command that calls ML: ``CONNECTOR_SECRET_KEY`` is
    checked first to decrypt every stored token, so a wrong or missing key is a one-line
    error and a non-zero exit, not jobs queued that can only fail."""
    connector = migrated_connector()
    with database_errors():
        connector.tokens.check_key()
    return connector


@contextmanager
def database_errors() -> Iterator[None]:
    """Database failures as a one-line :class:`InvalidInput` (the CLI prints those)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        raise InvalidInput(f"database error: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]


def _upgrade(args: argparse.Namespace) -> int:
    settings = Settings.load(config_path=args.config)
    engine, _ = open_database(settings, migrated=False)
    from sqlalchemy.exc import SQLAlchemyError

    from adapters.sql.migrate import current_revision, upgrade

    try:
        upgrade(engine)
        print(f"database at revision {current_revision(engine)}")
    except SQLAlchemyError as exc:
        raise InvalidInput(f"migration failed: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("db", help="database maintenance")
    db_sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="apply the migrations to DATABASE_URL")
    up.add_argument("--config", help="connector.toml (default: $CONNECTOR_CONFIG or "
                                     "config/connector.toml)")
    up.set_defaults(handler=_upgrade)
