"""``SqlLocks``: the Locks port for deployments without Redis.

A row in ``named_locks`` with an expiry, on every database: taken with ``INSERT ... ON
CONFLICT DO NOTHING`` after deleting an expired row, released by deleting it. A holder that
is killed, or hangs, blocks the others at most ``ttl`` seconds; after that the lock is
taken over, as with Redis. (PostgreSQL's advisory locks were not used for this: they last as
long as the holder's connection, so a hung holder kept them for ever.)
"""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, update

from adapters.sql.base import insert_for_dialect
from adapters.sql.rows.jobs import LockRow

POLL_S = 0.05
MAX_POLL_S = 0.5


class SqlLocks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def hold(self, name: str, *, ttl: float = 60.0,
             wait: float = 30.0) -> Iterator[Callable[[], None]]:
        owner = uuid.uuid4().hex

        def attempt() -> bool:
            now = datetime.now(UTC)
            with self._engine.begin() as conn:
                conn.execute(delete(LockRow).where(LockRow.name == name,
                                                   LockRow.expires_at < now))
                stmt = (insert_for_dialect(conn.dialect.name, LockRow)
                        .values(name=name, owner=owner, expires_at=now + timedelta(seconds=ttl))
                        .on_conflict_do_nothing(index_elements=[LockRow.name])
                        .returning(LockRow.name))
                return conn.execute(stmt).first() is not None

        def renew() -> None:
            with self._engine.begin() as conn:
                conn.execute(update(LockRow).where(LockRow.name == name, LockRow.owner == owner)
                             .values(expires_at=datetime.now(UTC) + timedelta(seconds=ttl)))

        _poll(attempt, name, wait)
        try:
            yield renew
        finally:
            with self._engine.begin() as conn:
                conn.execute(delete(LockRow).where(LockRow.name == name, LockRow.owner == owner))


def _poll(attempt: Callable[[], bool], name: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    pause = POLL_S
    while not attempt():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"lock {name!r} still held after {wait}s")
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, MAX_POLL_S)

