"""The dead-letter list in the job ledger (in-process jobs: no queue keeps failed jobs)."""

from collections.abc import Sequence

from sqlalchemy import select, update

from adapters.sql.job_ledger import attempts_left
from adapters.sql.rows.jobs import JobRow
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from connector_core.domain.errors import InvalidInput
from connector_core.domain.jobs import job_row_id
from connector_core.ports.dead_letters import DeadLetter


class SqlDeadLetters:
    """:class:`~connector_core.ports.dead_letters.DeadLetters`: the unclaimed job rows that
    used up their attempts; a retry gives them a fresh set."""

    def __init__(self, uow: SqlAlchemyUnitOfWork, max_attempts: int) -> None:
        self._uow = uow
        self._dead = JobRow.claimed_at.is_(None) & ~attempts_left(max_attempts)

    def _rows(self) -> list[JobRow]:
        return list(self._uow.session.scalars(select(JobRow).where(self._dead)
                                              .order_by(JobRow.id)))

    def list(self) -> list[DeadLetter]:
        with self._uow:
            return [DeadLetter(id=f"job-{r.id}", what=r.dedup_key, failed_at=r.dispatched_at,
                               error=f"{r.attempts} attempts (see the logs)")
                    for r in self._rows()]

    def retry(self, ids: Sequence[str] | None) -> int:
        with self._uow as uow:
            dead = {r.id for r in self._rows()}
            wanted = dead if ids is None else {job_row_id(i) for i in ids}
            if wanted - dead:
                raise InvalidInput(f"no failed job {', '.join(sorted(ids or []))!r} (see "
                                   f"`meli-connector jobs failed`)")
            uow.session.execute(update(JobRow).where(JobRow.id.in_(wanted))
                                .values(attempts=0, dispatched_at=None))
            uow.commit()
        return len(wanted)
