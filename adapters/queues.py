"""The TaskQueue port: RQ on Redis in production, a background thread on a laptop.

Both run the same entry point (``config.jobs.run_command`` takes the command's JSON), so a job
behaves the same whichever queue carried it. Neither is the source of truth: the job outbox
table is (see ``adapters.sql.repositories.SqlJobOutbox``). A queue that loses a job (Redis
restarted empty, a process killed) only delays it until the sweeper dispatches it again.
"""

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job

from adapters.serialization import command_to_json
from connector_core.domain.commands import Command

log = logging.getLogger(__name__)

JOB_ENTRY_POINT = "config.jobs.run_command"
# Waits between attempts of a failing job (rq's Retry; the worker runs rq's scheduler).
RETRY_INTERVALS = [5, 15, 60, 180, 600]


class RqTaskQueue:
    """Enqueues commands on an RQ queue (JSON serializer: no pickles cross the wire)."""

    def __init__(self, rq_queue: Queue, *, retry: Retry | None = None,
                 job_timeout: int = 300, failure_ttl: int = 7 * 24 * 3600) -> None:
        self._queue = rq_queue
        self._retry = retry or Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS)
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


class InProcessTaskQueue:
    """Runs submitted commands on one background thread, in order (the laptop's worker).

    ``run`` is the job entry point. A failing job is logged and left to the job outbox: its
    row is released by the runner and the sweeper dispatches it again later.
    """

    def __init__(self, run: Callable[[Command], Any], *, name: str = "connector-jobs") -> None:
        self._run = run
        self._queue: queue.Queue[Command] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False
        self._lock = threading.Lock()

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False) -> None:
        # Duplicates are harmless here: the runner claims the job row, a second run finds
        # nothing to claim.
        with self._lock:
            if not self._started:
                self._thread.start()
                self._started = True
        self._queue.put(command)

    def submit_new(self, jobs: Sequence[tuple[Command, str]]) -> None:
        for command, key in jobs:
            self.submit(command, dedup_key=key)

    def _loop(self) -> None:
        while True:
            command = self._queue.get()
            try:
                self._run(command)
            except Exception:
                log.exception("job %s failed; it stays in the job outbox for a retry",
                              command.dedup_key)
            finally:
                self._queue.task_done()

    def join(self) -> None:
        """Wait until every submitted command (and what they submitted) has run."""
        self._queue.join()
