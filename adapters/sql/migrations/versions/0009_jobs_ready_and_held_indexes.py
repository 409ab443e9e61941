"""Jobs not yet dispatched get two partial indexes instead of one: ``ix_jobs_ready`` (``id``,
jobs due at once) and ``ix_jobs_held`` (``not_before, id``, jobs the ERP push window holds
back), replacing 0004's ``ix_jobs_undispatched``.

Every relay takes jobs every 50 ms and asks when the next held-back one is due. On the one
index both walked past every held-back job (thousands during a catalogue re-sync with
``push_delay_seconds`` set) on each call; now each reads about what it returns.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDISPATCHED = "dispatched_at IS NULL AND claimed_at IS NULL"
READY = f"{UNDISPATCHED} AND not_before IS NULL"
HELD = f"{UNDISPATCHED} AND not_before IS NOT NULL"


def upgrade() -> None:
    op.create_index("ix_jobs_ready", "jobs", ["id"], unique=False,
                    sqlite_where=sa.text(READY), postgresql_where=sa.text(READY))
    op.create_index("ix_jobs_held", "jobs", ["not_before", "id"], unique=False,
                    sqlite_where=sa.text(HELD), postgresql_where=sa.text(HELD))
    op.drop_index("ix_jobs_undispatched", table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_undispatched", "jobs", ["id"], unique=False,
                    sqlite_where=sa.text(UNDISPATCHED), postgresql_where=sa.text(UNDISPATCHED))
    op.drop_index("ix_jobs_held", table_name="jobs")
    op.drop_index("ix_jobs_ready", table_name="jobs")
