"""After-sale use cases on the fakes: a shipment waits for its order, a pack lists its
orders, a rule's answer survives a crash between choosing it and answering, and
reconciliation re-reads what is still open."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector_core.domain.accounts import Account
from connector_core.domain.commands import SyncOrder, SyncQuestion, SyncShipment
from connector_core.domain.errors import MarketplaceUnavailable
from connector_core.domain.feed import QuestionEvent, ShippingEvent
from connector_core.domain.items import MarketItem
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.domain.orders import Order, OrderLine
from connector_core.domain.questions import AnswerRule, Question
from connector_core.domain.shipments import Shipment
from connector_core.services.after_sale_reconcile import reconcile_after_sale
from connector_core.services.order_seen import order_seen
from connector_core.services.questions import sync_question
from connector_core.services.shipments import sync_shipment
from tests.fakes import FakeMarketplace, FakeUnitOfWork, FixedClock, Store
from tests.fakes_after_sale import FakeAfterSale

T = datetime(2026, 12, 4, 12, tzinfo=UTC)
MAIN = Account("main", 111, "MLA")


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(Store(accounts={"main": MAIN}, table=MappingTable(
        [MappingRow("A", Listing("main", "MLA1"))])), clock=FixedClock(T))


def order(order_id: int, pack_id: int | None = None) -> Order:
    return Order(id=order_id, account="main", status="paid", last_updated=T,
                 lines=[OrderLine("MLA1", None, "A", 1, Decimal(10))], pack_id=pack_id,
                 shipping_id=500)


def shipment(status: str = "handling", minutes: int = 0) -> Shipment:
    return Shipment(id=500, account="main", status=status, order_id=1,
                    last_updated=T + timedelta(minutes=minutes))


def shipping(uow: FakeUnitOfWork) -> list[ShippingEvent]:
    return [e for e in uow.store.events if isinstance(e, ShippingEvent)]


def test_a_shipment_waits_for_its_order_then_lists_the_packs_orders(uow):
    ml = FakeAfterSale([shipment()])
    seen = sync_shipment(SyncShipment("main", 500), uow=uow, gateway=ml)
    assert seen.outcome == "waiting for order 1" and uow.take_jobs() == [SyncOrder("main", 1)]
    order_seen(order(1, pack_id=77), uow=uow)
    assert SyncShipment("main", 500) in uow.take_jobs()
    ml.shipments[501] = Shipment(id=501, account="main", status="handling", order_id=2,
                                 last_updated=T)  # the pack's other order, for /packs
    assert sync_shipment(SyncShipment("main", 500), uow=uow, gateway=ml).announced == "handling"
    assert [(e.order_ids, e.pack_id) for e in shipping(uow)] == [((1, 2), 77)]
    assert sync_shipment(SyncShipment("main", 500), uow=uow,
                         gateway=ml).outcome == "already announced"


def test_a_late_read_is_ignored(uow):
    order_seen(order(1), uow=uow)
    ml = FakeAfterSale([shipment("shipped", 10)])
    sync_shipment(SyncShipment("main", 500), uow=uow, gateway=ml)
    ml.shipments[500] = shipment("ready_to_ship", 5)
    assert sync_shipment(SyncShipment("main", 500), uow=uow,
                         gateway=ml).outcome == "older than the stored state"
    assert [e.shipment.status for e in shipping(uow)] == ["shipped"]


class FlakyAnswers(FakeAfterSale):
    fail = True

    def answer_question(self, account, question_id, text):
        if self.fail:
            self.fail = False
            raise MarketplaceUnavailable("ML down")
        return super().answer_question(account, question_id, text)


def test_a_rules_answer_survives_a_failure_and_is_said_once(uow):
    asked = Question(id=9, account="main", item_id="MLA1", status="UNANSWERED",
                     text="¿hacen envio?", date_created=T)
    ml = FlakyAnswers(questions=[asked])
    items = FakeMarketplace([MarketItem(id="MLA1", site_id="MLA", seller_id=111,
                                        status="active", price=Decimal("1500.50"),
                                        currency_id="ARS", available_quantity=3,
                                        title="Taza")])
    rules = [AnswerRule("envio", "{title} a {price} {currency_id}, quedan "
                                 "{available_quantity} ({sku})", words=("envio",))]
    with pytest.raises(MarketplaceUnavailable):
        sync_question(SyncQuestion("main", 9), uow=uow, gateway=ml, marketplace=items,
                      rules=rules)
    # the retry: received was said already; the rule chosen before still answers
    seen = sync_question(SyncQuestion("main", 9), uow=uow, gateway=ml, marketplace=items,
                         rules=rules)
    assert seen.answered_by == "rule:envio"
    assert ml.questions[9].answer_text == "Taza a 1500.50 ARS, quedan 3 (A)"
    events = [(e.type.value, e.answered_by) for e in uow.store.events
              if isinstance(e, QuestionEvent)]
    assert events == [("question.received", None), ("question.answered", "rule:envio")]


def test_reconciliation_rereads_open_shipments_and_unlisted_questions(uow):
    order_seen(order(1), uow=uow)
    ml = FakeAfterSale([shipment()], [Question(id=9, account="main", item_id="MLA1",
                                               status="UNANSWERED", date_created=T)])
    sync_shipment(SyncShipment("main", 500), uow=uow, gateway=ml)
    uow.take_jobs()
    reconcile_after_sale("main", uow=uow, gateway=ml, clock=FixedClock(T))
    assert set(uow.take_jobs()) == {SyncShipment("main", 500), SyncQuestion("main", 9)}
    ml.shipments[500] = shipment("delivered", 60)
    sync_shipment(SyncShipment("main", 500), uow=uow, gateway=ml)
    sync_question(SyncQuestion("main", 9), uow=uow, gateway=ml, marketplace=FakeMarketplace())
    reconcile_after_sale("main", uow=uow, gateway=ml, clock=FixedClock(T))
    assert uow.take_jobs() == []  # delivered is final; the question is open on both sides


def test_what_ml_does_not_have_ends_the_job(uow):
    ml = FakeAfterSale(questions=[Question(id=9, account="main", item_id="MLA1",
                                           status="UNANSWERED", date_created=T)])
    assert sync_shipment(SyncShipment("main", 404), uow=uow,
                         gateway=ml).outcome == "ML has no shipment 404"
    assert sync_question(SyncQuestion("main", 8), uow=uow, gateway=ml,
                         marketplace=FakeMarketplace()).events == ()
    sync_question(SyncQuestion("main", 9), uow=uow, gateway=ml, marketplace=FakeMarketplace())
    del ml.questions[9]  # gone from ML: deleted for the ERP, once
    for _ in range(2):
        sync_question(SyncQuestion("main", 9), uow=uow, gateway=ml,
                      marketplace=FakeMarketplace())
    assert [e.type.value for e in uow.store.events if isinstance(e, QuestionEvent)] == [
        "question.received", "question.deleted"]


def test_statuses_passed_unread_come_from_mls_history_in_order(uow):
    order_seen(order(1), uow=uow)
    ml = FakeAfterSale([shipment("handling")])
    sync_shipment(SyncShipment("main", 500), uow=uow, gateway=ml)
    ml.shipments[500] = shipment("delivered", 30)
    ml.histories[500] = {"handling": T, "shipped": T + timedelta(minutes=20),
                         "delivered": T + timedelta(minutes=30)}  # no ready_to_ship date
    sync_shipment(SyncShipment("main", 500), uow=uow, gateway=ml)
    announced = [(e.shipment.status, e.shipment.last_updated) for e in shipping(uow)]
    assert announced == [("handling", T), ("shipped", T + timedelta(minutes=20)),
                         ("delivered", T + timedelta(minutes=30))]
    sync_shipment(SyncShipment("main", 500), uow=uow, gateway=ml)
    assert len(shipping(uow)) == 3
