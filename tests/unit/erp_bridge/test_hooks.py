"""The ERP's Python hooks: validation with precise messages, nothing half-applied."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector_core.domain.accounts import Account
from connector_core.domain.errors import InvalidInput
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.domain.orders import Order, OrderLine
from connector_core.services.order_seen import order_seen
from erp_bridge import ErpBridge
from erp_bridge.payloads import event_json
from tests.fakes import FakeUnitOfWork, FixedClock, Store

T = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(Store(accounts={"main": Account("main", 111, "MLA")},
                                table=MappingTable([MappingRow("A", Listing("main", "MLA1"))])))


@pytest.fixture
def bridge(uow) -> ErpBridge:
    dispatched = []
    bridge = ErpBridge(lambda: uow, FixedClock(T), jobs_committed=lambda: dispatched.append(1))
    bridge.dispatched = dispatched
    return bridge


def test_a_stock_change_is_recorded_and_its_push_dispatched(bridge, uow):
    result = bridge.stock_changed("A", 12, warehouse="main")
    assert uow.store.reports[("A", "main")].quantity == 12
    assert uow.store.reports[("A", "main")].as_of == T
    assert [p.item_id for p in result.pushes] == ["MLA1"] and bridge.dispatched == [1]


@pytest.mark.parametrize(("body", "message"), [
    ({"sku": "A"}, "quantity: is required"),
    ({"sku": "A", "quantity": 1.5}, "quantity: expected a whole number, got 1.5"),
    ({"sku": "A", "quantity": True}, "quantity: expected a whole number"),
    ({"sku": "", "quantity": 1}, "sku: expected a non-empty string"),
    ({"quantity": 1}, "sku: is required"),
    ({"sku": "A", "quantity": 1, "as_of": "yesterday"}, "as_of: expected an ISO-8601"),
    ({"sku": "A", "quantity": 1, "as_of": "2026-11-23T10:00:00"}, "has no time zone"),
    ({"sku": "A", "quantity": 1, "qty": 2}, "unknown field(s): qty"),
    ({"sku": "S" * 129, "quantity": 1}, "sku: is longer than 128 characters"),
    ({"sku": "A\x00", "quantity": 1}, "sku: contains a NUL character"),
    ({"sku": "A", "quantity": 1, "warehouse": "w" * 65},
     "warehouse: is longer than 64 characters"),
    ({"updates": []}, "updates: expected a non-empty list"),
    ({"updates": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": "x"}]},
     "updates[1].quantity: expected a whole number, got 'x'"),
    ([1, 2], "expected a JSON object, got list"),
])
def test_bad_stock_bodies_are_refused_with_the_field_named(bridge, uow, body, message):
    with pytest.raises(InvalidInput) as err:
        bridge.stock_changed_json(body)
    assert message in str(err.value)
    assert uow.store.reports == {} and bridge.dispatched == []


def test_prices_accept_either_field_and_refuse_neither(bridge, uow):
    bridge.price_changed("A", cost=Decimal("100.5"))
    bridge.price_changed_json({"sku": "A", "price": 180, "as_of": "2026-11-23T13:00:00Z"})
    stored = uow.store.erp_prices["A"]
    assert (stored.cost, stored.list_price) == (Decimal("100.5"), Decimal("180"))
    assert stored.list_price_as_of == T + timedelta(hours=1)
    with pytest.raises(InvalidInput, match="give at least one of cost and price"):
        bridge.price_changed_json({"sku": "A"})
    with pytest.raises(InvalidInput, match=r"cost: expected a number >= 0, got -1"):
        bridge.price_changed_json({"sku": "A", "cost": -1})


def test_accounted_validates_the_order_id(bridge, uow):
    assert bridge.order_accounted("2000003508419013").first_time
    with pytest.raises(InvalidInput, match="order_id: expected an ML order id"):
        bridge.order_accounted("12ab")
    assert bridge.order_accounted(str(2**63 - 1)).first_time  # the largest id stored
    for too_large in (str(2**63), "9" * 20):
        with pytest.raises(InvalidInput, match="order_id: expected an ML order id"):
            bridge.order_accounted(too_large)


def test_the_event_feed_pages_with_a_cursor(bridge, uow):
    for order_id in (1, 2):
        order_seen(Order(id=order_id, account="main", status="paid", last_updated=T,
                         lines=(OrderLine("MLA1", None, "A", 1, Decimal("9.90")),)), uow=uow)
    first = bridge.events(after=0, limit=3)
    assert [(e.order_id, e.type.value) for e in first.events] == [
        (1, "order.created"), (1, "order.paid"), (2, "order.created")]
    rest = bridge.events(after=first.next)
    assert [(e.order_id, e.type.value) for e in rest.events] == [(2, "order.paid")]
    assert bridge.events(after=rest.next).next == rest.next
    body = event_json(first.events[1])
    assert body["type"] == "order.paid" and body["order"]["lines"][0]["unit_price"] == 9.9
    with pytest.raises(InvalidInput, match=r"limit: expected 1\.\.500"):
        bridge.events(limit=0)


def test_with_a_push_delay_erp_pushes_wait_out_the_window_and_an_order_does_not(uow):
    bridge = ErpBridge(lambda: uow, FixedClock(T), push_delay_seconds=2.5)
    bridge.stock_changed("A", 12)
    assert uow.store.job_not_before == {"push-main-MLA1": T + timedelta(seconds=2.5)}
    bridge.price_changed("A", cost=Decimal("10"))  # joins the waiting push, window unmoved
    assert uow.store.job_not_before == {"push-main-MLA1": T + timedelta(seconds=2.5)}
    # an order selling A needs its push now: the waiting push becomes due at once
    order_seen(Order(id=5, account="main", status="paid", last_updated=T,
                     lines=(OrderLine("MLA1", None, "A", 1, Decimal("100")),)), uow=uow)
    assert uow.store.job_not_before == {"push-main-MLA1": None}


def test_without_a_push_delay_pushes_are_due_at_once(bridge, uow):
    bridge.stock_changed("A", 12)
    assert uow.store.job_not_before == {"push-main-MLA1": None}


def deeply_nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(("call", "message"), [
    (lambda b: b.stock_changed("A\ud800", 1), "sku: contains a lone surrogate"),
    (lambda b: b.stock_changed("A", 1, warehouse="w\udfff"), "warehouse: contains a lone"),
    (lambda b: b.stock_changed("A", 1, as_of="0001-01-01T00:00:00+05:00"),
     "as_of: timestamp '0001-01-01T00:00:00+05:00' is outside 2000-01-01..2100-01-01"),
    (lambda b: b.stock_changed("A", 1, as_of=datetime(9999, 12, 31, tzinfo=UTC)),
     "is outside 2000-01-01..2100-01-01"),
    (lambda b: b.order_accounted(1, as_of="9999-12-31T23:59:59-05:00"), "as_of: timestamp"),
    (lambda b: b.order_accounted("\u00b2"), "order_id: expected an ML order id"),
    (lambda b: b.order_accounted("\u0663"), "order_id: expected an ML order id"),  # Arabic 3
    (lambda b: b.order_accounted(0), "order_id: expected an ML order id"),
    (lambda b: b.events(after=2**63), "after: expected a cursor from 0 to"),
    (lambda b: b.stock_changed_json({"sku": deeply_nested(100_000), "quantity": 1}),
     "sku: expected a non-empty string without surrounding spaces, got [[[[...]]]]"),
    (lambda b: b.stock_changed_json({"updates": [deeply_nested(100_000)]}),
     "updates[0]: expected a JSON object, got list"),
    (lambda b: b.price_changed("A", cost=float("nan")), "cost: expected a number >= 0"),
    (lambda b: b.price_changed("A", cost=Decimal("1e20")), "cost: expected a number below"),
    (lambda b: b.price_changed_json({"sku": "A", "cost": "9" * 5000}),
     "cost: expected a number, got '99999"),
])
def test_hostile_hook_calls_are_a_clear_invalid_input(bridge, uow, call, message):
    """Issue 16 item 4: the same hostile values as over HTTP, through the Python hooks: an
    InvalidInput with a short message, never a crash (RecursionError, OverflowError)."""
    with pytest.raises(InvalidInput) as err:
        call(bridge)
    assert message in str(err.value) and len(str(err.value)) < 300
    assert uow.store.reports == {} and uow.store.erp_prices == {} and bridge.dispatched == []
