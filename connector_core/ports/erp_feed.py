"""The ERP event feed (CONTRACT §5, ``GET /erp/events``)."""

from datetime import datetime
from typing import Protocol

from connector_core.domain.feed import FeedEvent


class ErpFeedRepository(Protocol):
    """The ERP event feed: ``append`` assigns a strictly increasing cursor at commit order."""

    def append(self, event: FeedEvent) -> None: ...

    def read(self, after: int, limit: int) -> list[FeedEvent]: ...

    def purge(self, created_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` events appended before ``created_before``, oldest first;
        how many were deleted (retention). Cursors are never reused: later events keep
        theirs, and a reader after a purged cursor just gets the events that remain."""
        ...
