"""Read-side ports: what the operator's console reads, beyond the repositories' own reads.

Reads only, each in its own short transaction; the SQL adapter is
:class:`adapters.sql.console_reads.SqlConsoleReads`. Times are aware UTC.
"""

from datetime import datetime
from typing import Protocol

from connector_core.domain.console import (
    AccountState,
    AuditLine,
    JobCounts,
    ListingHit,
    MinuteCounts,
    OperatorAction,
    OrderSummary,
    TopicCount,
)


class ConsoleReads(Protocol):
    def accounts(self) -> list[AccountState]: ...

    def job_counts(self) -> JobCounts: ...

    def job_counts_by_account(self) -> list[JobCounts]:
        """One entry per account with jobs, by name; jobs of no account last (None)."""
        ...

    def minutes(self, since: datetime) -> list[MinuteCounts]:
        """One entry per minute from ``since`` to now (minutes without activity included)."""
        ...

    def topics(self, since: datetime) -> list[TopicCount]:
        """Notifications received since then, by topic, and how many still wait."""
        ...

    def search(self, query: str, limit: int) -> list[ListingHit]:
        """Mapped listings whose SKU or item id is ``query`` (any case), or whose SKU, item
        id or last seen title contains it."""
        ...

    def audit_trail(self, account: str, item_id: str, limit: int) -> list[AuditLine]:
        """The item's audit entries, newest first."""
        ...

    def orders(self, limit: int, order_id: int | None = None) -> list[OrderSummary]:
        """The most recently updated orders (or the one ``order_id``), newest first."""
        ...

    def operator_actions(self, limit: int) -> list[OperatorAction]:
        """The console's audit of operators' actions, newest first."""
        ...


class ConsoleLog(Protocol):
    """Where an operator's action is recorded, with its outcome."""

    def record(self, action: OperatorAction) -> None: ...
