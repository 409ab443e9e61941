"""The console's retry of a dead letter on RQ: fresh attempts, queued under its own key,
replacing whatever rq still holds under that key (its entry in the failed list)."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from adapters.queues import RqTaskQueue
from adapters.serialization import command_to_json
from adapters.sql.migrate import upgrade
from adapters.sql.rows import JobRow
from config.bootstrap import MAX_ATTEMPTS, Connector
from config.console import ConsoleActions
from config.settings import Settings
from connector_core.domain.commands import PushItem
from connector_core.domain.errors import InvalidInput
from tests.services import redis_url

pytestmark = pytest.mark.redis


def test_a_dead_letter_is_queued_again_with_fresh_attempts(tmp_path: Path) -> None:
    url = redis_url()
    name = f"test-console-{uuid.uuid4().hex[:8]}"
    connector = Connector(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}",
                                   redis_url=url, queue_name=name))
    upgrade(connector.engine)
    queue = Queue(name, connection=Redis.from_url(url), serializer="json")
    command = PushItem("main", "MLA1")
    try:
        with connector.uow as uow:
            row = JobRow(dedup_key=command.dedup_key, kind="PushItem",
                         command=command_to_json(command), created_at=datetime.now(UTC),
                         attempts=MAX_ATTEMPTS)
            uow.session.add(row)
            uow.commit()
            job_id = row.id
        assert isinstance(connector.queue, RqTaskQueue)
        connector.queue.submit(PushItem("main", "STALE"), dedup_key=f"job-{job_id}")
        actions = ConsoleActions(connector)
        assert actions.retry(job_id) == "retrying 1 job(s)"
        assert queue.job_ids == [f"job-{job_id}"]
        job = Job.fetch(f"job-{job_id}", connection=queue.connection,
                        serializer=queue.serializer)
        assert list(job.args) == [command_to_json(command)]
        with connector.uow as uow:
            stored = uow.session.scalar(select(JobRow).where(JobRow.id == job_id))
            assert stored is not None and stored.attempts == 0
        with pytest.raises(InvalidInput, match=f"job-{job_id} is not a dead letter"):
            actions.retry(job_id)
    finally:
        queue.delete(delete_jobs=True)
        queue.connection.close()
        connector.close()
