"""What the connector reports: the ERP's event feed (with its cursor) and the audit log of
writes to ML."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sql.rows.base import Base, BigId
from adapters.sql.types import JsonDoc, UtcDateTime


class OutboxSequenceRow(Base):
    """The ERP feed's cursor: incremented (row-locked) by each appending transaction, so
    cursors are handed out in commit order and a reader never skips a late commit."""

    __tablename__ = "outbox_sequence"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ErpEventRow(Base):
    __tablename__ = "erp_events"
    # the retention purge's walk, oldest first (see AuditRow)
    __table_args__ = (Index("ix_erp_events_created_at_cursor", "created_at", "cursor"),)

    cursor: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(32))
    # the event's subject: the order (order.*), the shipment (order.shipping), the question
    order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    account: Mapped[str] = mapped_column(String(64))
    order: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"
    # The retention purge takes the oldest rows ``ORDER BY at, id LIMIT n``: with ``id`` in
    # its index that is a walk of the index's first entries. On ``at`` alone, PostgreSQL
    # without statistics on the table (autovacuum off, a restored dump) scanned and sorted
    # the whole table for every batch. The inbox and the ERP events do the same.
    __table_args__ = (Index("ix_audit_log_item", "account", "item_id", "at"),
                      Index("ix_audit_log_at_id", "at", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    account: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    after: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    response: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
