"""RQ on a real Redis: the dispatcher's one-pipeline batch, and the workers' relay that
leaves web processes writing to the database only."""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from adapters.rq_queue import JOB_ENTRY_POINT, RqTaskQueue
from adapters.serialization import command_to_json
from adapters.sql.migrate import upgrade
from config.bootstrap import Connector
from config.settings import Settings
from connector_core.domain.commands import PushItem, SyncOrder
from connector_core.domain.jobs import RETRY_INTERVALS
from tests.services import redis_url


@pytest.fixture
def rq_queue() -> Iterator[Queue]:
    connection = Redis.from_url(redis_url())
    queue = Queue(f"test-relay-{uuid.uuid4().hex[:8]}", connection=connection,
                  serializer="json")
    yield queue
    queue.delete(delete_jobs=True)
    connection.close()


def test_submit_new_queues_the_lot_with_ids_retries_and_timeout(rq_queue: Queue) -> None:
    tasks = RqTaskQueue(rq_queue, job_timeout=77)
    commands = [PushItem("main", f"MLA{n}") for n in range(3)] + [SyncOrder("main", 9)]
    tasks.submit_new([(c, f"job-{n}") for n, c in enumerate(commands)])
    assert rq_queue.job_ids == ["job-0", "job-1", "job-2", "job-3"]
    job = Job.fetch("job-3", connection=rq_queue.connection, serializer=rq_queue.serializer)
    assert job.func_name == JOB_ENTRY_POINT
    assert list(job.args) == [command_to_json(SyncOrder("main", 9))]
    assert job.timeout == 77
    assert job.retries_left == len(RETRY_INTERVALS)
    assert job.description == SyncOrder("main", 9).dedup_key
    # a later submit of the same key (the sweeper) is absorbed by the queued job
    tasks.submit(commands[0], dedup_key="job-0")
    assert rq_queue.count == 4


def test_submit_new_raises_connection_error_when_redis_is_unreachable() -> None:
    queue = Queue("nowhere", connection=Redis(port=1, socket_connect_timeout=0.2),
                  serializer="json")
    with pytest.raises(ConnectionError, match="could not queue 1 jobs"):
        RqTaskQueue(queue).submit_new([(PushItem("main", "MLA1"), "job-1")])


def wait_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_web_commits_leave_dispatching_to_the_relay(tmp_path: Path) -> None:
    url = redis_url()
    name = f"test-relay-{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'relay.db'}", redis_url=url,
                        queue_name=name)
    web, worker = Connector(settings), Connector(settings)
    upgrade(web.engine)
    queue = Queue(name, connection=Redis.from_url(url), serializer="json")
    try:
        with web.uow as uow:
            uow.jobs.add(PushItem("main", "MLA1"))
            uow.commit()
        web.runtime.jobs_committed()  # what a web request or an ERP hook does
        time.sleep(0.3)
        # nothing sent from the web side
        assert queue.count == 0 and web.runtime._dispatcher is None
        worker.runtime.start_relay()
        assert wait_until(lambda: queue.count == 1, 5)
        with web.uow as uow:  # committed later, by another process: the relay polls
            uow.jobs.add(PushItem("main", "MLA2"))
            uow.commit()
        assert wait_until(lambda: queue.count == 2, 5)
        with web.uow as uow:
            assert uow.jobs.take_for_dispatch() == []  # both marked dispatched
    finally:
        queue.delete(delete_jobs=True)
        queue.connection.close()
        web.close()
        worker.close()
