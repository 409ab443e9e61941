"""``SqlAlchemyUnitOfWork``: one session (one transaction) per ``with uow:``.

One instance may be shared by threads: each thread gets its own session while inside
``with``. Leaving without :meth:`commit` rolls back.
"""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from adapters.sql.after_sale import SqlQuestions, SqlShipments
from adapters.sql.erp_feed import SqlErpFeed
from adapters.sql.inbox import SqlInbox
from adapters.sql.job_ledger import SqlJobLedger
from adapters.sql.prices import SqlPrices
from adapters.sql.repositories import (
    SqlAccounts,
    SqlAudit,
    SqlCheckpoints,
    SqlMappings,
    SqlOrders,
    SqlStock,
)
from adapters.sql.user_products import SqlUserProducts
from connector_core.ports.clock import Clock


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *,
                 clock: Clock | None = None, max_attempts: int | None = None) -> None:
        """``max_attempts``: a job run that many times is a dead letter, which new work
        with its key replaces instead of joining (None: the job ledger knows no limit)."""
        self._session_factory = session_factory
        self._local = threading.local()
        now: Callable[[], datetime] = clock.now if clock is not None else _utc_now
        self.accounts = SqlAccounts(self._current)
        self.mappings = SqlMappings(self._current)
        self.stock = SqlStock(self._current)
        self.orders = SqlOrders(self._current)
        self.prices = SqlPrices(self._current)
        self.erp_feed = SqlErpFeed(self._current, now)
        self.audit = SqlAudit(self._current)
        self.jobs = SqlJobLedger(self._current, now, max_attempts=max_attempts)
        self.inbox = SqlInbox(self._current, max_attempts=max_attempts)
        self.checkpoints = SqlCheckpoints(self._current)
        self.shipments = SqlShipments(self._current, now)
        self.questions = SqlQuestions(self._current, now)
        self.user_products = SqlUserProducts(self._current)

    def _current(self) -> Session:
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            raise RuntimeError("repository used outside `with uow:`")
        return session

    @property
    def session(self) -> Session:
        """The open session (for adapters' own admin queries inside ``with uow:``)."""
        return self._current()

    def __enter__(self) -> Self:
        if getattr(self._local, "session", None) is not None:
            raise RuntimeError("SqlAlchemyUnitOfWork is not re-entrant")
        self._local.session = self._session_factory()
        return self

    def __exit__(self, *exc_info: object) -> None:
        session: Session = self._local.session
        self._local.session = None
        try:
            session.rollback()
        finally:
            session.close()

    def commit(self) -> None:
        self._current().commit()


def _utc_now() -> datetime:
    return datetime.now(UTC)
