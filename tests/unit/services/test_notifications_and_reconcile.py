"""Notifications through the inbox, and reconciliation by order search and missed feeds."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector_core.domain.accounts import Account
from connector_core.domain.commands import ProcessNotification, SyncOrder
from connector_core.domain.errors import AuthRevoked
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import Order, OrderLine
from connector_core.services.notifications import process_notification, receive_notification
from connector_core.services.order_seen import order_seen
from connector_core.services.reconcile import (
    MissedFeedsUnread,
    reconcile_orders,
    recover_missed_notifications,
)
from tests.fakes import FakeMarketplace, FakeUnitOfWork, FixedClock, Store

T = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(Store(
        accounts={"main": Account("main", 111, "MLA")},
        table=MappingTable([MappingRow("A", Listing("main", "MLA1"))])))


def note(resource="/orders/42", topic="orders_v2", ml_id=None) -> Notification:
    return Notification(topic=topic, resource=resource, user_id=111, ml_id=ml_id)


def order(order_id: int, minutes: int) -> Order:
    return Order(id=order_id, account="main", status="paid",
                 last_updated=T + timedelta(minutes=minutes),
                 lines=(OrderLine("MLA1", None, "A", 1, Decimal(10)),))


class TestInbox:
    def test_a_notification_is_stored_then_processed_once(self, uow):
        clock = FixedClock()
        entry_id, is_new = receive_notification(note(), {"raw": 1}, uow=uow, clock=clock)
        assert is_new and uow.take_jobs() == [ProcessNotification(entry_id)]
        routing = process_notification(ProcessNotification(entry_id), uow=uow, clock=clock)
        assert routing.command == SyncOrder("main", 42)
        assert uow.store.inbox[entry_id].outcome == "queued SyncOrder"
        again = process_notification(ProcessNotification(entry_id), uow=uow, clock=clock)
        assert again.command is None and uow.take_jobs() == [SyncOrder("main", 42)]

    def test_duplicates_while_waiting_join_the_first(self, uow):
        ids = {receive_notification(note(), {}, uow=uow, clock=FixedClock())[0]
               for _ in range(5)}
        assert len(ids) == 1 and uow.store.inbox[ids.pop()].duplicates == 4
        assert len(uow.store.jobs) == 1

    def test_after_processing_the_same_resource_is_new_work_unless_same_ml_id(self, uow):
        clock = FixedClock()
        first, _ = receive_notification(note(ml_id="x"), {}, uow=uow, clock=clock)
        process_notification(ProcessNotification(first), uow=uow, clock=clock)
        assert receive_notification(note(ml_id="x"), {}, uow=uow, clock=clock)[1] is False
        assert receive_notification(note(ml_id="y"), {}, uow=uow, clock=clock)[1] is True

    def test_unknown_topics_are_recorded_with_the_reason(self, uow):
        clock = FixedClock()
        entry_id, _ = receive_notification(note("/collections/1", "payments"), {}, uow=uow,
                                           clock=clock)
        process_notification(ProcessNotification(entry_id), uow=uow, clock=clock)
        assert uow.store.inbox[entry_id].outcome.startswith("ignored: topic 'payments'")


class TestReconcile:
    def test_first_run_looks_back_48_hours_and_queues_unknown_orders(self, uow):
        clock = FixedClock(T + timedelta(hours=1))
        ml = FakeMarketplace(orders=[order(1, 0), order(2, -60 * 50)])
        result = reconcile_orders("main", uow=uow, marketplace=ml, clock=clock)
        assert result.since == clock.now() - timedelta(hours=48)
        assert result.orders_queued == (1,)
        assert uow.store.checkpoints[("main", "orders")] == clock.now()

    def test_next_run_overlaps_the_checkpoint_by_an_hour_and_skips_known_orders(self, uow):
        clock = FixedClock(T + timedelta(hours=1))
        ml = FakeMarketplace(orders=[order(1, 0), order(3, 30)])
        order_seen(order(1, 0), uow=uow)
        uow.store.checkpoints[("main", "orders")] = T
        result = reconcile_orders("main", uow=uow, marketplace=ml, clock=clock)
        assert result.since == T - timedelta(hours=1)
        assert result.orders_queued == (3,)

    def test_missed_feeds_go_through_the_inbox_once(self, uow):
        ml = FakeMarketplace()
        ml.missed_notifications = lambda account: [note(ml_id="m1"), note("/orders/7", ml_id="m2")]
        clock = FixedClock()
        assert recover_missed_notifications(uow=uow, marketplace=ml, clock=clock) == 2
        for job in uow.take_jobs():
            process_notification(job, uow=uow, clock=clock)
        assert recover_missed_notifications(uow=uow, marketplace=ml, clock=clock) == 0

    def test_an_account_whose_feed_fails_does_not_stop_the_others(self, uow):
        uow.store.accounts["gone"] = Account("gone", 222, "MLA")
        ml = FakeMarketplace()

        def feed(account: Account) -> list[Notification]:
            if account.name == "gone":
                raise AuthRevoked("gone")
            return [note(ml_id="m1")]
        ml.missed_notifications = feed  # type: ignore[method-assign]
        with pytest.raises(MissedFeedsUnread, match=r"not read for gone \(1 recovered"):
            recover_missed_notifications(uow=uow, marketplace=ml, clock=FixedClock())
        assert len(uow.take_jobs()) == 1  # main's entry was stored
