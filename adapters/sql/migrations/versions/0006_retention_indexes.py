"""Indexes the retention purge walks, oldest first: ``audit_log.at``, ``erp_events.created_at``
(the inbox's ``received_at`` index exists since 0001).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_erp_events_created_at", "erp_events", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_erp_events_created_at", table_name="erp_events")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
