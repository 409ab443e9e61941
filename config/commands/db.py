"""``meli-connector db upgrade``: Alembic migrations to head against ``DATABASE_URL``."""

import argparse
from typing import Any

from config.connecting import first_line, open_database
from config.settings import Settings
from connector_core.domain.errors import InvalidInput


def _upgrade(args: argparse.Namespace) -> int:
    settings = Settings.load(config_path=args.config)
    engine = open_database(settings, migrated=False)
    from sqlalchemy.exc import SQLAlchemyError

    from adapters.sql.migrate import current_revision, upgrade

    try:
        upgrade(engine)
        print(f"database at revision {current_revision(engine)}")
    except SQLAlchemyError as exc:
        raise InvalidInput(f"migration failed: {first_line(exc)}") from exc
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
