"""The retention purge's indexes carry the primary key too, in the purge's order:
``inbox (received_at, id)``, ``audit_log (at, id)``, ``erp_events (created_at, cursor)``
replace the one-column indexes of 0001 and 0006.

A purge batch picks the oldest rows ``ORDER BY <date>, <key> LIMIT n``. On the date alone,
PostgreSQL without statistics on the table (autovacuum off, a restored dump) planned each
batch as a scan and sort of the whole table; with the key in the index, the batch is a walk
of its first ``n`` entries whatever the statistics say.

On PostgreSQL the new indexes are built inside the upgrade's transaction: writes to these
tables wait while they build (seconds for millions of rows; ML retries what it could not
deliver, and the workers retry their jobs).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 01:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old index, its column, new index, its columns)
_INDEXES = (
    ("inbox", "ix_inbox_received_at", "received_at", "ix_inbox_received_at_id",
     ["received_at", "id"]),
    ("audit_log", "ix_audit_log_at", "at", "ix_audit_log_at_id", ["at", "id"]),
    ("erp_events", "ix_erp_events_created_at", "created_at", "ix_erp_events_created_at_cursor",
     ["created_at", "cursor"]),
)


def upgrade() -> None:
    for table, old, _column, new, columns in _INDEXES:
        op.create_index(new, table, columns, unique=False)
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, column, new, _columns in _INDEXES:
        op.create_index(old, table, [column], unique=False)
        op.drop_index(new, table_name=table)
