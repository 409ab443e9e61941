"""The real services integration tests need: skip when absent, FAIL when absent under CI.

``CI=true`` means the pipeline promised the service; a missing one is then a failure, not a
silent skip. The PostgreSQL server may be shared with other test runs: tests get a fresh
database of their own (:func:`fresh_postgres_database`), never the shared one's tables.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _missing(what: str, why: str) -> None:
    message = f"{what} unavailable: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the service is required)", pytrace=False)
    pytest.skip(message)


def database_url() -> str:
    """TEST_DATABASE_URL (default: local PostgreSQL), checked to answer."""
    from sqlalchemy import create_engine, text

    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        _missing("PostgreSQL", f"{url}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()
    return url


def redis_url() -> str:
    """REDIS_URL (default: local Redis), checked to answer. Never flush it: it is shared."""
    import redis

    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        _missing("Redis", f"{url}: {type(exc).__name__}: {exc}")
    return url


@contextmanager
def fresh_postgres_database(url: str) -> Iterator[str]:
    """Create ``connector_t_<random>`` on the server of ``url``; yield its URL; drop it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"connector_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
