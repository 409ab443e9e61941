"""Use case: list the jobs that used up their attempts, and run them again."""

from connector_core.domain.jobs import job_row_id
from connector_core.ports.dead_letters import DeadLetter, DeadLetters
from connector_core.services.jobs import JobRuntime


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
