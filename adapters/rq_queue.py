"""The TaskQueue port on RQ (Redis), in production.

Every job runs the same entry point (``config.jobs.run_command`` takes the command's JSON).
Each lane is an RQ queue (:func:`lane_queues`: ``<name>-urgent`` and ``<name>``, the bulk
lane keeping the name jobs were queued under before lanes existed); a worker listens to them
in :data:`~connector_core.domain.lanes.LANES` order, and RQ takes from the first queue that
has a job.
The queue is not the source of truth: the job ledger is (``adapters.sql.job_ledger``). A
queue that loses a job (Redis restarted empty, a process killed) only delays it until the
sweeper dispatches it again.
"""

from collections.abc import Mapping, Sequence
from contextlib import suppress

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from adapters.serialization import command_to_json
from connector_core.domain.commands import Command
from connector_core.domain.errors import InvalidInput
from connector_core.domain.jobs import RETRY_INTERVALS
from connector_core.domain.lanes import LANES, Lane
from connector_core.ports.dead_letters import DeadLetter

JOB_ENTRY_POINT = "config.jobs.run_command"


def lane_queues(name: str, connection: Redis) -> dict[Lane, Queue]:
    """The RQ queue of each lane, in the order workers take them."""
    return {lane: Queue(name if lane is Lane.BULK else f"{name}-{lane.value}",
                        connection=connection, serializer="json") for lane in LANES}


class RqTaskQueue:
    """Enqueues commands on the RQ queue of their lane (JSON serializer: no pickles cross the
    wire)."""

    def __init__(self, queues: Mapping[Lane, Queue], *, retry: Retry | None = None,
                 job_timeout: int = 300, failure_ttl: int = 7 * 24 * 3600) -> None:
        if set(queues) != set(LANES):
            raise ValueError(f"one RQ queue per lane ({', '.join(LANES)}) is needed")
        self._queues = {lane: queues[lane] for lane in LANES}
        self._retry = retry or Retry(max=len(RETRY_INTERVALS),
                                            interval=list(RETRY_INTERVALS))
        self._job_timeout = job_timeout
        self._failure_ttl = failure_ttl

    @property
    def rq_queues(self) -> list[Queue]:
        """Every lane's queue, urgent first (what a worker listens to)."""
        return list(self._queues.values())

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False, lane: Lane = Lane.BULK) -> None:
        job_id = dedup_key
        queue = self._queues[lane]
        try:
            if replace and job_id is not None:
                with suppress(NoSuchJobError):
                    Job.fetch(job_id, connection=queue.connection,
                              serializer=queue.serializer).delete()
            queue.enqueue(
                JOB_ENTRY_POINT, command_to_json(command), retry=self._retry,
                job_timeout=self._job_timeout, failure_ttl=self._failure_ttl,
                result_ttl=600, description=command.dedup_key, job_id=job_id,
                unique=job_id is not None)
        except DuplicateJobError:
            return  # RQ still has it (waiting, running, retrying or failed): nothing to add
        except Exception as exc:  # redis-py raises many kinds; the caller wants one
            raise ConnectionError(f"could not queue {command.dedup_key}: {exc}") from exc

    def submit_new(self, jobs: Sequence[tuple[Command, str]], *,
                   lane: Lane = Lane.BULK) -> None:
        """One MULTI/EXEC pipeline for the lot. No uniqueness check (a Lua script per job):
        these keys were never queued, and a job that did run twice would find its row
        already claimed."""
        if not jobs:
            return
        data = [Queue.prepare_data(
            JOB_ENTRY_POINT, (command_to_json(command),), timeout=self._job_timeout,
            result_ttl=600, failure_ttl=self._failure_ttl, description=command.dedup_key,
            job_id=key, retry=self._retry) for command, key in jobs]
        queue = self._queues[lane]
        try:
            with queue.connection.pipeline() as pipe:
                queue.enqueue_many(data, pipeline=pipe)
                pipe.execute()
        except Exception as exc:  # redis-py raises many kinds; the caller wants one
            raise ConnectionError(f"could not queue {len(jobs)} jobs: {exc}") from exc


    def urgent_waiting(self) -> bool:
        try:
            return bool(self._queues[Lane.URGENT].count)
        except Exception:  # cannot tell: the batch goes on
            return False


class RqDeadLetters:
    """:class:`~connector_core.ports.dead_letters.DeadLetters` on rq's failed-job registries,
    every lane's."""

    def __init__(self, rq_queues: Sequence[Queue]) -> None:
        self._registries = [(queue, FailedJobRegistry(queue=queue)) for queue in rq_queues]

    def _registry_of(self) -> dict[str, tuple[Queue, FailedJobRegistry]]:
        return {job_id: (queue, registry) for queue, registry in self._registries
                for job_id in registry.get_job_ids()}

    def list(self) -> list[DeadLetter]:
        letters = []
        for job_id, (queue, _) in self._registry_of().items():
            job = queue.fetch_job(job_id)
            if job is None:
                continue
            result = job.latest_result()
            error = ((result.exc_string if result else "") or "").strip()
            letters.append(DeadLetter(id=job_id, what=job.description or "",
                                      failed_at=job.ended_at,
                                      error=error.splitlines()[-1] if error else ""))
        return letters

    def retry(self, ids: Sequence[str] | None) -> int:
        failed = self._registry_of()
        wanted = list(failed) if ids is None else list(ids)
        for job_id in wanted:
            try:
                if job_id not in failed:
                    raise ValueError("it is not in any lane's failed-job registry")
                failed[job_id][1].requeue(job_id)
            except Exception as exc:
                raise InvalidInput(f"cannot retry job {job_id!r}: {exc}") from exc
        return len(wanted)

