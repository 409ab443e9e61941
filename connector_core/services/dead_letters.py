"""Use case: list the jobs that used up their attempts, and run them again."""

import re

from connector_core.domain.errors import InvalidInput
from connector_core.ports.dead_letters import DeadLetter, DeadLetters
from connector_core.services.jobs import JobRuntime

_JOB_ID = re.compile(r"job-[0-9]{1,18}")  # ASCII digits: isdigit() also takes "²"


def job_row_id(text: str) -> int:
    """The ledger row of a job id ``job-N``; a one-line error for anything else."""
    if not _JOB_ID.fullmatch(text):
        raise InvalidInput(f"job id: expected an id `jobs failed` lists (job-N), got {text!r}")
    return int(text.removeprefix("job-"))


class DeadLetterList:
    def __init__(self, letters: DeadLetters, jobs: JobRuntime) -> None:
        self._letters = letters
        self._jobs = jobs

    def failed(self) -> list[DeadLetter]:
        return self._letters.list()

    def retry(self, job_id: str | None) -> int:
        """Run one dead letter (``job-N``) again, or every one (None); how many."""
        if job_id is not None:
            job_row_id(job_id)
        count = self._letters.retry(None if job_id is None else [job_id])
        self._jobs.dispatch()
        return count
