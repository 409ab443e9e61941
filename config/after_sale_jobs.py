"""The composition root's after-sale part: the ML gateway of shipments and questions, the
answer rules from ``connector.toml``, and the jobs that use them."""

from typing import TYPE_CHECKING

from config.answer_rules import parse_answer_rules
from connector_core.after_sale_ports import AfterSaleGateway
from connector_core.domain.commands import SyncQuestion, SyncShipment
from connector_core.domain.questions import AnswerRule
from connector_core.services.after_sale_reconcile import reconcile_after_sale
from connector_core.services.questions import sync_question
from connector_core.services.shipments import sync_shipment

if TYPE_CHECKING:
    from config.bootstrap import Connector


def after_sale_gateway(connector: "Connector") -> AfterSaleGateway:
    override: AfterSaleGateway | None = connector._after_sale
    return override if override is not None else connector.ml.after_sale


def answer_rules(connector: "Connector") -> tuple[AnswerRule, ...]:
    """Checked when the settings were loaded (``Settings.load``), so read without errors."""
    return parse_answer_rules(dict(connector.settings.raw))[0]


def run_after_sale_job(connector: "Connector", command: SyncShipment | SyncQuestion) -> str:
    gateway = after_sale_gateway(connector)
    if isinstance(command, SyncShipment):
        seen = sync_shipment(command, uow=connector.uow, gateway=gateway)
        return seen.outcome + (f" ({seen.announced})" if seen.announced else "")
    result = sync_question(command, uow=connector.uow, gateway=gateway,
                           marketplace=connector.gateway, rules=answer_rules(connector))
    events = ", ".join(e.value for e in result.events) or "no new event"
    return events + (f"; answered by {result.answered_by}" if result.answered_by else "") + \
        (f"; {result.note}" if result.note else "")


def reconcile_account_after_sale(connector: "Connector", account: str) -> str:
    return reconcile_after_sale(account, uow=connector.uow,
                                gateway=after_sale_gateway(connector), clock=connector.clock)
