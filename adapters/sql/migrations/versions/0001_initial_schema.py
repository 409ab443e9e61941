"""Initial schema: accounts, mappings and kits, stock, orders, prices, outboxes, inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:53:12.650130
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.String(length=8), nullable=False),
        sa.Column("warehouses", sa.JSON(), nullable=True),
        sa.Column("nickname", sa.String(length=128), nullable=True),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_user_id", sa.BigInteger(), nullable=True),
        sa.Column("token_scope", sa.Text(), nullable=False),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_accounts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_accounts_user_id")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_item", ["account", "item_id", "at"], unique=False)

    op.create_table(
        "catalog_skus",
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_catalog_skus")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "name", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "competitor_prices",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("variation_id", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.String(length=48), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "account", "item_id", "variation_id", name=op.f("pk_competitor_prices")
        ),
    )
    op.create_table(
        "erp_events",
        sa.Column("cursor", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("order", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cursor", name=op.f("pk_erp_events")),
    )
    with op.batch_alter_table("erp_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erp_events_order_id"), ["order_id"], unique=False)

    op.create_table(
        "erp_prices",
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("cost", sa.String(length=48), nullable=True),
        sa.Column("cost_as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("list_price", sa.String(length=48), nullable=True),
        sa.Column("list_price_as_of", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_erp_prices")),
    )
    op.create_table(
        "holds",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("accounted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "line", "sku", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_sku"), ["sku"], unique=False)

    op.create_table(
        "inbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=512), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("application_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=True),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ml_id", sa.String(length=64), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_received_at", ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_ml_id"), ["ml_id"], unique=False)
        batch_op.create_index(
            "uq_inbox_waiting_resource",
            ["topic", "resource"],
            unique=True,
            sqlite_where=sa.text("processed_at IS NULL"),
            postgresql_where=sa.text("processed_at IS NULL"),
        )

    op.create_table(
        "jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("command", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "uq_jobs_waiting_key",
            ["dedup_key"],
            unique=True,
            sqlite_where=sa.text("claimed_at IS NULL"),
            postgresql_where=sa.text("claimed_at IS NULL"),
        )

    op.create_table(
        "kit_components",
        sa.Column("kit_sku", sa.String(length=128), nullable=False),
        sa.Column("component_sku", sa.String(length=128), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kit_sku", "component_sku", name=op.f("pk_kit_components")),
    )
    op.create_table(
        "mapping_rows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("variation_id", sa.BigInteger(), nullable=False),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapping_rows")),
        sa.UniqueConstraint("account", "item_id", "variation_id", name="uq_mapping_rows_listing"),
    )
    with op.batch_alter_table("mapping_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mapping_rows_sku"), ["sku"], unique=False)

    op.create_table(
        "named_locks",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_named_locks")),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("accounted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emitted", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_orders")),
    )
    op.create_table(
        "outbox_sequence",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbox_sequence")),
    )
    op.execute("INSERT INTO outbox_sequence (name, value) VALUES ('erp_events', 0)")
    op.create_table(
        "pricing_rules",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("min_markup", sa.String(length=48), nullable=False),
        sa.Column("target_markup", sa.String(length=48), nullable=True),
        sa.Column("max_price", sa.String(length=48), nullable=True),
        sa.Column("max_markup", sa.String(length=48), nullable=True),
        sa.Column("fee_rate", sa.String(length=48), nullable=False),
        sa.Column("fixed_fee", sa.String(length=48), nullable=False),
        sa.Column("shipping_cost", sa.String(length=48), nullable=False),
        sa.Column("min_change", sa.String(length=48), nullable=False),
        sa.Column("undercut", sa.String(length=48), nullable=True),
        sa.Column("strategy", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_pricing_rules")),
    )
    op.create_table(
        "stock_reports",
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("warehouse", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku", "warehouse", name=op.f("pk_stock_reports")),
    )


def downgrade() -> None:

    op.drop_table("stock_reports")
    op.drop_table("pricing_rules")
    op.drop_table("outbox_sequence")
    op.drop_table("orders")
    op.drop_table("named_locks")
    with op.batch_alter_table("mapping_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mapping_rows_sku"))

    op.drop_table("mapping_rows")
    op.drop_table("kit_components")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_jobs_waiting_key",
            sqlite_where=sa.text("claimed_at IS NULL"),
            postgresql_where=sa.text("claimed_at IS NULL"),
        )
        batch_op.drop_index("ix_jobs_created_at")

    op.drop_table("jobs")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_inbox_waiting_resource",
            sqlite_where=sa.text("processed_at IS NULL"),
            postgresql_where=sa.text("processed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_inbox_ml_id"))
        batch_op.drop_index("ix_inbox_received_at")

    op.drop_table("inbox")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_sku"))

    op.drop_table("holds")
    op.drop_table("erp_prices")
    with op.batch_alter_table("erp_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erp_events_order_id"))

    op.drop_table("erp_events")
    op.drop_table("competitor_prices")
    op.drop_table("checkpoints")
    op.drop_table("catalog_skus")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_item")

    op.drop_table("audit_log")
    op.drop_table("accounts")
