"""The job machinery: the job ledger, the inbox of ML notifications, reconciliation
checkpoints and named locks."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sql.rows.base import Base, BigId
from adapters.sql.types import JsonDoc, UtcDateTime

_UNDISPATCHED = "dispatched_at IS NULL AND claimed_at IS NULL"


class JobRow(Base):
    """A command waiting to run. ``dedup_key`` is unique among unclaimed rows: a new command
    with the key of a waiting one joins it. The runner claims the row when it starts."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("uq_jobs_waiting_key", "dedup_key", unique=True,
              sqlite_where=text("claimed_at IS NULL"),
              postgresql_where=text("claimed_at IS NULL")),
        Index("ix_jobs_created_at", "created_at"),
        # What the relays take: jobs due at once in ``id`` order, and jobs the push window
        # holds back in the order they fall due (one index for both walked the held ones on
        # every call)
        Index("ix_jobs_ready", "id",
              sqlite_where=text(_UNDISPATCHED + " AND not_before IS NULL"),
              postgresql_where=text(_UNDISPATCHED + " AND not_before IS NULL")),
        Index("ix_jobs_held", "not_before", "id",
              sqlite_where=text(_UNDISPATCHED + " AND not_before IS NOT NULL"),
              postgresql_where=text(_UNDISPATCHED + " AND not_before IS NOT NULL")),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    command: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)  # held back until then
    lane: Mapped[str] = mapped_column(String(8), server_default="bulk")  # domain.lanes.Lane


class InboxRow(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        Index("uq_inbox_waiting_resource", "topic", "resource", unique=True,
              sqlite_where=text("processed_at IS NULL"),
              postgresql_where=text("processed_at IS NULL")),
        Index("ix_inbox_received_at_id", "received_at", "id"),  # the purge's walk
        # the sweeper's scan of waiting entries stays small however many were processed
        Index("ix_inbox_waiting", "id", sqlite_where=text("processed_at IS NULL"),
              postgresql_where=text("processed_at IS NULL")),
        # The duplicate check is ``min(id) WHERE ml_id = ?``: with ``id`` in this index it
        # is one index probe. On ``ml_id`` alone, PostgreSQL without statistics on the table
        # (autovacuum off, a restored dump) plans it as a walk of the primary key filtering
        # on ``ml_id``, which reads the whole inbox for every new notification.
        Index("ix_inbox_ml_id_id", "ml_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(512))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    application_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int | None] = mapped_column(Integer)
    sent: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ml_id: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(Text, default="")


class CheckpointRow(Base):
    __tablename__ = "checkpoints"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class LockRow(Base):
    """Named locks for :class:`adapters.sql.locks.SqlLocks`: one row per held name."""

    __tablename__ = "named_locks"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
