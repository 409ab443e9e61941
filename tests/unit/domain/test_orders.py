"""Rule 4 (newer states only), the hold policy per status, and the ERP feed order."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector_core.domain.holds import desired_holds, plan_hold_changes
from connector_core.domain.mapping import Kit, KitCatalog
from connector_core.domain.orders import (
    ErpEventType,
    Order,
    OrderLine,
    events_due,
    status_holds,
)

T = datetime(2026, 11, 23, tzinfo=UTC)
E = ErpEventType


def order(status: str, minutes: int = 0, lines=None) -> Order:
    return Order(id=1, account="main", status=status, last_updated=T + timedelta(minutes=minutes),
                 lines=lines or (OrderLine("MLA1", None, "A", 2, Decimal(10)),))


@pytest.mark.parametrize(("status", "holds"), [
    ("confirmed", True), ("payment_required", True), ("payment_in_process", True),
    ("partially_paid", True), ("paid", True), ("partially_refunded", True),
    ("pending_cancel", True), ("cancelled", False), ("invalid", False),
    ("some_future_status", True),
])
def test_status_policy(status, holds):
    assert status_holds(status) is holds


def test_only_strictly_newer_states_supersede():
    assert order("paid", 1).supersedes(order("confirmed", 0))
    assert not order("cancelled", 0).supersedes(order("paid", 0))
    assert not order("confirmed", 0).supersedes(order("paid", 1))
    assert order("paid").supersedes(None)


@pytest.mark.parametrize(("status", "emitted", "due"), [
    ("confirmed", set(), [E.CREATED]),
    ("paid", set(), [E.CREATED, E.PAID]),
    ("paid", {E.CREATED}, [E.PAID]),
    ("paid", {E.CREATED, E.PAID}, []),
    ("partially_refunded", {E.CREATED}, [E.PAID]),
    ("cancelled", {E.CREATED, E.PAID}, [E.CANCELLED]),
    ("invalid", {E.CREATED}, [E.CANCELLED]),
    ("cancelled", set(), []),
    ("paid", {E.CREATED, E.CANCELLED}, []),
    ("pending_cancel", {E.CREATED, E.PAID}, []),
])
def test_events_due(status, emitted, due):
    assert events_due(order(status), frozenset(emitted)) == due


def test_kit_lines_hold_each_component_and_repeated_lines_add_up():
    kits = KitCatalog([Kit("KIT", {"A": 2, "B": 1})])
    lines = (OrderLine("MLA1", None, None, 3, Decimal(10)),
             OrderLine("MLA1", None, None, 1, Decimal(10)),
             OrderLine("MLA2", 5, None, 2, Decimal(10)),
             OrderLine("MLA9", None, None, 2, Decimal(10)))
    skus = {"MLA1": "KIT", "MLA2": "A"}
    holds = desired_holds(order("paid", lines=lines), lambda line: skus.get(line.item_id),
                          kits, None)
    assert {k: h.units for k, h in holds.items()} == {
        (1, "MLA1/-", "A"): 8, (1, "MLA1/-", "B"): 4, (1, "MLA2/5", "A"): 2}


def test_a_cancelled_order_wants_no_holds_and_the_plan_deletes_them():
    kits = KitCatalog()
    held = desired_holds(order("paid"), lambda line: "A", kits, None)
    released = desired_holds(order("cancelled", 1), lambda line: "A", kits, None)
    changes = plan_hold_changes(held.values(), released)
    assert released == {} and changes.delete == tuple(held) and not changes.put
    assert not plan_hold_changes(held.values(), held)
