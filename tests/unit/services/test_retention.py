"""The retention purge on the fakes: what goes, what stays, the boundary, the batches."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector_core.domain.audit import AuditEntry, AuditOutcome
from connector_core.domain.commands import PushItem
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import ErpEvent, ErpEventType, Order, OrderLine, OrderRecord
from connector_core.domain.stock import Hold
from connector_core.services.retention import PurgeResult, Retention, purge_expired
from tests.fakes import FakeUnitOfWork, FixedClock

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def note(n: int, ml_id: str | None = None) -> Notification:
    return Notification(topic="orders_v2", resource=f"/orders/{n}", user_id=111, ml_id=ml_id)


def audit_entry(at: datetime, item: str) -> AuditEntry:
    return AuditEntry(at=at, account="main", item_id=item, action="push",
                      outcome=AuditOutcome.SENT, reason="test")


def order(order_id: int, status: str = "paid") -> Order:
    line = OrderLine(item_id="MLA1", variation_id=None, seller_sku="SKU-1", quantity=1,
                     unit_price=Decimal(10))
    return Order(id=order_id, account="main", status=status,
                 last_updated=NOW - timedelta(days=400), lines=(line,))


def add_inbox(uow: FakeUnitOfWork, n: int, received: datetime,
              processed: datetime | None) -> int:
    with uow:
        entry_id, _ = uow.inbox.add(note(n), {}, received)
        if processed is not None:
            uow.inbox.mark_processed(entry_id, "done", processed)
        uow.commit()
    return entry_id


def test_processed_notifications_older_than_the_retention_go_the_rest_stay() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock(NOW)
    old = add_inbox(uow, 1, NOW - 40 * DAY, NOW - 40 * DAY)
    just_past = add_inbox(uow, 2, NOW - 31 * DAY, NOW - 30 * DAY - timedelta(seconds=1))
    boundary = add_inbox(uow, 3, NOW - 31 * DAY, NOW - 30 * DAY)  # exactly 30 days: kept
    recent = add_inbox(uow, 4, NOW - DAY, NOW - DAY)
    waiting = add_inbox(uow, 5, NOW - 400 * DAY, None)  # never processed: never purged
    late = add_inbox(uow, 6, NOW - 40 * DAY, NOW - 2 * DAY)  # processed recently: kept

    result = purge_expired(Retention(inbox_days=30), uow=uow, clock=clock)

    assert result == PurgeResult(inbox=2, audit=0, erp_events=0, complete=True)
    assert sorted(uow.store.inbox) == sorted([boundary, recent, waiting, late])
    assert old not in uow.store.inbox and just_past not in uow.store.inbox


def test_a_waiting_notification_is_still_found_by_the_sweeper_after_a_purge() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock(NOW)
    waiting = add_inbox(uow, 1, NOW - 90 * DAY, None)
    add_inbox(uow, 2, NOW - 90 * DAY, NOW - 90 * DAY)
    purge_expired(Retention(inbox_days=1), uow=uow, clock=clock)
    with uow:
        assert [e.id for e in uow.inbox.unprocessed(NOW, 10)] == [waiting]


def test_inbox_ids_are_not_reused_after_a_purge() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock(NOW)
    add_inbox(uow, 1, NOW - 90 * DAY, NOW - 90 * DAY)
    last = add_inbox(uow, 2, NOW - 90 * DAY, NOW - 90 * DAY)
    assert purge_expired(Retention(inbox_days=30), uow=uow, clock=clock).inbox == 2
    assert add_inbox(uow, 3, NOW, None) > last


def test_audit_rows_older_than_their_own_retention_go() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock(NOW)
    with uow:
        for at, item in [(NOW - 200 * DAY, "OLD"), (NOW - 90 * DAY, "BOUNDARY"),
                         (NOW - 60 * DAY, "KEPT"), (NOW, "NEW")]:
            uow.audit.record(audit_entry(at, item))
        uow.commit()
    result = purge_expired(Retention(inbox_days=30, audit_days=90), uow=uow, clock=clock)
    assert result.audit == 1
    assert [e.item_id for e in uow.store.audit] == ["BOUNDARY", "KEPT", "NEW"]


def test_erp_events_are_kept_unless_their_retention_is_set() -> None:
    clock = FixedClock(NOW - 100 * DAY)
    uow = FakeUnitOfWork(clock=clock)
    with uow:
        uow.erp_feed.append(ErpEvent(ErpEventType.CREATED, order(1)))
        uow.commit()
    clock.current = NOW - 10 * DAY
    with uow:
        uow.erp_feed.append(ErpEvent(ErpEventType.CREATED, order(2)))
        uow.commit()
    clock.current = NOW
    assert purge_expired(Retention(), uow=uow, clock=clock).erp_events == 0  # default: keep
    assert len(uow.store.events) == 2

    assert purge_expired(Retention(erp_events_days=30), uow=uow, clock=clock).erp_events == 1
    with uow:
        (remaining,) = uow.erp_feed.read(0, 10)
        assert remaining.id == 2 and remaining.order_id == 2  # its cursor did not move
        uow.erp_feed.append(ErpEvent(ErpEventType.PAID, order(2)))
        uow.commit()
    with uow:
        assert [e.id for e in uow.erp_feed.read(2, 10)] == [3]  # cursors never reused


def test_zero_keeps_rows_for_ever() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock(NOW)
    add_inbox(uow, 1, NOW - 900 * DAY, NOW - 900 * DAY)
    with uow:
        uow.audit.record(audit_entry(NOW - 900 * DAY, "OLD"))
        uow.commit()
    result = purge_expired(Retention(inbox_days=0, audit_days=0), uow=uow, clock=clock)
    assert result.total == 0 and len(uow.store.inbox) == 1 and len(uow.store.audit) == 1


def test_what_rules_3_and_4_need_is_never_touched() -> None:
    """Orders (last_updated, emitted events, accounted_at), holds and jobs stay, however old."""
    uow, clock = FakeUnitOfWork(), FixedClock(NOW)
    record = OrderRecord(order_id=1, order=order(1), accounted_at=NOW - 300 * DAY,
                         emitted=frozenset({ErpEventType.CREATED, ErpEventType.PAID}))
    hold = Hold(order_id=2, line="MLA1/-", sku="SKU-1", units=1, accounted_at=NOW - 300 * DAY)
    with uow:
        uow.orders.save(record)
        uow.stock.put_holds([hold])
        uow.jobs.add(PushItem("main", "MLA1"))
        uow.commit()
    result = purge_expired(Retention(inbox_days=1, audit_days=1, erp_events_days=1),
                           uow=uow, clock=clock)
    assert result.total == 0
    assert uow.store.orders == {1: record}
    assert list(uow.store.holds.values()) == [hold]
    assert uow.store.jobs == [PushItem("main", "MLA1")]


def test_batches_are_bounded_and_a_backlog_is_finished_by_the_next_run() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock(NOW)
    for n in range(7):
        add_inbox(uow, n, NOW - 90 * DAY + n * timedelta(minutes=1), NOW - 90 * DAY)
    commits = uow.commits

    inbox_only = Retention(inbox_days=30, audit_days=0)
    first = purge_expired(inbox_only, uow=uow, clock=clock, batch_size=2, max_batches=3)
    assert (first.inbox, first.complete) == (6, False)
    assert uow.commits - commits == 3  # one unit of work per batch
    assert len(uow.store.inbox) == 1  # the newest of the old ones: oldest go first
    (left,) = uow.store.inbox.values()
    assert left.notification.resource == "/orders/6"

    second = purge_expired(inbox_only, uow=uow, clock=clock, batch_size=2, max_batches=3)
    assert (second.inbox, second.complete) == (1, True) and uow.store.inbox == {}


def test_a_batch_exactly_full_then_an_empty_one_is_complete() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock(NOW)
    for n in range(4):
        add_inbox(uow, n, NOW - 90 * DAY, NOW - 90 * DAY)
    result = purge_expired(Retention(inbox_days=30), uow=uow, clock=clock, batch_size=2,
                           max_batches=3)
    assert (result.inbox, result.complete) == (4, True)


@pytest.mark.parametrize("days", [-1, 1.5, "30", True, None])
def test_retention_days_must_be_whole_and_not_negative(days: object) -> None:
    with pytest.raises(ValueError, match="inbox_days must be a whole number of days >= 0"):
        Retention(inbox_days=days)  # type: ignore[arg-type]


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        purge_expired(Retention(), uow=FakeUnitOfWork(), clock=FixedClock(NOW), batch_size=0)
