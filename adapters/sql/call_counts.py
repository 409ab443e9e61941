"""ML calls counted per minute in the database, for the console's rate-use chart.

Every process counts its own calls in memory and adds them to ``ml_call_minutes`` every
``flush_seconds`` while it has counts to add (one upsert per minute, kind and status seen; a
timer thread adds the last ones when the calls stop), so counting costs an ML call no
database round trip, and the rows of all the processes add up. Minutes older than
``KEEP`` are deleted as the counts are added, at most hourly: the console charts the last hour.
"""

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from adapters.sql.base import insert_for
from adapters.sql.rows.console import MlCallMinuteRow

log = logging.getLogger(__name__)

Key = tuple[datetime, str, int]
KEEP = timedelta(days=2)
PURGE_EVERY = timedelta(hours=1)


def call_kind(path: str) -> str:
    """``oauth`` for the token endpoint (refreshes and code exchanges), else ``api``."""
    return "oauth" if path.rstrip("/").endswith("/oauth/token") else "api"


class SqlCallCounter:
    def __init__(self, engine: Engine, now: Callable[[], datetime], *,
                 flush_seconds: float = 5.0) -> None:
        self._sessions = sessionmaker(engine)
        self._now = now
        self._flush_seconds = flush_seconds
        self._pending: Counter[Key] = Counter()
        self._lock = threading.Lock()
        self._last_flush = now()
        self._last_purge: datetime | None = None
        self._timer: threading.Timer | None = None

    def observe(self, path: str, status: int) -> None:
        """Count one answered call; flush the counts when the last flush is old enough, or
        in ``flush_seconds`` at the latest."""
        now = self._now()
        minute = now.replace(second=0, microsecond=0)
        timer = None
        with self._lock:
            self._pending[(minute, call_kind(path), status)] += 1
            due = (now - self._last_flush).total_seconds() >= self._flush_seconds
            if not due and self._timer is None:
                timer = self._timer = threading.Timer(self._flush_seconds, self._timed_flush)
                timer.daemon = True
        if timer is not None:
            timer.start()
        if due:
            self.flush()

    def _timed_flush(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()

    def flush(self) -> None:
        """Add the counts held in memory to the table; a failure is logged and the counts
        are dropped (the chart then misses them; the calls themselves went through)."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._last_flush = self._now()
            if self._timer is not None:  # these counts were the timer's to add
                self._timer.cancel()
                self._timer = None
        if not pending:
            return
        now = self._now()
        try:
            with self._sessions() as session:
                _add(session, pending)
                if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
                    session.execute(delete(MlCallMinuteRow)
                                    .where(MlCallMinuteRow.minute < now - KEEP))
                    self._last_purge = now
                session.commit()
        except Exception as exc:
            log.warning("could not store %d ML call count(s) for the console (%s)",
                        sum(pending.values()), type(exc).__name__)


def _add(session: Session, counts: Counter[Key]) -> None:
    table = MlCallMinuteRow.__table__
    rows = [{"minute": minute, "kind": kind, "status": status, "count": n}
            for (minute, kind, status), n in sorted(counts.items())]
    stmt = insert_for(session, table)
    stmt = stmt.on_conflict_do_update(index_elements=["minute", "kind", "status"],
                                      set_={"count": table.c.count + stmt.excluded.count})
    session.execute(stmt, rows)
