"""What the admin and the ERP declare: the mapping table, kits, declared SKUs, the ERP's
prices, competitors' prices and the pricing rules."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sql.rows.base import Base, BigId
from adapters.sql.types import DecimalText, UtcDateTime


class ListingMappingRow(Base):
    """A row of the mapping table: which SKU one listing sells, with its limits."""

    __tablename__ = "mapping_rows"
    __table_args__ = (
        UniqueConstraint("account", "item_id", "variation_id", name="uq_mapping_rows_listing"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(128), index=True)
    account: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(64))
    variation_id: Mapped[int] = mapped_column(BigInteger, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    max_quantity: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class KitComponentRow(Base):
    __tablename__ = "kit_components"

    kit_sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    component_sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    units: Mapped[int] = mapped_column(Integer)


class CatalogSkuRow(Base):
    """SKUs declared in ``[catalog] skus`` (used only as kit components)."""

    __tablename__ = "catalog_skus"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)


class ErpPriceRow(Base):
    __tablename__ = "erp_prices"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    cost: Mapped[Decimal | None] = mapped_column(DecimalText)
    cost_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime)
    list_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    list_price_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CompetitorPriceRow(Base):
    __tablename__ = "competitor_prices"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    variation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0)
    price: Mapped[Decimal] = mapped_column(DecimalText)
    as_of: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PricingRuleRow(Base):
    """``scope`` is ``default`` (key ``""``), ``sku`` (key = SKU) or ``listing``
    (key = ``account:ITEM_ID`` or ``account:ITEM_ID/VARIATION_ID``)."""

    __tablename__ = "pricing_rules"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    min_markup: Mapped[Decimal] = mapped_column(DecimalText)
    target_markup: Mapped[Decimal | None] = mapped_column(DecimalText)
    max_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    max_markup: Mapped[Decimal | None] = mapped_column(DecimalText)
    fee_rate: Mapped[Decimal] = mapped_column(DecimalText)
    fixed_fee: Mapped[Decimal] = mapped_column(DecimalText)
    shipping_cost: Mapped[Decimal] = mapped_column(DecimalText)
    min_change: Mapped[Decimal] = mapped_column(DecimalText)
    undercut: Mapped[Decimal | None] = mapped_column(DecimalText)
    strategy: Mapped[str | None] = mapped_column(String(32))
