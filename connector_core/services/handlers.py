"""The handler table: which use case runs a job of each command type."""

import logging
from collections.abc import Callable

from connector_core.domain.commands import (
    Command,
    ProcessNotification,
    PushItem,
    Reconcile,
    SyncOrder,
)
from connector_core.ports.clock import Clock
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.metrics import JobMetrics
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.jobs import Handler
from connector_core.services.notifications import process_notification, sync_order
from connector_core.services.push_item import push_item
from connector_core.services.reconcile import reconcile_orders

log = logging.getLogger(__name__)


def handler_table(*, uow: UnitOfWork, marketplace: Callable[[], MarketplaceGateway],
                  clock: Clock, metrics: JobMetrics) -> dict[type[Command], Handler]:
    """``{command type: handler}``. ``marketplace`` is called when a job needs ML, so a
    process that only routes notifications never builds an HTTP client."""

    def run_push(command: Command) -> str:
        assert isinstance(command, PushItem)
        result = push_item(command, uow=uow, marketplace=marketplace(), clock=clock)
        outcome = result.outcome.value if result.outcome else "no change"
        metrics.pushed(outcome)
        return outcome

    def run_sync(command: Command) -> str:
        assert isinstance(command, SyncOrder)
        seen = sync_order(command, uow=uow, marketplace=marketplace(), clock=clock)
        if seen.not_found:
            log.warning("%s: %s", command.dedup_key, seen.not_found)
            return seen.not_found
        return "applied" if seen.applied else "not newer"

    def run_routing(command: Command) -> str:
        assert isinstance(command, ProcessNotification)
        routing = process_notification(command, uow=uow, clock=clock)
        return routing.ignored or f"queued {type(routing.command).__name__}"

    def run_reconcile(command: Command) -> str:
        assert isinstance(command, Reconcile)
        found = reconcile_orders(command.account, uow=uow, marketplace=marketplace(),
                                 clock=clock, since=command.since)
        return f"{found.orders_seen} orders seen, {len(found.orders_queued)} queued"

    return {PushItem: run_push, SyncOrder: run_sync, ProcessNotification: run_routing,
            Reconcile: run_reconcile}
