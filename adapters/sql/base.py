"""What every SQL repository shares: the session accessor, chunked IN lists, upserts."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Select
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
