"""Rules 1 and 3's state: the ERP's stock reports, the holds of orders not yet accounted,
and the orders themselves."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sql.rows.base import Base
from adapters.sql.types import JsonDoc, UtcDateTime


class StockReportRow(Base):
    __tablename__ = "stock_reports"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)


class HoldRow(Base):
    __tablename__ = "holds"

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    line: Mapped[str] = mapped_column(String(128), primary_key=True)
    sku: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    units: Mapped[int] = mapped_column(Integer)
    accounted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    origin_node: Mapped[str | None] = mapped_column(String(64))


class OrderRow(Base):
    """One order id. A row with no payload, no ``accounted_at`` and nothing emitted is a
    placeholder inserted only to lock the id (see ``SqlOrders.get``): it reads as absent."""

    __tablename__ = "orders"

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    last_updated: Mapped[datetime | None] = mapped_column(UtcDateTime)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    accounted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    emitted: Mapped[str] = mapped_column(String(128), default="")
