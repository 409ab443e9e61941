"""``SqlLocks``: the Locks port for deployments without Redis.

PostgreSQL: session-level advisory locks on a connection held for the duration (a killed
holder's connection closes and the server releases the lock; ``ttl`` is not needed for that,
and a live holder is never robbed). Other databases (SQLite on one machine): a row in
``named_locks`` with an expiry, taken with ``INSERT ... ON CONFLICT DO NOTHING`` after
deleting an expired row, so a killed holder blocks the others at most ``ttl`` seconds.
"""

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, text

from adapters.sql.base import insert_for_dialect
from adapters.sql.rows import LockRow

POLL_S = 0.05
MAX_POLL_S = 0.5


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name``."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


class SqlLocks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def hold(self, name: str, *, ttl: float = 60.0, wait: float = 30.0) -> Iterator[None]:
        if self._engine.dialect.name == "postgresql":
            with self._advisory(name, wait):
                yield
        else:
            with self._row_lock(name, ttl, wait):
                yield

    @contextmanager
    def _advisory(self, name: str, wait: float) -> Iterator[None]:
        key = advisory_key(name)
        with self._engine.connect() as conn:
            _poll(lambda: _try_advisory(conn, key), name, wait)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    @contextmanager
    def _row_lock(self, name: str, ttl: float, wait: float) -> Iterator[None]:
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

        _poll(attempt, name, wait)
        try:
            yield
        finally:
            with self._engine.begin() as conn:
                conn.execute(delete(LockRow).where(LockRow.name == name, LockRow.owner == owner))


def _try_advisory(conn: Connection, key: int) -> bool:
    got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
    conn.commit()  # the lock is the session's; don't sit idle in a transaction
    return bool(got)


def _poll(attempt: Callable[[], bool], name: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    pause = POLL_S
    while not attempt():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"lock {name!r} still held after {wait}s")
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, MAX_POLL_S)

