"""Jobs: a command stored with the state change that caused it, run until it succeeds or is a
dead letter.

A job that fails is retried after each of :data:`RETRY_INTERVALS` (seconds); the run after
the last one is its last attempt. A job that used up :data:`MAX_ATTEMPTS` runs is a dead
letter: it waits for an operator (``meli-connector jobs failed``/``retry``), and new work
with its key replaces it instead of joining it.
"""

import re
from datetime import datetime

from attrs import frozen

from connector_core.domain.commands import Command
from connector_core.domain.errors import InvalidInput

RETRY_INTERVALS: tuple[int, ...] = (5, 15, 60, 180, 600)
MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1
_JOB_ID = re.compile(r"job-[0-9]{1,18}")  # ASCII digits: isdigit() also takes "²"


def is_dead_letter(attempts: int, max_attempts: int | None = MAX_ATTEMPTS) -> bool:
    """A job run ``attempts`` times has no attempt left (``None``: no limit)."""
    return max_attempts is not None and attempts >= max_attempts


def job_row_id(text: str) -> int:
    """The ledger row of a job id ``job-N`` (its key on the task queue too); a one-line
    error for anything else."""
    if not _JOB_ID.fullmatch(text):
        raise InvalidInput(f"job id: expected an id `jobs failed` lists (job-N), got {text!r}")
    return int(text.removeprefix("job-"))


@frozen
class StoredJob:
    """A job in the ledger, as its runners and relays see it."""

    id: int
    dedup_key: str
    command: Command
    created_at: datetime
    dispatched_at: datetime | None
    claimed_at: datetime | None
    attempts: int
