"""Use case: recover what notifications missed (CONTRACT §1 rule 5).

ML's order search filters by ``order.date_last_updated`` truncated to the hour, so each run
searches from the previous checkpoint minus an overlap of at least an hour; orders found that
are newer than what is stored are fetched and applied through the same path as a
notification (a :class:`SyncOrder` job). ``/missed_feeds`` entries are stored in the inbox like
any notification that reached the webhook; each account's feed is read with its own token.
"""

from datetime import datetime, timedelta

from attrs import frozen

from connector_core.domain.commands import SyncOrder
from connector_core.domain.errors import MarketplaceError, UnknownAccount
from connector_core.ports.clock import Clock
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.notifications import receive_notification

ORDERS_CHECKPOINT = "orders"
FIRST_RUN_WINDOW = timedelta(hours=48)
OVERLAP = timedelta(hours=1)


@frozen
class ReconcileResult:
    account: str
    since: datetime
    until: datetime
    orders_seen: int
    orders_queued: tuple[int, ...]


def reconcile_orders(account_name: str, *, uow: UnitOfWork, marketplace: MarketplaceGateway,
                     clock: Clock, since: datetime | None = None) -> ReconcileResult:
    """Search the account's orders updated since ``since`` (default: the checkpoint minus an
    hour of overlap; first run: the last 48 hours) and queue every one newer than stored.

    The checkpoint moves to the time the search *started* only after the whole window was
    read, so an interrupted run is simply repeated.
    """
    started = clock.now()
    with uow:
        account = uow.accounts.get(account_name)
        if account is None:
            raise UnknownAccount(f"unknown account {account_name!r}")
        checkpoint = uow.checkpoints.get(account_name, ORDERS_CHECKPOINT)
    if since is None:
        since = checkpoint - OVERLAP if checkpoint is not None else started - FIRST_RUN_WINDOW
    seen = 0
    queued: list[int] = []
    for order in marketplace.search_orders(account, since):
        seen += 1
        with uow:
            record = uow.orders.get(order.id)
            if order.supersedes(record.order if record is not None else None):
                uow.jobs.add(SyncOrder(account_name, order.id))
                queued.append(order.id)
                uow.commit()
    with uow:
        current = uow.checkpoints.get(account_name, ORDERS_CHECKPOINT)
        if current is None or current < started:
            uow.checkpoints.set(account_name, ORDERS_CHECKPOINT, started)
        uow.commit()
    return ReconcileResult(account_name, since, started, seen, tuple(queued))


def recover_missed_notifications(*, uow: UnitOfWork, marketplace: MarketplaceGateway,
                                 clock: Clock) -> int:
    """Store every account's ``/missed_feeds`` entries in the inbox; returns how many were new.

    An account whose feed cannot be read does not stop the others: the first such error is
    raised once every account was tried (naming each account that failed).
    """
    with uow:
        accounts = uow.accounts.list()
    new = 0
    failed: list[tuple[str, MarketplaceError]] = []
    for account in accounts:
        try:
            notifications = marketplace.missed_notifications(account)
        except MarketplaceError as exc:
            failed.append((account.name, exc))
            continue
        for notification in notifications:
            _, is_new = receive_notification(notification, {"source": "missed_feeds"},
                                             uow=uow, clock=clock)
            new += is_new
    if failed:
        names = ", ".join(name for name, _ in failed)
        raise MissedFeedsUnread(f"missed feeds not read for {names} ({new} recovered from the "
                                f"others): {failed[0][1]}") from failed[0][1]
    return new


class MissedFeedsUnread(MarketplaceError):
    """One or more accounts' missed feeds could not be read; the others were stored."""
