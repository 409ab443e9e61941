"""Partial index on the inbox's waiting entries (the sweeper's query).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbox_waiting", "inbox", ["id"], unique=False,
                    sqlite_where=sa.text("processed_at IS NULL"),
                    postgresql_where=sa.text("processed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_inbox_waiting", table_name="inbox")
