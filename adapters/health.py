"""Health checks of the database and Redis: ``{name: (ok, detail)}`` for ``/health``."""

from redis import Redis
from sqlalchemy import text
from sqlalchemy.engine import Engine


def check(engine: Engine, redis: Redis | None) -> dict[str, tuple[bool, str]]:
    checks: dict[str, tuple[bool, str]] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = (True, engine.dialect.name)
    except Exception as exc:
        checks["database"] = (False, type(exc).__name__)
    if redis is None:
        checks["redis"] = (True, "not configured: jobs run in-process")
    else:
        try:
            redis.ping()
            checks["redis"] = (True, "ok")
        except Exception as exc:
            checks["redis"] = (False, type(exc).__name__)
    return checks
