"""Items' titles as ML last showed them, for the console's search by title."""

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from adapters.sql.base import insert_for
from adapters.sql.rows.console import ListingTitleRow

log = logging.getLogger(__name__)


class SqlListingTitles:
    """Stores a title when it is new or changed; this process remembers what it stored, so
    the items it reads over and over cost no write."""

    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self._sessions = sessionmaker(engine)
        self._now = now
        self._known: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def remember(self, account: str, item_id: str, title: str) -> None:
        key = (account, item_id)
        if not title:
            return
        with self._lock:
            if self._known.get(key) == title:
                return
        try:
            with self._sessions() as session:
                table = ListingTitleRow.__table__
                stmt = insert_for(session, table).values(
                    account=account, item_id=item_id, title=title, seen_at=self._now())
                session.execute(stmt.on_conflict_do_update(
                    index_elements=["account", "item_id"],
                    set_={"title": stmt.excluded.title, "seen_at": stmt.excluded.seen_at}))
                session.commit()
        except Exception as exc:  # the search misses a title; the caller's work goes on
            log.warning("could not store the title of %s (%s)", item_id, type(exc).__name__)
            return
        with self._lock:
            self._known[key] = title
