"""The inbox's ML ``_id`` index carries ``id`` too: ``ix_inbox_ml_id`` (``ml_id``) becomes
``ix_inbox_ml_id_id`` (``ml_id, id``), so the duplicate check ``min(id) WHERE ml_id = ?`` is
one index probe whatever the planner's statistics say (without them, PostgreSQL picked a walk
of the whole primary key for it once the inbox held some tens of thousands of rows).

On PostgreSQL the new index is built inside the upgrade's transaction: writes to the inbox
wait while it builds (seconds for millions of rows; ML retries what it could not deliver).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 23:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbox_ml_id_id", "inbox", ["ml_id", "id"], unique=False)
    op.drop_index("ix_inbox_ml_id", table_name="inbox")


def downgrade() -> None:
    op.create_index("ix_inbox_ml_id", "inbox", ["ml_id"], unique=False)
    op.drop_index("ix_inbox_ml_id_id", table_name="inbox")
