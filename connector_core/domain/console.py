"""What the operator's console shows: read models, filled by the read-side port
(:class:`connector_core.ports.console.ConsoleReads`). Display only; no rule lives here."""

from datetime import datetime

from attrs import frozen

from connector_core.domain.orders import Order
from connector_core.domain.stock import Hold


@frozen(kw_only=True)
class AccountState:
    """One account's token state: ``refreshed_at`` is when tokens were last stored."""

    name: str
    user_id: int
    site_id: str
    nickname: str | None
    connected: bool
    expires_at: datetime | None
    refreshed_at: datetime | None
    revoked_reason: str | None
    revoked_at: datetime | None
    reconciled_to: datetime | None  # the end of the last reconciliation's window


@frozen(kw_only=True)
class JobCounts:
    """Jobs by state, of one account (``account``) or of all (None; notifications' jobs
    belong to no account until they are read)."""

    waiting: int
    held_back: int
    running: int
    dead: int
    account: str | None = None


@frozen(kw_only=True)
class MinuteCounts:
    """One minute of activity: ML calls (and how many were 429s or failed token calls) and
    pushes sent to ML."""

    minute: datetime
    calls: int = 0
    throttled: int = 0
    token_failures: int = 0
    pushes: int = 0


@frozen(kw_only=True)
class TopicCount:
    topic: str
    received: int
    waiting: int


@frozen(kw_only=True)
class AuditLine:
    at: datetime
    account: str
    item_id: str
    action: str
    outcome: str
    reason: str
    before: dict[str, object]
    after: dict[str, object]
    response: dict[str, object]


@frozen(kw_only=True)
class ListingHit:
    account: str
    item_id: str
    variation_id: int | None
    sku: str
    title: str | None
    active: bool


@frozen(kw_only=True)
class ErpEventLine:
    cursor: int
    type: str
    created_at: datetime


@frozen(kw_only=True)
class OrderSummary:
    """An order as stored (``order`` is None when only the ERP's "accounted" arrived), the
    holds it keeps and the ERP events it produced."""

    order_id: int
    order: Order | None
    accounted_at: datetime | None
    holds: tuple[Hold, ...]
    events: tuple[ErpEventLine, ...]


@frozen(kw_only=True)
class OperatorAction:
    at: datetime
    operator: str
    action: str
    target: str
    outcome: str
