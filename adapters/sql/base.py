"""What every SQL repository shares: the session accessor, chunked IN lists, upserts."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Select, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

T = TypeVar("T")
CHUNK = 500  # bound the number of bind parameters per IN (...)


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_for_dialect(dialect_name: str, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the database (PostgreSQL or SQLite)."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_for(session: Session, table: Any) -> Any:
    return insert_for_dialect(session.get_bind().dialect.name, table)


def delete_batch(session: Session, table: Any, *, key: Any, where: Sequence[Any],
                 order_by: Sequence[Any], limit: int) -> int:
    """Delete up to ``limit`` rows of ``table`` matching ``where`` (taken in ``order_by``
    order, by primary key ``key``), in one statement; how many went.

    For retention purges: the batch bounds how long the rows stay locked. On PostgreSQL the
    rows are picked ``FOR UPDATE SKIP LOCKED``, so a purge never waits on a row a worker
    holds (it goes in a later batch)."""
    pick = select(key).where(*where).order_by(*order_by).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    result = session.execute(delete(table).where(key.in_(pick.scalar_subquery()))
                             .execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount)


class Repo:
    def __init__(self, session_of: Callable[[], Session]) -> None:
        self._session_of = session_of

    @property
    def session(self) -> Session:
        return self._session_of()

    def _all(self, stmt: Select[T]) -> list[T]:
        # populate_existing: rows written by ON CONFLICT statements are re-read, not cached.
        return list(self.session.scalars(stmt.execution_options(populate_existing=True)))


def variation_key(variation_id: int | None) -> int:
    return 0 if variation_id is None else variation_id


def variation_from_key(stored: int) -> int | None:
    return None if stored == 0 else stored
