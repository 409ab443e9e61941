"""Two rules of the notification inbox shared by both ways of writing it
(:class:`~adapters.sql.inbox.SqlInbox` in a unit of work, and
:class:`~adapters.sql.pg_intake.PostgresIntake`'s single statement), and by its readers.

**Which waiting entry a new notification joins.** A notification for the same (topic,
resource) as a waiting entry joins it as a duplicate instead of making a new entry and job:
the entry's job will read the resource anyway. That only holds while the entry's job can
still run. An entry whose job failed its last attempt (a dead letter), whose job row is gone,
or whose job is already running would absorb every later notification for that resource and
none would ever be processed: one unreadable entry once silenced a resource for good. So a
notification joins only an entry whose job waits with attempts left (:func:`live_job`);
otherwise that entry is *retired* (marked processed with :data:`RETIRED_OUTCOME`, which
frees the resource's waiting slot) and the notification becomes a new entry with its own
job. A retired entry's job, if it still runs, finds it processed and does nothing; the new
entry's job does the work. (A duplicate arriving while the entry's job runs thus costs one
more ``ProcessNotification`` job: the resource is read once more, never once less.)

**Reading an entry never fails on its timestamps.** ``sent`` and ``received`` come from the
request; the webhook stores null outside the sane window, but a row written before that check
existed may hold an instant PostgreSQL keeps and Python cannot represent (year 0). Readers
select them through :func:`inbox_columns`, which reads such a value as null.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    exists,
    literal,
    null,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from adapters.sql.job_ledger import attempts_left
from adapters.sql.rows.jobs import InboxRow, JobRow
from adapters.sql.types import UtcDateTime
from connector_core.domain.commands import ProcessNotification
from connector_core.domain.inputs import EARLIEST, LATEST

# The dedup key of an entry's job is this prefix and the entry's id (checked at import).
JOB_KEY_PREFIX = ProcessNotification(0).dedup_key.removesuffix("0")
assert ProcessNotification(12).dedup_key == f"{JOB_KEY_PREFIX}12"

RETIRED_OUTCOME = ("retired: its job had failed, was gone or was running when a later "
                   "notification for the same resource arrived; that one took over")


def live_job(entry_id: Any, max_attempts: int | None) -> ColumnElement[bool]:
    """True when the entry ``entry_id`` (a column or value) has a job waiting to run with
    attempts left. One probe of ``uq_jobs_waiting_key``."""
    key = literal(JOB_KEY_PREFIX) + cast(entry_id, String)
    return exists().where(and_(JobRow.dedup_key == key, JobRow.claimed_at.is_(None),
                               attempts_left(max_attempts)))


def retire_dead_entry(session: Session, topic: str, resource: str, at: datetime,
                      max_attempts: int | None) -> int | None:
    """Retire the waiting entry of (topic, resource) if its job cannot run; its id."""
    retired = session.execute(
        update(InboxRow)
        .where(InboxRow.topic == topic, InboxRow.resource == resource,
               InboxRow.processed_at.is_(None), ~live_job(InboxRow.id, max_attempts))
        .values(processed_at=at, outcome=RETIRED_OUTCOME)
        .returning(InboxRow.id).execution_options(synchronize_session=False)).first()
    return None if retired is None else int(retired.id)


# The same two statements for PostgresIntake (named parameters: key_prefix, max_attempts,
# topic, resource, received_at).
LIVE_JOB_SQL = """EXISTS (SELECT 1 FROM jobs
    WHERE jobs.dedup_key = %(key_prefix)s::text || inbox.id
      AND jobs.claimed_at IS NULL AND jobs.attempts < %(max_attempts)s::integer)"""
RETIRE_SQL = f"""
UPDATE inbox SET processed_at = %(received_at)s::timestamptz, outcome = %(outcome)s::text
WHERE topic = %(topic)s::varchar AND resource = %(resource)s::varchar
  AND processed_at IS NULL AND NOT {LIVE_JOB_SQL}
RETURNING id
"""


def _readable(column: Any) -> Any:
    return type_coerce(case((column.between(EARLIEST, LATEST), column), else_=null()),
                       UtcDateTime)


def inbox_columns() -> list[Any]:
    """``InboxRow``'s columns, with ``sent`` and ``received`` read as null outside the sane
    window (see the module's docstring). Rows come back with the attribute names."""
    columns: list[Any] = []
    for column in InboxRow.__table__.columns:
        attribute = getattr(InboxRow, column.key)
        columns.append(_readable(attribute).label(column.key)
                       if column.key in ("sent", "received") else attribute)
    return columns


def select_inbox() -> Any:
    return select(*inbox_columns())
