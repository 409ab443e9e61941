"""Typed rows (SQLAlchemy 2 declarative): the database shape, translated to and from the
domain by the repositories. The domain classes never see these.

Conventions: times are :class:`UtcDateTime`, money is :class:`DecimalText`; a listing without
a variation stores ``variation_id = 0`` (ML variation ids are positive) so the listing's
uniqueness holds on every database (NULLs are distinct in a unique index).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from adapters.sql.types import DecimalText, JsonDoc, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An auto-incrementing 64-bit id (SQLite only auto-increments INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AccountRow(Base):
    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    site_id: Mapped[str] = mapped_column(String(8))
    warehouses: Mapped[list[str] | None] = mapped_column(JsonDoc)
    stores: Mapped[list[dict[str, str]] | None] = mapped_column(JsonDoc)
    nickname: Mapped[str | None] = mapped_column(String(128))
    # Fernet tokens (never plaintext); see adapters.sql.tokens.
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    token_user_id: Mapped[int | None] = mapped_column(BigInteger)
    token_scope: Mapped[str] = mapped_column(Text, default="")
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    token_refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # last stored

    def __repr__(self) -> str:  # never the tokens
        return f"AccountRow(name={self.name!r}, user_id={self.user_id}, site_id={self.site_id!r})"


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


class OAuthStateRow(Base):
    """A pending ``accounts connect``: the ``state`` sent to ML, and whose connection it is.

    ML does not check ``state``; the callback does: only a state issued here, unused and
    not expired, completes a connection (and names the account)."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


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
