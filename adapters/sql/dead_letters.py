"""Give dead letters (jobs that used up their attempts) a fresh set of attempts."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.serialization import command_from_json
from adapters.sql.rows import JobRow
from connector_core.domain.commands import Command


def revive_dead_letters(session: Session, *, max_attempts: int, job_id: int | None,
                        now: datetime) -> list[tuple[int, Command]]:
    """Reset the attempts of one dead letter (``job_id``) or all of them, marking them as
    queued ``now`` (the caller queues them after commit; if it cannot, the sweeper does).
    The ``(job id, command)`` pairs revived, oldest first; none when ``job_id`` is not a
    dead letter."""
    dead = (JobRow.claimed_at.is_(None)) & (JobRow.attempts >= max_attempts)
    if job_id is not None:
        dead = dead & (JobRow.id == job_id)
    ids = list(session.scalars(select(JobRow.id).where(dead).order_by(JobRow.id)
                               .with_for_update()))
    if not ids:
        return []
    session.execute(update(JobRow).where(JobRow.id.in_(ids), dead)
                    .values(attempts=0, dispatched_at=now)
                    .execution_options(synchronize_session=False))
    rows = session.execute(select(JobRow.id, JobRow.command).where(JobRow.id.in_(ids))
                           .order_by(JobRow.id))
    return [(row_id, command_from_json(command)) for row_id, command in rows]
