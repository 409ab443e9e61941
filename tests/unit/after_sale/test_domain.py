"""The after-sale rules of the domain: one ``order.shipping`` per (shipment, status) moving
only forward, the question events in order, and what an answer rule matches."""

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_core.domain.questions import (
    AnswerRule,
    Hours,
    Question,
    QuestionEventType,
    QuestionRecord,
    may_answer_automatically,
    question_events_due,
)
from connector_core.domain.shipments import (
    STATUS_RANK,
    LogisticType,
    Shipment,
    ShipmentRecord,
    shipping_due,
)

T = datetime(2026, 12, 4, 15, tzinfo=UTC)
R, A, D = QuestionEventType.RECEIVED, QuestionEventType.ANSWERED, QuestionEventType.DELETED


def shipment(status: str, minutes: int = 0, logistic: str = "drop_off") -> Shipment:
    return Shipment(id=1, account="main", status=status,
                    last_updated=T + timedelta(minutes=minutes), logistic=logistic)


def apply(record: ShipmentRecord, state: Shipment) -> tuple[ShipmentRecord, bool]:
    due = shipping_due(state, record)
    newer = record.shipment is None or state.last_updated >= record.shipment.last_updated
    emitted = record.emitted | ({state.status} if due else set())
    return ShipmentRecord(1, "main", shipment=state if newer else record.shipment,
                          emitted=emitted), due


@given(st.lists(st.tuples(st.sampled_from(sorted(STATUS_RANK)), st.integers(0, 20)),
                max_size=12))
def test_each_status_once_and_never_backwards(reads: list[tuple[str, int]]) -> None:
    """Whatever order the reads come in (late, duplicated), each status is announced at most
    once and the announced statuses only move forward."""
    record = ShipmentRecord(1, "main")
    announced = []
    for status, minutes in reads:
        record, due = apply(record, shipment(status, minutes))
        if due:
            announced.append(status)
    assert len(announced) == len(set(announced))
    ranks = [STATUS_RANK[s] for s in announced]
    assert ranks == sorted(ranks) and ranks.count(4) <= 1


def test_an_older_read_changes_nothing() -> None:
    record, _ = apply(ShipmentRecord(1, "main"), shipment("shipped", 10))
    assert not shipping_due(shipment("ready_to_ship", 5), record)


@pytest.mark.parametrize(("ml", "ours"), [
    ("drop_off", LogisticType.DROP_OFF), ("xd_drop_off", LogisticType.DROP_OFF),
    ("cross_docking", LogisticType.CROSS_DOCKING), ("self_service", LogisticType.SELF_SERVICE),
    ("fulfillment", LogisticType.FULFILLMENT), ("default", LogisticType.OTHER)])
def test_logistic_types(ml: str, ours: LogisticType) -> None:
    assert shipment("handling", logistic=ml).logistic_type is ours


def question(status: str = "UNANSWERED", text: str = "¿Hacen envíos?", hour: int = 15,
             hold: bool = False) -> Question:
    return Question(id=9, account="main", item_id="MLA1", status=status, text=text,
                    date_created=datetime(2026, 12, 4, hour, tzinfo=UTC), hold=hold)


@pytest.mark.parametrize(("emitted", "status", "due"), [
    ((), "UNANSWERED", [R]), ((), "UNDER_REVIEW", [R]), ((), "ANSWERED", [R, A]),
    ((), "DELETED", []), ((), "BANNED", []), ((R,), "UNANSWERED", []),
    ((R,), "ANSWERED", [A]), ((R, A), "ANSWERED", []), ((R,), "BANNED", [D]),
    ((R, A), "DISABLED", [D]), ((R,), "CLOSED_UNANSWERED", [D]), ((R, D), "DELETED", []),
    ((R, D), "ANSWERED", [])])
def test_question_events_in_order_once(emitted: tuple[QuestionEventType, ...], status: str,
                                       due: list[QuestionEventType]) -> None:
    record = QuestionRecord(9, "main", emitted=frozenset(emitted))
    assert question_events_due(question(status), record) == due


def test_only_a_question_first_seen_unanswered_and_never_held_is_auto_answered() -> None:
    fresh = QuestionRecord(9, "main")
    assert may_answer_automatically(question(), fresh)
    assert not may_answer_automatically(question("UNDER_REVIEW"), fresh)
    assert not may_answer_automatically(question(hold=True), fresh)
    assert not may_answer_automatically(question(), QuestionRecord(9, "main", held=True))
    assert not may_answer_automatically(question(), QuestionRecord(9, "main",
                                                                   emitted=frozenset({R})))


def test_words_match_whole_words_without_case_or_accents() -> None:
    rule = AnswerRule("envio", "x", words=("envio",))
    assert rule.matches(question(text="¿Hacen ENVÍO a Córdoba?"))
    assert not rule.matches(question(text="¿Hacen envíos?"))  # another word
    assert not rule.matches(question(text="¿Reenvio?"))
    assert AnswerRule("p", "x", words=("medio de pago",)).matches(
        question(text="¿Qué medio  de pago aceptan?"))


def test_hours_wrap_midnight_in_the_rules_zone() -> None:
    night = AnswerRule("noche", "x", hours=Hours(time(20), time(9)),
                       timezone="America/Argentina/Buenos_Aires")  # UTC-3
    assert night.matches(question(hour=23))      # 20:00 local
    assert night.matches(question(hour=11))      # 08:00 local
    assert not night.matches(question(hour=12))  # 09:00 local
    both = AnswerRule("b", "x", words=("envio",), hours=Hours(time(0), time(1)))
    assert not both.matches(question(text="envio", hour=15))


def test_a_template_is_filled_and_kept_within_mls_limit() -> None:
    rule = AnswerRule("r", "{title}: {price} {currency_id} ({sku})", words=("a",))
    assert rule.render({"title": "Taza", "price": "100", "currency_id": "ARS",
                        "sku": "MUG-01"}) == "Taza: 100 ARS (MUG-01)"
    assert len(AnswerRule("r", "{title}", words=("a",)).render({"title": "x" * 3000})) == 2000
