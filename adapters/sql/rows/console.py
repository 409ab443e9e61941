"""The operator console's tables: ML calls per minute, operators' actions, item titles."""

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sql.rows.base import Base, BigId
from adapters.sql.types import UtcDateTime


class MlCallMinuteRow(Base):
    """ML calls answered in one minute, by kind (``api``, ``oauth``) and HTTP status."""

    __tablename__ = "ml_call_minutes"

    minute: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class ConsoleActionRow(Base):
    """One action an operator took in the console, with what came of it."""

    __tablename__ = "console_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    operator: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(Text)


class ListingTitleRow(Base):
    """An item's title as ML last showed it (the console searches titles here)."""

    __tablename__ = "listing_titles"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
