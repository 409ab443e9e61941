"""The TaskQueue port on RQ (Redis), in production.

Every job runs the same entry point (``config.jobs.run_command`` takes the command's JSON).
The queue is not the source of truth: the job ledger is (``adapters.sql.job_ledger``). A
queue that loses a job (Redis restarted empty, a process killed) only delays it until the
sweeper dispatches it again.
"""

from collections.abc import Sequence
from contextlib import suppress

from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from adapters.serialization import command_to_json
from connector_core.domain.commands import Command
from connector_core.domain.errors import InvalidInput
from connector_core.domain.jobs import RETRY_INTERVALS
from connector_core.ports.dead_letters import DeadLetter

JOB_ENTRY_POINT = "config.jobs.run_command"


class RqTaskQueue:
    """Enqueues commands on an RQ queue (JSON serializer: no pickles cross the wire)."""

    def __init__(self, rq_queue: Queue, *, retry: Retry | None = None,
                 job_timeout: int = 300, failure_ttl: int = 7 * 24 * 3600) -> None:
        self._queue = rq_queue
        self._retry = retry or Retry(max=len(RETRY_INTERVALS),
                                            interval=list(RETRY_INTERVALS))
        self._job_timeout = job_timeout
        self._failure_ttl = failure_ttl

    @property
    def rq_queue(self) -> Queue:
        return self._queue

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False) -> None:
        job_id = dedup_key
        try:
            if replace and job_id is not None:
                with suppress(NoSuchJobError):
                    Job.fetch(job_id, connection=self._queue.connection,
                              serializer=self._queue.serializer).delete()
            self._queue.enqueue(
                JOB_ENTRY_POINT, command_to_json(command), retry=self._retry,
                job_timeout=self._job_timeout, failure_ttl=self._failure_ttl,
                result_ttl=600, description=command.dedup_key, job_id=job_id,
                unique=job_id is not None)
        except DuplicateJobError:
            return  # RQ still has it (waiting, running, retrying or failed): nothing to add
        except Exception as exc:  # redis-py raises many kinds; the caller wants one
            raise ConnectionError(f"could not queue {command.dedup_key}: {exc}") from exc

    def submit_new(self, jobs: Sequence[tuple[Command, str]]) -> None:
        """One MULTI/EXEC pipeline for the lot. No uniqueness check (a Lua script per job):
        these keys were never queued, and a job that did run twice would find its row
        already claimed."""
        if not jobs:
            return
        data = [Queue.prepare_data(
            JOB_ENTRY_POINT, (command_to_json(command),), timeout=self._job_timeout,
            result_ttl=600, failure_ttl=self._failure_ttl, description=command.dedup_key,
            job_id=key, retry=self._retry) for command, key in jobs]
        try:
            with self._queue.connection.pipeline() as pipe:
                self._queue.enqueue_many(data, pipeline=pipe)
                pipe.execute()
        except Exception as exc:  # redis-py raises many kinds; the caller wants one
            raise ConnectionError(f"could not queue {len(jobs)} jobs: {exc}") from exc


class RqDeadLetters:
    """:class:`~connector_core.ports.dead_letters.DeadLetters` on rq's failed-job registry."""

    def __init__(self, rq_queue: Queue) -> None:
        self._queue = rq_queue
        self._registry = FailedJobRegistry(queue=rq_queue)

    def list(self) -> list[DeadLetter]:
        letters = []
        for job_id in self._registry.get_job_ids():
            job = self._queue.fetch_job(job_id)
            if job is None:
                continue
            result = job.latest_result()
            error = ((result.exc_string if result else "") or "").strip()
            letters.append(DeadLetter(id=job_id, what=job.description or "",
                                      failed_at=job.ended_at,
                                      error=error.splitlines()[-1] if error else ""))
        return letters

    def retry(self, ids: Sequence[str] | None) -> int:
        wanted = self._registry.get_job_ids() if ids is None else list(ids)
        for job_id in wanted:
            try:
                self._registry.requeue(job_id)
            except Exception as exc:
                raise InvalidInput(f"cannot retry job {job_id!r}: {exc}") from exc
        return len(wanted)

