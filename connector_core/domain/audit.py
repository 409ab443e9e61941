"""The audit trail of every change sent (or deliberately not sent) to ML."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from attrs import field, frozen


class AuditOutcome(StrEnum):
    """What became of a push. A push that fails (ML unreachable, a 5xx after the retries)
    writes no row: its job fails and is retried, and ``jobs failed`` shows why."""

    SENT = "sent"
    REJECTED = "rejected"
    SKIPPED = "skipped"


@frozen(kw_only=True)
class AuditEntry:
    at: datetime
    account: str
    item_id: str
    action: str
    outcome: AuditOutcome
    reason: str
    before: dict[str, Any] = field(factory=dict)
    after: dict[str, Any] = field(factory=dict)
    response: dict[str, Any] = field(factory=dict)
