"""User Products and multi-origin stock: the seller model and the items' UPs as last read
(``ml_seller_models``, ``ml_listings``), the ML stores of each account's warehouses
(``accounts.stores``) and the origin node of a hold (``holds.origin_node``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("stores", sa.JSON(), nullable=True))
    op.add_column("holds", sa.Column("origin_node", sa.String(64), nullable=True))
    op.create_table(
        "ml_seller_models",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("user_product_seller", sa.Boolean(), nullable=False),
        sa.Column("multi_origin", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", name="pk_ml_seller_models"))
    op.create_table(
        "ml_listings",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("user_product_id", sa.String(64), nullable=True),
        sa.Column("sku", sa.String(128), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("migrated_in", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "item_id", name="pk_ml_listings"))
    op.create_index("ix_ml_listings_user_product_id", "ml_listings", ["user_product_id"])


def downgrade() -> None:
    op.drop_index("ix_ml_listings_user_product_id", table_name="ml_listings")
    op.drop_table("ml_listings")
    op.drop_table("ml_seller_models")
    op.drop_column("holds", "origin_node")
    op.drop_column("accounts", "stores")
