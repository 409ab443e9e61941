"""The composition root's handler table: the core's rows, then User Products' and the
after-sale ones on top (with the answer rules of ``connector.toml``)."""

from typing import TYPE_CHECKING

from adapters.admin_files.answer_rules import parse_answer_rules
from connector_core.domain.commands import Command
from connector_core.domain.questions import AnswerRule
from connector_core.ports.metrics import JobMetrics
from connector_core.services.after_sale_handlers import with_after_sale
from connector_core.services.handlers import handler_table
from connector_core.services.jobs import Handler
from connector_core.services.push_batch import PreReadMarketplace
from connector_core.services.up_jobs import up_handlers

if TYPE_CHECKING:
    from config.bootstrap import Connector


def job_handlers(connector: "Connector", metrics: JobMetrics) -> dict[type[Command], Handler]:
    """``{command type: handler}`` for :class:`~connector_core.services.jobs.JobRuntime`.
    The gateways are looked up when a job needs them, so a process that only routes
    notifications never builds an HTTP client."""
    c = connector

    def pushing() -> PreReadMarketplace:  # a push reads its item from its batch's multiget
        return PreReadMarketplace(c.gateway)

    core = handler_table(uow=c.uow, marketplace=pushing, clock=c.clock, metrics=metrics)
    with_ups = up_handlers(core, uow=c.uow, marketplace=pushing,
                           ups=lambda: c.user_products, clock=c.clock, metrics=metrics,
                           locks=c.locks)
    return with_after_sale(with_ups, uow=c.uow, marketplace=lambda: c.gateway,
                           after_sale=lambda: c.after_sale, clock=c.clock,
                           rules=answer_rules(c))


def answer_rules(connector: "Connector") -> tuple[AnswerRule, ...]:
    """Checked when the settings were loaded (``Settings.load``), so read without errors."""
    return parse_answer_rules(dict(connector.settings.raw))[0]
