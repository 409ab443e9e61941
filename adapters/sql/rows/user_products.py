"""User Products: what ML said about an account's item model, and its items as last read."""

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sql.rows.base import Base
from adapters.sql.types import UtcDateTime


class SellerModelRow(Base):
    """What ML last said about an account's item model (User Products, multi-origin)."""

    __tablename__ = "ml_seller_models"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_product_seller: Mapped[bool] = mapped_column(Boolean)
    multi_origin: Mapped[bool] = mapped_column(Boolean)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MlListingRow(Base):
    """An ML item of an account as last read: its User Product, and whether it is closed
    (``replaced_by``: the items a UPtin migration made of it, when known)."""

    __tablename__ = "ml_listings"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_product_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sku: Mapped[str | None] = mapped_column(String(128))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    migrated_in: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
