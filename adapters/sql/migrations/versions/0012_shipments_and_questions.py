"""``shipments`` and ``questions``: what the connector knows of each shipment and buyer's
question, and which ERP events it has added for them (issue 22).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("shipment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_shipments")),
    )
    op.create_index("ix_shipments_open", "shipments", ["account", "final", "updated_at"])
    op.create_table(
        "questions",
        sa.Column("question_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_questions")),
    )
    op.create_index("ix_questions_account_status", "questions", ["account", "status"])


def downgrade() -> None:
    op.drop_index("ix_questions_account_status", "questions")
    op.drop_table("questions")
    op.drop_index("ix_shipments_open", "shipments")
    op.drop_table("shipments")
