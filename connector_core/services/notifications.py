"""Use cases: route a stored ML notification, and fetch-and-apply an order."""

from typing import Any

from attrs import frozen

from connector_core.domain import ids
from connector_core.domain.audit import AuditEntry, AuditOutcome
from connector_core.domain.commands import (
    Command,
    ProcessNotification,
    PushItem,
    SyncOrder,
    SyncQuestion,
    SyncShipment,
)
from connector_core.domain.errors import MarketplaceNotFound, UnknownAccount
from connector_core.domain.notifications import ITEM_TOPICS, ORDER_TOPICS, Notification
from connector_core.ports.clock import Clock
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.order_seen import OrderSeenResult, order_seen
from connector_core.services.up_notifications import UP_TOPICS, route_up_notification


@frozen
class Routing:
    """What a notification leads to: a command, or the reason it is only recorded."""

    command: Command | None
    ignored: str = ""


def _route(notification: Notification, uow: UnitOfWork) -> Routing:
    """What a notification means. Unknown sellers and topics are recorded, not processed;
    an ``items``/``items_prices`` notification for an item the connector does not map is
    ignored (it has nothing to say)."""
    account = (uow.accounts.by_user_id(notification.user_id)
               if notification.user_id is not None else None)
    if account is None:
        return Routing(None, f"unknown seller user_id {notification.user_id}")
    resource_id = notification.resource_id()
    if notification.topic in ORDER_TOPICS:
        if not ids.is_numeric_id(resource_id):  # it becomes the path /orders/{id}
            return Routing(None, f"unexpected order resource {notification.resource!r}")
        return Routing(SyncOrder(account.name, ids.order_id(resource_id)))
    if notification.topic in ITEM_TOPICS:
        if resource_id is None or not ids.is_item_id(resource_id):
            return Routing(None, f"unexpected item resource {notification.resource!r}")
        if not uow.mappings.rows_for_item(account.name, resource_id):
            return Routing(None, f"item {resource_id} is not mapped")
        return Routing(PushItem(account.name, resource_id))
    if notification.topic in ("shipments", "questions"):  # /shipments/{id}, /questions/{id}
        if not ids.is_numeric_id(resource_id):
            return Routing(None, f"unexpected {notification.topic} resource "
                                 f"{notification.resource!r}")
        number = ids.order_id(resource_id)
        return Routing(SyncShipment(account.name, number) if notification.topic == "shipments"
                       else SyncQuestion(account.name, number))
    if notification.topic in UP_TOPICS:
        command, ignored = route_up_notification(notification, account, uow)
        return Routing(command, ignored)
    return Routing(None, f"topic {notification.topic!r} is recorded, not processed")


def receive_notification(notification: Notification, raw: dict[str, Any], *, uow: UnitOfWork,
                         clock: Clock) -> tuple[int, bool]:
    """Store a notification durably and queue its processing, in one transaction.

    This is all the webhook does before answering 200. A duplicate of a notification still
    waiting joins it (no new job); returns ``(inbox_id, is_new)``.
    """
    with uow:
        entry_id, is_new = uow.inbox.add(notification, raw, clock.now())
        if is_new:
            uow.jobs.add(ProcessNotification(entry_id))
        uow.commit()
    return entry_id, is_new


@frozen
class UnitOfWorkIntake:
    """:class:`~connector_core.ports.inbox.NotificationIntake` over any unit of work (the inbox
    and job outbox repositories in one transaction): SQLite, and the fakes."""

    uow: UnitOfWork
    clock: Clock

    def receive(self, notification: Notification, raw: dict[str, Any]) -> tuple[int, bool]:
        return receive_notification(notification, raw, uow=self.uow, clock=self.clock)


def process_notification(cmd: ProcessNotification, *, uow: UnitOfWork, clock: Clock) -> Routing:
    """Route a stored notification and mark it processed, in one transaction (idempotent)."""
    with uow:
        entry = uow.inbox.get(cmd.inbox_id)
        if entry is None or entry.processed_at is not None:
            return Routing(None, "already processed" if entry else "no such inbox entry")
        routing = _route(entry.notification, uow)
        if routing.command is not None:
            uow.jobs.add(routing.command)
        outcome = (f"queued {type(routing.command).__name__}" if routing.command is not None
                   else f"ignored: {routing.ignored}")
        uow.inbox.mark_processed(entry.id, outcome, clock.now())
        uow.commit()
    return routing


def sync_order(cmd: SyncOrder, *, uow: UnitOfWork, marketplace: MarketplaceGateway,
               clock: Clock) -> OrderSeenResult:
    """Read the order from ML (never trusting a notification's content) and apply it.

    ML answering 404 is final (a forged or mistaken notification): recorded in the audit
    log as ``rejected`` and returned as not applied, never retried.
    """
    with uow:
        account = uow.accounts.get(cmd.account)
    if account is None:
        raise UnknownAccount(f"unknown account {cmd.account!r}")
    try:
        order = marketplace.get_order(account, cmd.order_id)
    except MarketplaceNotFound as exc:
        reason = f"order {cmd.order_id} not found on ML (final, not retried): {exc}"
        with uow:
            uow.audit.record(AuditEntry(
                at=clock.now(), account=cmd.account, item_id="", action="order",
                outcome=AuditOutcome.REJECTED, reason=reason,
                response={"status": 404, "error": exc.error, "order_id": cmd.order_id}))
            uow.commit()
        return OrderSeenResult(applied=False, not_found=reason)
    return order_seen(order, uow=uow)
