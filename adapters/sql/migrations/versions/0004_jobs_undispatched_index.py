"""Partial index on jobs never dispatched (what every dispatch after a commit looks for).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "dispatched_at IS NULL AND claimed_at IS NULL"


def upgrade() -> None:
    op.create_index("ix_jobs_undispatched", "jobs", ["id"], unique=False,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index("ix_jobs_undispatched", table_name="jobs")
