"""Use cases: route a stored ML notification, and fetch-and-apply an order."""

from attrs import frozen

from connector_core.domain.commands import Command, PushItem, SyncOrder
from connector_core.domain.errors import UnknownAccount
from connector_core.domain.notifications import ITEM_TOPICS, ORDER_TOPICS, Notification
from connector_core.ports import MarketplaceGateway, UnitOfWork
from connector_core.services.order_seen import OrderSeenResult, order_seen


@frozen
class Routing:
    """What a notification leads to: a command, or the reason it is only recorded."""

    command: Command | None
    ignored: str = ""


def route_notification(notification: Notification, *, uow: UnitOfWork) -> Routing:
    """Decide what a notification means; adds the resulting job to the unit of work.

    Unknown sellers and topics are recorded, not processed. An ``items``/``items_prices``
    notification for an item the connector does not map is ignored (it has nothing to say).
    """
    with uow:
        account = (uow.accounts.by_user_id(notification.user_id)
                   if notification.user_id is not None else None)
        if account is None:
            return Routing(None, f"unknown seller user_id {notification.user_id}")
        resource_id = notification.resource_id()
        command: Command
        if notification.topic in ORDER_TOPICS:
            if resource_id is None or not resource_id.isdigit():
                return Routing(None, f"unexpected order resource {notification.resource!r}")
            command = SyncOrder(account.name, int(resource_id))
        elif notification.topic in ITEM_TOPICS:
            if resource_id is None:
                return Routing(None, f"unexpected item resource {notification.resource!r}")
            if not uow.mappings.rows_for_item(account.name, resource_id):
                return Routing(None, f"item {resource_id} is not mapped")
            command = PushItem(account.name, resource_id)
        else:
            return Routing(None, f"topic {notification.topic!r} is recorded, not processed")
        uow.jobs.add(command)
        uow.commit()
    return Routing(command)


def sync_order(cmd: SyncOrder, *, uow: UnitOfWork,
               marketplace: MarketplaceGateway) -> OrderSeenResult:
    """Read the order from ML (never trusting a notification's content) and apply it."""
    with uow:
        account = uow.accounts.get(cmd.account)
    if account is None:
        raise UnknownAccount(f"unknown account {cmd.account!r}")
    order = marketplace.get_order(account, cmd.order_id)
    return order_seen(order, uow=uow)
