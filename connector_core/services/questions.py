"""Use cases: buyers' questions reach the ERP, are answered by the ERP or by the admin's
answer rules (see :mod:`connector_core.domain.questions` for the events and the rules)."""

from collections.abc import Sequence
from decimal import Decimal

from attrs import evolve, frozen

from connector_core.domain.commands import SyncQuestion
from connector_core.domain.errors import (
    InvalidInput,
    MarketplaceNotFound,
    MarketplaceRejected,
    UnknownAccount,
)
from connector_core.domain.feed import QuestionEvent
from connector_core.domain.inputs import text_problem
from connector_core.domain.questions import (
    MAX_ANSWER,
    AnswerRule,
    Question,
    QuestionEventType,
    QuestionRecord,
    first_matching,
    may_answer_automatically,
    question_events_due,
)
from connector_core.ports.after_sale import AfterSaleGateway, NotAnnounced
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork

RULE_PREFIX = "rule:"


@frozen
class QuestionSeen:
    events: tuple[QuestionEventType, ...] = ()
    answered_by: str | None = None
    note: str = ""


def _skus(uow: UnitOfWork, question: Question) -> tuple[str, ...]:
    rows = uow.mappings.rows_for_item(question.account, question.item_id)
    return tuple(sorted({row.sku for row in rows}))


def _apply(question: Question, record: QuestionRecord, uow: UnitOfWork,
           answered_by: str | None = None) -> tuple[QuestionRecord, list[QuestionEventType]]:
    """Append the events this state adds and return the record to save."""
    due = question_events_due(question, record)
    by = answered_by or record.answered_by
    if question.status == "ANSWERED" and by is None:
        by = "ml"  # answered on ML's site, not through the connector
    skus = _skus(uow, question) if due else ()
    for event_type in due:
        uow.erp_feed.append(QuestionEvent(
            event_type, question, skus,
            answered_by=by if event_type is QuestionEventType.ANSWERED else None))
    held = record.held or question.hold or question.status == "UNDER_REVIEW"
    return evolve(record, question=question, emitted=record.emitted | set(due), held=held,
                  answered_by=by if question.status == "ANSWERED" else record.answered_by
                  ), due


def _rule_to_run(question: Question, record: QuestionRecord,
                 rules: Sequence[AnswerRule]) -> AnswerRule | None:
    """A rule that answers now: one chosen before (a retry after a crash) or the first that
    matches a question seen for the first time, answerable and never held."""
    chosen = record.answered_by or ""
    if chosen.startswith(RULE_PREFIX):
        if question.status != "UNANSWERED" or question.hold:
            return None
        return next((r for r in rules if r.name == chosen[len(RULE_PREFIX):]), None)
    if not may_answer_automatically(question, record):
        return None
    return first_matching(tuple(rules), question)


def _listing_fields(marketplace: MarketplaceGateway, uow: UnitOfWork, account_name: str,
                    question: Question) -> dict[str, str]:
    with uow:
        account = uow.accounts.get(account_name)
        skus = _skus(uow, question)
    assert account is not None
    item = marketplace.get_item(account, question.item_id)
    price: Decimal = item.price
    return {"title": item.title, "price": f"{price:f}", "currency_id": item.currency_id,
            "available_quantity": str(item.available_quantity), "item_id": item.id,
            "sku": ", ".join(skus) or (item.seller_sku or "")}


def sync_question(cmd: SyncQuestion, *, uow: UnitOfWork, gateway: AfterSaleGateway,
                  marketplace: MarketplaceGateway,
                  rules: Sequence[AnswerRule] = ()) -> QuestionSeen:
    """Read the question from ML, add its events, and answer it when a rule matches."""
    with uow:
        account = uow.accounts.get(cmd.account)
    if account is None:
        raise UnknownAccount(f"unknown account {cmd.account!r}")
    try:
        question = gateway.get_question(account, cmd.question_id)
    except MarketplaceNotFound:
        return _vanished(cmd.question_id, uow)
    with uow:
        record = (uow.questions.get(question.id)
                  or QuestionRecord(question.id, account.name))
        rule = _rule_to_run(question, record, rules)
        record, due = _apply(question, record, uow)
        if rule is not None:
            record = evolve(record, answered_by=RULE_PREFIX + rule.name)
        uow.questions.save(record)
        uow.commit()
    if rule is None:
        return QuestionSeen(tuple(due))
    try:
        text = rule.render(_listing_fields(marketplace, uow, account.name, question))
        answered = gateway.answer_question(account, question.id, text)
    except MarketplaceRejected as exc:  # moderation took it meanwhile, the item is gone, ...
        with uow:
            record = uow.questions.get(question.id) or record
            uow.questions.save(evolve(record, answered_by=None))
            uow.commit()
        return QuestionSeen(tuple(due), note=f"rule {rule.name} could not answer: {exc}")
    more = _record_answer(answered, uow, RULE_PREFIX + rule.name)
    return QuestionSeen((*due, *more), RULE_PREFIX + rule.name)


def _vanished(question_id: int, uow: UnitOfWork) -> QuestionSeen:
    """ML no longer has the question: announced ones are deleted for the ERP, once."""
    with uow:
        record = uow.questions.get(question_id)
        if record is None or record.question is None:
            return QuestionSeen(note="ML does not have it (never announced)")
        record, due = _apply(evolve(record.question, status="DELETED"), record, uow)
        uow.questions.save(record)
        uow.commit()
    return QuestionSeen(tuple(due), note="ML does not have it any more")


def _record_answer(answered: Question, uow: UnitOfWork,
                   by: str) -> list[QuestionEventType]:
    with uow:
        record = (uow.questions.get(answered.id)
                  or QuestionRecord(answered.id, answered.account))
        record, due = _apply(answered, record, uow, answered_by=by)
        uow.questions.save(record)
        uow.commit()
    return due


def check_answer_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("text: expected a non-empty string")
    problem = text_problem(text)
    if problem:
        raise InvalidInput(f"text: {problem}")
    if len(text) > MAX_ANSWER:
        raise InvalidInput(f"text: at most {MAX_ANSWER} characters (ML's limit), "
                           f"got {len(text)}")
    return text


def answer_question(question_id: int, text: str, *, uow: UnitOfWork,
                    gateway: AfterSaleGateway) -> tuple[Question, list[QuestionEventType]]:
    """The ERP answers a question the connector announced; ``question.answered`` follows in
    the feed. ``NotAnnounced`` for a question the connector does not know."""
    text = check_answer_text(text)
    with uow:
        record = uow.questions.get(question_id)
        account = uow.accounts.get(record.account) if record is not None else None
        if record is None or account is None:
            raise NotAnnounced(f"question {question_id} is not known to the connector (no "
                              f"question.received event was sent for it)")
        # said before the call: ML's own notification of this answer may be read first
        uow.questions.save(evolve(record, answered_by="erp"))
        uow.commit()
    try:
        answered = gateway.answer_question(account, question_id, text)
    except Exception:
        with uow:
            current = uow.questions.get(question_id) or record
            if current.answered_by == "erp" and QuestionEventType.ANSWERED not in \
                    current.emitted:
                uow.questions.save(evolve(current, answered_by=record.answered_by))
                uow.commit()
        raise
    return answered, _record_answer(answered, uow, "erp")


def queue_open_questions(account_name: str, *, uow: UnitOfWork,
                         gateway: AfterSaleGateway) -> int:
    """Reconciliation: queue a read of every question ML shows unanswered that the
    connector does not hold as open (a lost ``questions`` notification), and of every one
    it holds as open that ML no longer shows unanswered (answered, deleted or moderated
    since); how many were queued."""
    with uow:
        account = uow.accounts.get(account_name)
        if account is None:
            raise UnknownAccount(f"unknown account {account_name!r}")
        stored_open = set(uow.questions.open_ids(account_name, 10_000))
    queue: list[int] = []
    for question in gateway.unanswered_questions(account):
        if question.id in stored_open:
            stored_open.discard(question.id)  # still open on both sides
            continue
        queue.append(question.id)
    queue.extend(sorted(stored_open))
    with uow:
        for question_id in queue:
            uow.jobs.add(SyncQuestion(account_name, question_id))
        uow.commit()
    return len(queue)
