"""After the sale: shipments and buyers' questions."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sql.rows.base import Base
from adapters.sql.types import JsonDoc, UtcDateTime


class ShipmentRow(Base):
    """One shipment: ``record`` is its :class:`ShipmentRecord` as JSON (null: a placeholder
    inserted only to lock the id); ``final`` and ``updated_at`` find the open ones."""

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_open", "account", "final", "updated_at"),)

    shipment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    record: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class QuestionRow(Base):
    """One buyer's question: ``record`` is its :class:`QuestionRecord` as JSON (null: a
    placeholder locking the id); ``status`` finds the open ones."""

    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_account_status", "account", "status"),)

    question_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    record: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
