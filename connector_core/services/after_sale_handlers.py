"""The after-sale rows of the handler table (:mod:`connector_core.services.handlers`):
``SyncShipment`` and ``SyncQuestion`` jobs, and reconciliation that also re-reads the
shipments and questions still open."""

from collections.abc import Callable, Sequence

from connector_core.domain.commands import Command, Reconcile, SyncQuestion, SyncShipment
from connector_core.domain.questions import AnswerRule
from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.clock import Clock
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.after_sale_reconcile import reconcile_after_sale
from connector_core.services.jobs import Handler
from connector_core.services.questions import sync_question
from connector_core.services.shipments import sync_shipment


def with_after_sale(handlers: dict[type[Command], Handler], *, uow: UnitOfWork,
                    marketplace: Callable[[], MarketplaceGateway],
                    after_sale: Callable[[], AfterSaleGateway], clock: Clock,
                    rules: Sequence[AnswerRule]) -> dict[type[Command], Handler]:
    """``handlers`` plus the after-sale jobs; its ``Reconcile`` handler also queues the
    re-reads of open shipments and questions."""
    reconcile_orders = handlers[Reconcile]

    def run_shipment(command: Command) -> str:
        assert isinstance(command, SyncShipment)
        seen = sync_shipment(command, uow=uow, gateway=after_sale())
        return seen.outcome + (f" ({seen.announced})" if seen.announced else "")

    def run_question(command: Command) -> str:
        assert isinstance(command, SyncQuestion)
        seen = sync_question(command, uow=uow, gateway=after_sale(),
                             marketplace=marketplace(), rules=rules)
        events = ", ".join(e.value for e in seen.events) or "no new event"
        return events + (f"; answered by {seen.answered_by}" if seen.answered_by else "") + \
            (f"; {seen.note}" if seen.note else "")

    def run_reconcile(command: Command) -> str:
        assert isinstance(command, Reconcile)
        orders = reconcile_orders(command)
        return f"{orders}; " + reconcile_after_sale(command.account, uow=uow,
                                                    gateway=after_sale(), clock=clock)

    return {**handlers, SyncShipment: run_shipment, SyncQuestion: run_question,
            Reconcile: run_reconcile}
