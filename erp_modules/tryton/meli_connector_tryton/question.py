"""Buyers' questions on ML listings as ``meli.question`` records: ``question.received``
creates one, ``question.answered`` fills its answer and who gave it, ``question.deleted``
closes it. The *Answer* wizard answers through the connector while the user waits."""

import datetime as dt
import logging

from trytond.exceptions import UserError
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .client import ConnectorError

log = logging.getLogger(__name__)

STATES = [
    ("to_answer", "To Answer"),
    ("under_review", "Under Review"),
    ("answered", "Answered"),
    ("closed", "Closed"),
]
OPEN = ("to_answer", "under_review")
ML_MAX_ANSWER = 2000


def _timestamp(text):
    """An ISO date of the feed as Tryton stores timestamps: naive UTC."""
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


class Question(ModelSQL, ModelView):
    __name__ = "meli.question"
    _rec_name = "ml_id"

    account = fields.Many2One("meli.account", "ML Account", required=True, readonly=True,
                              ondelete="RESTRICT")
    company = fields.Many2One("company.company", "Company", required=True, readonly=True)
    ml_id = fields.Char("ML Question", required=True, readonly=True)
    item_id = fields.Char("ML Item", readonly=True)
    sku = fields.Char("SKU", readonly=True,
                      help="The listing's SKU in the connector's mapping (empty when the "
                           "listing maps to several or none).")
    product = fields.Many2One("product.product", "Product", readonly=True,
                              context={"company": Eval("company", -1)}, depends={"company"})
    text = fields.Text("Question", readonly=True)
    asked_at = fields.Timestamp("Asked At", readonly=True)
    buyer_id = fields.Char("ML Buyer", readonly=True)
    state = fields.Selection(STATES, "State", required=True, readonly=True, sort=False)
    ml_status = fields.Char("ML Status", readonly=True)
    answer = fields.Text("Answer", readonly=True)
    answered_by = fields.Char("Answered By", readonly=True,
                              help="erp: from Tryton; rule:NAME: a connector rule; ml: on ML.")
    answered_at = fields.Timestamp("Answered At", readonly=True)
    last_event = fields.Integer("ML Event", readonly=True,
                                help="The last event of the connector's feed applied here.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ("ml_id_uniq", Unique(table, table.ml_id), "An ML question is recorded once."),
        ]
        cls._order = [("asked_at", "DESC"), ("id", "DESC")]
        cls._buttons.update({
            "answer_wizard": {"invisible": ~Eval("state").in_(list(OPEN)),
                              "depends": ["state"]},
        })

    @staticmethod
    def default_state():
        return "to_answer"

    @classmethod
    @ModelView.button_action("meli_connector.wizard_question_answer")
    def answer_wizard(cls, questions):
        pass

    # --- the event feed ------------------------------------------------------------------

    @classmethod
    def meli_apply_event(cls, account, event):
        """Apply one ``question.*`` event; one already applied (or older than the last
        applied to this question) changes nothing."""
        kind, ml = event["type"], event["question"]
        event_id = int(event["id"])
        ml_id = str(event.get("question_id") or ml["id"])
        found = cls.search([("ml_id", "=", ml_id)])
        if found and (found[0].last_event or 0) >= event_id:
            return
        question = found[0] if found else cls(
            account=account, company=account.company, ml_id=ml_id, state="to_answer",
            **dict.fromkeys(("item_id", "sku", "product", "text", "asked_at", "buyer_id",
                             "answer", "answered_by", "answered_at")))
        question.item_id = ml.get("item_id") or question.item_id
        question.text = ml.get("text") or question.text
        question.asked_at = _timestamp(ml.get("date_created")) or question.asked_at
        question.buyer_id = str(ml["from_id"]) if ml.get("from_id") else question.buyer_id
        question.ml_status = ml.get("status")
        if ml.get("sku") and ml["sku"] != question.sku:
            question.sku = ml["sku"]
            products = Pool().get("product.product").search([("code", "=", ml["sku"])],
                                                            limit=1)
            question.product = products[0] if products else None
        if kind == "question.received":
            if question.state in OPEN:
                question.state = "under_review" if ml.get("status") == "UNDER_REVIEW" \
                    else "to_answer"
        elif kind == "question.answered":
            answer = ml.get("answer") or {}
            question.state = "answered"
            question.answer = answer.get("text") or question.answer
            question.answered_at = _timestamp(answer.get("date_created")) \
                or question.answered_at
            question.answered_by = event.get("answered_by") or question.answered_by
        elif kind == "question.deleted":
            question.state = "closed"
        else:
            log.info("ML question %s: event %s ignored", ml_id, kind)
            return
        question.last_event = event_id
        question.save()
        log.info("ML question %s: %s (%s)", ml_id, kind, question.state)

    # --- answering -------------------------------------------------------------------------

    @classmethod
    def meli_answer(cls, question, text):
        """Answer on ML through the connector; the record shows it at once (the feed's
        ``question.answered`` confirms it later). Refusals become one-line user errors."""
        text = (text or "").strip()
        if not text:
            raise UserError("Write the answer first.")
        if len(text) > ML_MAX_ANSWER:
            raise UserError(f"MercadoLibre takes answers of up to {ML_MAX_ANSWER} "
                            f"characters; this one has {len(text)}.")
        if question.state not in OPEN:
            raise UserError(f"Question {question.ml_id} is {question.state.replace('_', ' ')}"
                            f": there is nothing to answer.")
        try:
            result = question.account.client().answer_question(question.ml_id, text)
        except ConnectorError as exc:
            raise UserError(answer_error(question.ml_id, exc)) from exc
        # The fields are read-only to users (the feed writes them); answering is the sale
        # users' button, so its outcome is written as the feed would.
        with without_check_access():
            cls.write([cls(question.id)], {
                "state": "answered", "answer": text, "answered_by": "erp",
                "answered_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                "ml_status": (result or {}).get("status") or "ANSWERED"})
        log.info("ML question %s answered from Tryton by user %s", question.ml_id,
                 Transaction().user)


def answer_error(ml_id, exc):
    if exc.status == 409:
        return f"MercadoLibre refused the answer to question {ml_id}: {exc.message}"
    if exc.status == 404:
        return (f"The connector does not know question {ml_id} (it was not announced, or "
                f"ML no longer has it): {exc.message}")
    if exc.status is not None and exc.status < 500:
        return f"The answer to question {ml_id} was not accepted: {exc.message}"
    return (f"The answer to question {ml_id} could not be sent now; nothing was answered, "
            f"try again later ({exc.message}).")


class AnswerStart(ModelView):
    __name__ = "meli.question.answer.start"

    question = fields.Text("Question", readonly=True)
    text = fields.Text("Answer", required=True,
                       help=f"Sent to the buyer on MercadoLibre (up to {ML_MAX_ANSWER} "
                            f"characters).")


class Answer(Wizard):
    __name__ = "meli.question.answer"

    start = StateView("meli.question.answer.start",
                      "meli_connector.question_answer_start_view_form", [
                          Button("Cancel", "end", "tryton-cancel"),
                          Button("Answer", "answer", "tryton-ok", default=True),
                      ])
    answer = StateTransition()

    def default_start(self, fields):
        return {"question": self.record.text if self.record else None}

    def transition_answer(self):
        self.model.meli_answer(self.record, self.start.text)
        return "end"
