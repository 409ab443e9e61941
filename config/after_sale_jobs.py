"""The composition root's after-sale part: the ML gateway of shipments and questions (or
the one a test gives) and the answer rules of ``connector.toml``."""

from typing import TYPE_CHECKING

from adapters.admin_files.answer_rules import parse_answer_rules
from connector_core.domain.questions import AnswerRule
from connector_core.ports.after_sale import AfterSaleGateway

if TYPE_CHECKING:
    from config.bootstrap import Connector


def after_sale_gateway(connector: "Connector") -> AfterSaleGateway:
    override: AfterSaleGateway | None = connector._after_sale
    return override if override is not None else connector.ml.after_sale


def answer_rules(connector: "Connector") -> tuple[AnswerRule, ...]:
    """Checked when the settings were loaded (``Settings.load``), so read without errors."""
    return parse_answer_rules(dict(connector.settings.raw))[0]
