"""The system clock (:class:`~connector_core.ports.clock.Clock`): UTC, timezone-aware."""

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
