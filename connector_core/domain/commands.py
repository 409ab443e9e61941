"""Commands: the jobs the connector queues (JSON-serialisable by the queue adapter)."""

from datetime import datetime

from attrs import frozen


@frozen
class PushItem:
    """Publish what rules 1 and 6 say for every mapped listing of one item.

    A push always re-evaluates both stock and price from the latest state, so pushes asked for
    different reasons can share one job (and one PUT).
    """

    account: str
    item_id: str

    @property
    def dedup_key(self) -> str:
        return f"push-{self.account}-{self.item_id}"


@frozen
class PushUserProduct:
    """Publish what rules 1 and 6 say for every mapped item of one ML User Product: its
    stock written once (per store for multi-origin sellers), each item's own price."""

    account: str
    user_product_id: str

    @property
    def dedup_key(self) -> str:
        return f"push-up-{self.account}-{self.user_product_id}"


@frozen
class RefreshUserProducts:
    """Re-read an account's seller model and the UPs and status of its mapped items, and
    with ``family_id`` the items of that family's UPs (a migration's new items)."""

    account: str
    family_id: str | None = None

    @property
    def dedup_key(self) -> str:
        return f"refresh-up-{self.account}-{self.family_id or '*'}"


@frozen
class SyncOrder:
    """Read an order from ML and apply it (holds, ERP events, pushes)."""

    account: str
    order_id: int

    @property
    def dedup_key(self) -> str:
        return f"order-{self.account}-{self.order_id}"


@frozen
class ProcessNotification:
    """Handle one stored notification from the inbox."""

    inbox_id: int

    @property
    def dedup_key(self) -> str:
        return f"notification-{self.inbox_id}"


@frozen
class Reconcile:
    """Recover orders and missed notifications for an account since a point in time."""

    account: str
    since: datetime | None = None

    @property
    def dedup_key(self) -> str:
        return f"reconcile-{self.account}"


@frozen
class SyncShipment:
    """Read a shipment from ML and announce its status to the ERP (once per status)."""

    account: str
    shipment_id: int

    @property
    def dedup_key(self) -> str:
        return f"shipment-{self.account}-{self.shipment_id}"


@frozen
class SyncQuestion:
    """Read a buyer's question from ML, announce it, and answer it when a rule says so."""

    account: str
    question_id: int

    @property
    def dedup_key(self) -> str:
        return f"question-{self.account}-{self.question_id}"


Command = (PushItem | PushUserProduct | RefreshUserProducts | SyncOrder | ProcessNotification
           | Reconcile | SyncShipment | SyncQuestion)
