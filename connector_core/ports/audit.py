"""The audit log of what the connector decided and why."""

from datetime import datetime
from typing import Protocol

from connector_core.domain.audit import AuditEntry


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None: ...

    def purge(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` entries whose ``at`` is before ``before``, oldest first;
        how many were deleted (retention)."""
        ...
