"""Buyers' questions as the ERP sees them, their events, and the admin's answer rules.

Events (CONTRACT §5), each at most once per question and in this order:

* ``question.received`` the first time the connector reads the question, whatever its status
  then, except one already gone (below): the ERP never saw it, so nothing is said.
* ``question.answered`` once it is ``ANSWERED`` (by the ERP, by a rule, or on ML's site).
* ``question.deleted`` once it is gone from the listing: ``DELETED`` (the buyer or the seller
  removed it), ``BANNED`` or ``DISABLED`` (ML's moderation), ``CLOSED_UNANSWERED`` (the
  listing closed first). Only after ``question.received``.

Answer rules (``[questions.rules.NAME]`` in ``connector.toml``) answer a question at once
when its words or the hour it was asked match. A question ML holds (``UNDER_REVIEW``, or
``hold``) or bans is never answered automatically, and neither is one the connector first saw
in any status but ``UNANSWERED``.
"""

import string
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from attrs import field, frozen

from connector_core.domain._validators import aware_or_none

UNANSWERED = "UNANSWERED"
ANSWERED = "ANSWERED"
UNDER_REVIEW = "UNDER_REVIEW"
GONE_STATUSES = frozenset({"DELETED", "BANNED", "DISABLED", "CLOSED_UNANSWERED"})
MAX_ANSWER = 2000  # ML's limit on an answer's text
TEMPLATE_FIELDS = ("title", "price", "currency_id", "available_quantity", "item_id", "sku")


class QuestionEventType(StrEnum):
    RECEIVED = "question.received"
    ANSWERED = "question.answered"
    DELETED = "question.deleted"


@frozen
class Question:
    id: int
    account: str
    item_id: str
    status: str
    text: str = ""
    date_created: datetime | None = field(default=None, validator=aware_or_none)
    from_id: int | None = None
    hold: bool = False
    answer_text: str | None = None
    answer_date: datetime | None = field(default=None, validator=aware_or_none)


def _types(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _words(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@frozen
class QuestionRecord:
    """What the connector stores about one question. ``held``: ML held it for review at
    some point (never answered automatically). ``answered_by``: ``erp``, ``rule:NAME`` or
    ``ml`` (answered on ML's site), set when the connector knows it."""

    question_id: int
    account: str
    question: Question | None = None
    emitted: frozenset[str] = field(default=frozenset(), converter=_types)
    held: bool = False
    answered_by: str | None = None


def question_events_due(question: Question, record: QuestionRecord) -> list[QuestionEventType]:
    """The events this state of the question adds to the feed, in feed order."""
    emitted = record.emitted
    if QuestionEventType.DELETED in emitted:
        return []
    if question.status in GONE_STATUSES:
        return [QuestionEventType.DELETED] if QuestionEventType.RECEIVED in emitted else []
    due = []
    if QuestionEventType.RECEIVED not in emitted:
        due.append(QuestionEventType.RECEIVED)
    if question.status == ANSWERED and QuestionEventType.ANSWERED not in emitted:
        due.append(QuestionEventType.ANSWERED)
    return due


def may_answer_automatically(question: Question, record: QuestionRecord) -> bool:
    """A rule may answer only a question first seen ``UNANSWERED``, never held or banned."""
    return (question.status == UNANSWERED and not question.hold and not record.held
            and QuestionEventType.RECEIVED not in record.emitted
            and record.answered_by is None)


def normalized(text: str) -> str:
    """Lower case, accents dropped, every run of non-letters one space, padded with spaces:
    ``" envio gratis "``; a word matches when ``" word "`` is inside."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " " + " ".join("".join(c if c.isalnum() else " " for c in plain).split()) + " "


@frozen
class Hours:
    """A window of local time, ``start`` included, ``end`` excluded; it wraps midnight when
    ``start`` is later than ``end`` (``20:00-08:00``)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def template_fields(template: str) -> list[str]:
    """The ``{names}`` a template uses (ValueError on a malformed template)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


@frozen
class AnswerRule:
    """``words`` (any of them, as whole words, case and accents ignored) and/or ``hours``
    (when the question was asked, in ``timezone``); both must match when both are given."""

    name: str
    text: str
    words: tuple[str, ...] = field(default=(), converter=_words)
    hours: Hours | None = None
    timezone: str = "UTC"

    def matches(self, question: Question) -> bool:
        if self.words:
            haystack = normalized(question.text)
            if not any(normalized(word) in haystack for word in self.words):
                return False
        if self.hours is not None:
            if question.date_created is None:
                return False
            local = question.date_created.astimezone(ZoneInfo(self.timezone))
            if not self.hours.contains(local.time().replace(tzinfo=None)):
                return False
        return bool(self.words) or self.hours is not None

    def render(self, fields: Mapping[str, str]) -> str:
        """The answer with the listing's fields filled in, within ML's length limit."""
        text = self.text.format_map({name: fields.get(name, "") for name in TEMPLATE_FIELDS})
        return text if len(text) <= MAX_ANSWER else text[:MAX_ANSWER - 1] + "…"


def first_matching(rules: tuple[AnswerRule, ...], question: Question) -> AnswerRule | None:
    """The first rule (in the file's order) that matches, or None."""
    return next((rule for rule in rules if rule.matches(question)), None)
