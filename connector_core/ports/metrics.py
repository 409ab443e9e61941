"""What the job runtime counts (Prometheus in production, nothing in unit tests)."""

from typing import Protocol


class JobMetrics(Protocol):
    def job_finished(self, kind: str, outcome: str, seconds: float | None) -> None:
        """A run of a job of ``kind`` ended: ``outcome`` is done, failed or skipped;
        ``seconds`` is how long it ran (None: it did not run)."""
        ...

    def pushed(self, outcome: str) -> None:
        """A push to ML ended with ``outcome`` (see ``PushOutcome``)."""
        ...
