"""The dead-letter list: jobs that used up their attempts, for an operator to re-run."""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from attrs import frozen


@frozen
class DeadLetter:
    id: str  # job-N
    what: str  # the command's dedup key
    failed_at: datetime | None
    error: str


class DeadLetters(Protocol):
    """On Redis, the queue's failed-job registry (with the error); in-process, the job
    ledger's rows that used up their attempts."""

    def list(self) -> list[DeadLetter]: ...

    def retry(self, ids: Sequence[str] | None) -> int:
        """Give the jobs (None: every dead letter) a fresh set of attempts; how many.
        An id that is not a dead letter raises ``InvalidInput`` and nothing changes."""
        ...
