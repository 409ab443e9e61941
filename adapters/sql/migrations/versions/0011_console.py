"""What the operator's console reads that nothing stored before: ML calls counted per minute
(``ml_call_minutes``, 429s included), the operators' actions (``console_actions``), the
items' titles as ML last showed them (``listing_titles``, for the search) and when each
account's tokens were last stored (``accounts.token_refreshed_at``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ml_call_minutes",
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "kind", "status", name="pk_ml_call_minutes"),
    )
    op.create_table(
        "console_actions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_console_actions"),
    )
    op.create_index("ix_console_actions_at", "console_actions", ["at"], unique=False)
    op.create_table(
        "listing_titles",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "item_id", name="pk_listing_titles"),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_refreshed_at", sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("token_refreshed_at")
    op.drop_table("listing_titles")
    op.drop_index("ix_console_actions_at", table_name="console_actions")
    op.drop_table("console_actions")
    op.drop_table("ml_call_minutes")
