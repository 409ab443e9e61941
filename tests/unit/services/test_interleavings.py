"""Rules 1, 3 and 4 under random interleavings of everything that can happen.

ERP stock reports (some stale), order states on any listing (duplicated, reordered, late),
status changes, and "accounted" calls (some repeated) are fed to the real use cases over the
in-memory ports, running the pushes after every step. After each step, the quantities ML
shows must equal rule 1 computed by an independent reference model of the same deliveries,
the stored holds must equal the units of live, unaccounted (or not yet reported) orders, the
ERP feed must hold each (order, type) once and in order, and replaying any delivery already
made must change nothing.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from connector_core.domain.accounts import Account
from connector_core.domain.items import MarketItem, MarketVariation
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.orders import ErpEventType, Order, OrderLine
from connector_core.domain.stock import StockReport
from connector_core.services.order_accounted import order_accounted
from connector_core.services.order_seen import order_seen
from connector_core.services.push_item import push_item
from connector_core.services.stock_changed import erp_stock_changed
from tests.fakes import FakeMarketplace, FakeUnitOfWork, FixedClock, Store

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ACCOUNTS = {
    "north": Account("north", 1001, "MLA", warehouses=frozenset({"w1"})),
    "south": Account("south", 1002, "MLA", warehouses=None),
}
KITS = [Kit("KIT", {"A": 2, "B": 1}), Kit("BIG", {"KIT": 1, "C": 3})]
ROWS = [
    MappingRow("A", Listing("north", "N1")),
    MappingRow("A", Listing("south", "S1", 11), safety_stock=1),
    MappingRow("B", Listing("south", "S1", 12), max_quantity=4),
    MappingRow("C", Listing("north", "N2")),
    MappingRow("KIT", Listing("north", "N3")),
    MappingRow("BIG", Listing("south", "S2"), safety_stock=0),
]
SKUS = ["A", "B", "C"]
WAREHOUSES = ["w1", "w2"]
LEAVES = {"A": {"A": 1}, "B": {"B": 1}, "C": {"C": 1}, "KIT": {"A": 2, "B": 1},
          "BIG": {"A": 2, "B": 1, "C": 3}}
STATUSES = ["confirmed", "payment_in_process", "paid", "partially_refunded", "pending_cancel",
            "cancelled", "invalid"]
SELLABLE = [row.listing for row in ROWS] + [Listing("north", "UNMAPPED")]


def market() -> FakeMarketplace:
    def item(item_id: str, seller: int, variations: tuple[int, ...] = ()) -> MarketItem:
        return MarketItem(id=item_id, site_id="MLA", seller_id=seller, status="active",
                          price=Decimal(100), currency_id="ARS", available_quantity=0,
                          variations=tuple(MarketVariation(v, 0, Decimal(100))
                                           for v in variations))
    return FakeMarketplace([item("N1", 1001), item("N2", 1001), item("N3", 1001),
                            item("S1", 1002, (11, 12, 13)), item("S2", 1002)])


@st.composite
def reports(draw: st.DrawFn) -> tuple[str, StockReport]:
    return ("report", StockReport(
        sku=draw(st.sampled_from(SKUS)), warehouse=draw(st.sampled_from(WAREHOUSES)),
        quantity=draw(st.integers(-2, 30)),
        as_of=T0 + timedelta(minutes=draw(st.integers(0, 40)))))


@st.composite
def order_histories(draw: st.DrawFn, order_id: int) -> list[tuple[str, Order]]:
    account = draw(st.sampled_from(sorted(ACCOUNTS)))
    listings = [listing for listing in SELLABLE if listing.account == account]
    lines = tuple(
        OrderLine(item_id=listing.item_id, variation_id=listing.variation_id,
                  seller_sku=draw(st.sampled_from([None, "A", "ZZZ"])),
                  quantity=draw(st.integers(1, 3)), unit_price=Decimal(100))
        for listing in draw(st.lists(st.sampled_from(listings), min_size=1, max_size=2,
                                     unique=True)))
    statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3))
    return [("order", Order(id=order_id, account=account, status=status,
                            last_updated=T0 + timedelta(minutes=5 * i + 1), lines=lines))
            for i, status in enumerate(statuses)]


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[str, object]]:
    events: list[tuple[str, object]] = draw(st.lists(reports(), max_size=8))
    for order_id in range(1, draw(st.integers(1, 4)) + 1):
        events += draw(order_histories(order_id))
        for _ in range(draw(st.integers(0, 2))):
            events.append(("accounted", (order_id,
                                         T0 + timedelta(minutes=draw(st.integers(0, 40))))))
    shuffled = draw(st.permutations(events))
    duplicates = draw(st.lists(st.sampled_from(shuffled), max_size=4)) if shuffled else []
    return list(shuffled) + duplicates


class Reference:
    """Rule 1 and rule 3 computed from the deliveries alone, without the core's classes."""

    def __init__(self) -> None:
        self.reports: dict[tuple[str, str], StockReport] = {}
        self.orders: dict[int, Order] = {}
        self.accounted: dict[int, datetime] = {}

    def deliver(self, kind: str, payload: object) -> None:
        if kind == "report":
            assert isinstance(payload, StockReport)
            key = (payload.sku, payload.warehouse)
            if key not in self.reports or payload.as_of > self.reports[key].as_of:
                self.reports[key] = payload
        elif kind == "order":
            assert isinstance(payload, Order)
            stored = self.orders.get(payload.id)
            if stored is None or payload.last_updated > stored.last_updated:
                self.orders[payload.id] = payload
        else:
            order_id, at = payload  # type: ignore[misc]
            self.accounted.setdefault(order_id, at)

    def latest(self, sku: str) -> datetime | None:
        times = [r.as_of for (s, _), r in self.reports.items() if s == sku]
        return max(times) if times else None

    def line_sku(self, order: Order, line: OrderLine) -> str | None:
        for row in ROWS:
            if row.listing == Listing(order.account, line.item_id, line.variation_id):
                return row.sku
        if line.seller_sku in LEAVES:
            return line.seller_sku
        return None

    def held(self) -> dict[str, int]:
        held: dict[str, int] = defaultdict(int)
        for order in self.orders.values():
            if order.status in ("cancelled", "invalid"):
                continue
            at = self.accounted.get(order.id)
            for line in order.lines:
                sku = self.line_sku(order, line)
                if sku is None:
                    continue
                for leaf, units in LEAVES[sku].items():
                    latest = self.latest(leaf)
                    if at is None or latest is None or latest < at:
                        held[leaf] += units * line.quantity
        return held

    def published(self, row: MappingRow) -> int | None:
        warehouses = ACCOUNTS[row.listing.account].warehouses
        held = self.held()
        figures = []
        for leaf, units in LEAVES[row.sku].items():
            reported = [r.quantity for (s, w), r in self.reports.items()
                        if s == leaf and (warehouses is None or w in warehouses)]
            if not reported:
                return None
            figures.append((sum(reported) - held[leaf]) // units)
        free = min(figures)
        figure = max(0, free - row.safety_stock)
        return figure if row.max_quantity is None else min(figure, row.max_quantity)


def deliver(uow: FakeUnitOfWork, kind: str, payload: object) -> None:
    if kind == "report":
        assert isinstance(payload, StockReport)
        erp_stock_changed([payload], uow=uow)
    elif kind == "order":
        assert isinstance(payload, Order)
        order_seen(payload, uow=uow)
    else:
        order_id, at = payload  # type: ignore[misc]
        order_accounted(order_id, at, uow=uow)


def run_pushes(uow: FakeUnitOfWork, ml: FakeMarketplace) -> None:
    for job in uow.take_jobs():
        push_item(job, uow=uow, marketplace=ml, clock=FixedClock())  # type: ignore[arg-type]


def ml_figure(ml: FakeMarketplace, listing: Listing) -> int:
    item = ml.items[listing.item_id]
    if listing.variation_id is None:
        return item.available_quantity
    variation = item.variation(listing.variation_id)
    assert variation is not None, f"variation {listing.variation_id} was deleted"
    return variation.available_quantity


def state(uow: FakeUnitOfWork) -> tuple[object, ...]:
    s = uow.store
    return (dict(s.reports), dict(s.holds), dict(s.orders), list(s.events))


@given(scenarios())
def test_published_quantities_follow_rule_1_at_every_step(scenario):
    """After every delivery, ML shows exactly what rule 1 allows, never more."""
    uow = FakeUnitOfWork(Store(accounts=dict(ACCOUNTS), table=MappingTable(ROWS, KITS)))
    ml = market()
    reference = Reference()
    published: dict[Listing, int] = {}
    for kind, payload in scenario:
        deliver(uow, kind, payload)
        reference.deliver(kind, payload)
        run_pushes(uow, ml)
        for row in ROWS:
            expected = reference.published(row)
            if expected is not None:
                published[row.listing] = expected
            assert ml_figure(ml, row.listing) == published.get(row.listing, 0), (
                f"{row.listing} after {kind} {payload}")
        assert ml.items["S1"].variation(13) is not None, "unmapped variation was deleted"


@given(scenarios())
def test_holds_equal_units_of_live_unaccounted_orders(scenario):
    """Stored holds (that still count) are exactly the reference's held units per SKU."""
    uow = FakeUnitOfWork(Store(accounts=dict(ACCOUNTS), table=MappingTable(ROWS, KITS)))
    reference = Reference()
    for kind, payload in scenario:
        deliver(uow, kind, payload)
        reference.deliver(kind, payload)
        held: dict[str, int] = defaultdict(int)
        for hold in uow.store.holds.values():
            if hold.counts(reference.latest(hold.sku)):
                held[hold.sku] += hold.units
        assert dict(held) == {k: v for k, v in reference.held().items() if v}


@given(scenarios(), st.data())
def test_replaying_any_delivery_changes_nothing(scenario, data):
    """Processing again anything already processed leaves every stored fact as it was."""
    uow = FakeUnitOfWork(Store(accounts=dict(ACCOUNTS), table=MappingTable(ROWS, KITS)))
    for kind, payload in scenario:
        deliver(uow, kind, payload)
    before = state(uow)
    replay = data.draw(st.lists(st.sampled_from(scenario), min_size=1, max_size=5))
    for kind, payload in replay:
        deliver(uow, kind, payload)
    assert state(uow) == before


@given(scenarios())
def test_erp_feed_has_each_order_event_once_and_in_order(scenario):
    """Each (order, type) appears once; per order the feed reads created < paid < cancelled."""
    uow = FakeUnitOfWork(Store(accounts=dict(ACCOUNTS), table=MappingTable(ROWS, KITS)))
    for kind, payload in scenario:
        deliver(uow, kind, payload)
    rank = {ErpEventType.CREATED: 0, ErpEventType.PAID: 1, ErpEventType.CANCELLED: 2}
    per_order: dict[int, list[ErpEventType]] = defaultdict(list)
    for event in uow.store.events:
        per_order[event.order_id].append(event.type)
    for order_id, types in per_order.items():
        assert len(types) == len(set(types)), f"order {order_id}: {types}"
        assert types == sorted(types, key=rank.__getitem__), f"order {order_id}: {types}"
        assert types[0] is ErpEventType.CREATED


def test_accounted_then_report_does_not_double_count():
    """A sale of 3, accounted, then the ERP's report that includes it: 7 published, not 4."""
    uow = FakeUnitOfWork(Store(accounts=dict(ACCOUNTS), table=MappingTable(ROWS, KITS)))
    ml = market()
    erp_stock_changed([StockReport("A", "w1", 10, T0)], uow=uow)
    order = Order(id=9, account="north", status="paid", last_updated=T0 + timedelta(minutes=1),
                  lines=(OrderLine("N1", None, "A", 3, Decimal(100)),))
    order_seen(order, uow=uow)
    run_pushes(uow, ml)
    assert ml.items["N1"].available_quantity == 7
    order_accounted(9, T0 + timedelta(minutes=2), uow=uow)
    run_pushes(uow, ml)
    assert ml.items["N1"].available_quantity == 7, "accounted alone must not release the units"
    erp_stock_changed([StockReport("A", "w1", 7, T0 + timedelta(minutes=3))], uow=uow)
    run_pushes(uow, ml)
    assert ml.items["N1"].available_quantity == 7
    assert uow.store.holds == {}


def test_report_then_accounted_does_not_double_count():
    """The ERP reports the move first, then says accounted: the hold goes at once."""
    uow = FakeUnitOfWork(Store(accounts=dict(ACCOUNTS), table=MappingTable(ROWS, KITS)))
    ml = market()
    erp_stock_changed([StockReport("A", "w1", 10, T0)], uow=uow)
    order_seen(Order(id=9, account="north", status="paid",
                     last_updated=T0 + timedelta(minutes=1),
                     lines=(OrderLine("N1", None, "A", 3, Decimal(100)),)), uow=uow)
    erp_stock_changed([StockReport("A", "w1", 7, T0 + timedelta(minutes=3))], uow=uow)
    run_pushes(uow, ml)
    assert ml.items["N1"].available_quantity == 4, "before accounted both are subtracted"
    result = order_accounted(9, T0 + timedelta(minutes=2), uow=uow)
    run_pushes(uow, ml)
    assert result.released_units == 3
    assert ml.items["N1"].available_quantity == 7


def test_cancellation_releases_and_an_older_state_does_not_resurrect_it():
    uow = FakeUnitOfWork(Store(accounts=dict(ACCOUNTS), table=MappingTable(ROWS, KITS)))
    ml = market()
    erp_stock_changed([StockReport("A", "w1", 10, T0)], uow=uow)
    paid = Order(id=5, account="north", status="paid", last_updated=T0 + timedelta(minutes=1),
                 lines=(OrderLine("N1", None, None, 2, Decimal(100)),))
    cancelled = evolve(paid, status="cancelled", last_updated=T0 + timedelta(minutes=2))
    order_seen(paid, uow=uow)
    order_seen(cancelled, uow=uow)
    order_seen(paid, uow=uow)  # a late duplicate of the older state
    run_pushes(uow, ml)
    assert ml.items["N1"].available_quantity == 10
    assert [e.type for e in uow.store.events] == [
        ErpEventType.CREATED, ErpEventType.PAID, ErpEventType.CANCELLED]
