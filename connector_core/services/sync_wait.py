"""``meli-connector sync --all``: follow the pushes it queued until they have run.

The job ledger says what is left (a job row lives until its run completes), so this works
the same whether the web process's threads or RQ workers run the jobs. The caller shows the
progress (``progress(done, total)``) however it likes.
"""

from collections.abc import Callable, Iterable

from connector_core.ports.jobs import JobLedgerSession
from connector_core.services.catalog import Progress


def wait_for_jobs(ledger: JobLedgerSession, dedup_keys: Iterable[str],
                  progress: Progress | None = None, *, sleep: Callable[[float], None],
                  interval: float = 1.0) -> int:
    """Poll the ledger every ``interval`` seconds until no job of ``dedup_keys`` waits or
    runs; report ``progress(done, total)`` after each look. Returns the total.

    A job that used up its attempts (a dead letter) counts as done: it will not run again
    unless retried (``meli-connector jobs failed`` lists it)."""
    remaining = set(dedup_keys)
    total = len(remaining)
    while True:
        with ledger as uow:
            remaining = uow.jobs.pending(remaining)
        if progress is not None:
            progress(total - len(remaining), total)
        if not remaining:
            return total
        sleep(interval)
