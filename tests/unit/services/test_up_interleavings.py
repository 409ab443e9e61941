"""Rule 1 per warehouse (multi-origin stock) under random interleavings, like rule 1's test.

ERP reports per warehouse (some stale), order states on the items of two User Products
(duplicated, reordered, late; shipping from a known store or not yet known), "accounted"
calls, and ML-side changes racing the writes (409s) are fed to the real use cases over the
in-memory ports, running the pushes after every step. After each step every store on ML
must show what an independent reference computes from the deliveries alone, and whichever
store an order of unknown origin finally ships from, no store is above what is left there.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from connector_core.domain.accounts import Account
from connector_core.domain.commands import PushUserProduct
from connector_core.domain.items import MarketItem
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.orders import Order, OrderLine
from connector_core.domain.stock import StockReport
from connector_core.domain.user_products import (
    SellerModel,
    StoreRef,
    StoreWrite,
    UpLocation,
    UpStock,
)
from connector_core.ports.user_products import KnownItem, VersionConflict
from connector_core.services.order_accounted import order_accounted
from connector_core.services.order_seen import order_seen
from connector_core.services.stock_changed import erp_stock_changed
from connector_core.services.up_stock import push_user_product
from tests.fakes import FakeMarketplace, FakeUnitOfWork, FixedClock, Store

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
STORES = (StoreRef("w1", "70001", "N1"), StoreRef("w2", "70002", "N2"))
ACCOUNT = Account("up", 2001, "MLA", warehouses=frozenset({"w1", "w2"}), stores=STORES)
UPS = {"MLAU1": ("I1", "I2"), "MLAU2": ("I3",)}
ROWS = [MappingRow("A", Listing("up", "I1")), MappingRow("A", Listing("up", "I2")),
        MappingRow("KIT", Listing("up", "I3"), safety_stock=1)]
LEAVES = {"A": {"A": 1}, "KIT": {"A": 2}}
SKU_OF = {"I1": "A", "I2": "A", "I3": "KIT"}


class FakeUps:
    """ML's UP stock resource: versions, 409 on a stale one; ``races`` ML-side changes
    land between the next reads and writes, each notified (``stock-location``)."""

    def __init__(self) -> None:
        self.stock = {up: {s.store_id: 0 for s in STORES} for up in UPS}
        self.version = dict.fromkeys(UPS, 1)
        self.races = 0
        self.notified: set[str] = set()

    def get_stock(self, account: Account, user_product_id: str) -> UpStock:
        locations = [UpLocation("seller_warehouse", q, store) for store, q in
                     self.stock[user_product_id].items()]
        version = self.version[user_product_id]
        if self.races:  # ML moves the stock on right after this read
            self.races -= 1
            self.version[user_product_id] += 1
            self.stock[user_product_id]["70001"] += 5
            self.notified.add(user_product_id)
        return UpStock(user_product_id, version, locations)

    def put_store_stock(self, account: Account, user_product_id: str,
                        writes: Sequence[StoreWrite], version: int) -> UpStock:
        if version != self.version[user_product_id]:
            raise VersionConflict("Version mismatch")
        for write in writes:
            self.stock[user_product_id][write.store_id] = write.quantity
        self.version[user_product_id] += 1
        return self.get_stock(account, user_product_id)


def market() -> FakeMarketplace:
    return FakeMarketplace([MarketItem(id=i, site_id="MLA", seller_id=2001, status="active",
                                       price=Decimal(100), currency_id="ARS",
                                       available_quantity=0, user_product_id=up)
                            for up, items in UPS.items() for i in items])


def world() -> FakeUnitOfWork:
    known = {("up", i): KnownItem(i, up) for up, items in UPS.items() for i in items}
    return FakeUnitOfWork(Store(
        accounts={"up": ACCOUNT}, table=MappingTable(ROWS, [Kit("KIT", {"A": 2})]),
        seller_models={"up": SellerModel(True, True, T0)}, known_items=known))


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[str, object]]:
    events: list[tuple[str, object]] = [
        ("report", StockReport("A", draw(st.sampled_from(["w1", "w2"])),
                               draw(st.integers(-2, 30)),
                               T0 + timedelta(minutes=draw(st.integers(0, 40)))))
        for _ in range(draw(st.integers(0, 6)))]
    for order_id in range(1, draw(st.integers(1, 4)) + 1):
        item = draw(st.sampled_from(sorted(SKU_OF)))
        line = OrderLine(item_id=item, variation_id=None, seller_sku=None,
                         quantity=draw(st.integers(1, 3)), unit_price=Decimal(100),
                         origin_node=draw(st.sampled_from(["N1", "N2", None, "FULL"])))
        for i, status in enumerate(draw(st.lists(st.sampled_from(
                ["paid", "paid", "cancelled"]), min_size=1, max_size=2))):
            events.append(("order", Order(id=order_id, account="up", status=status,
                                          last_updated=T0 + timedelta(minutes=5 * i + 1),
                                          lines=(line,))))
        if draw(st.booleans()):
            events.append(("accounted", (order_id,
                                         T0 + timedelta(minutes=draw(st.integers(0, 40))))))
    for _ in range(draw(st.integers(0, 3))):
        events.append(("race", draw(st.integers(1, 3))))
    return list(draw(st.permutations(events)))


class Reference:
    """Rule 1 per warehouse from the deliveries alone."""

    def __init__(self) -> None:
        self.reports: dict[str, StockReport] = {}
        self.orders: dict[int, Order] = {}
        self.accounted: dict[int, datetime] = {}

    def deliver(self, kind: str, payload: object) -> None:
        if kind == "report":
            assert isinstance(payload, StockReport)
            stored = self.reports.get(payload.warehouse)
            if stored is None or payload.as_of > stored.as_of:
                self.reports[payload.warehouse] = payload
        elif kind == "order":
            assert isinstance(payload, Order)
            stored_order = self.orders.get(payload.id)
            if stored_order is None or payload.last_updated > stored_order.last_updated:
                self.orders[payload.id] = payload
        elif kind == "accounted":
            order_id, at = payload  # type: ignore[misc]
            self.accounted.setdefault(order_id, at)

    def live_units(self) -> list[tuple[int, str | None]]:
        """(units of A, origin node) of every order still holding."""
        latest = max((r.as_of for r in self.reports.values()), default=None)
        found = []
        for order in self.orders.values():
            at = self.accounted.get(order.id)
            if order.status == "cancelled" or (at is not None and latest is not None
                                               and latest >= at):
                continue
            for line in order.lines:
                found.append((LEAVES[SKU_OF[line.item_id]]["A"] * line.quantity,
                              line.origin_node))
        return found

    def free(self, store: StoreRef) -> int | None:
        report = self.reports.get(store.warehouse)
        if report is None:
            return None
        held = sum(u for u, origin in self.live_units()
                   if origin not in ("N1", "N2") or origin == store.network_node_id)
        return report.quantity - held

    def published(self, up: str, store: StoreRef) -> int | None:
        free = self.free(store)
        if free is None:
            return None
        return max(0, free) if up == "MLAU1" else max(0, free // 2 - 1)


def deliver(uow: FakeUnitOfWork, ups: FakeUps, kind: str, payload: object) -> None:
    if kind == "report":
        assert isinstance(payload, StockReport)
        erp_stock_changed([payload], uow=uow)
    elif kind == "order":
        assert isinstance(payload, Order)
        order_seen(payload, uow=uow)
    elif kind == "accounted":
        order_id, at = payload  # type: ignore[misc]
        order_accounted(order_id, at, uow=uow)
    else:
        ups.races = int(payload)  # type: ignore[call-overload]
        with uow:  # ML-side change: the stock-location notification's push
            for up in UPS:
                uow.jobs.add(PushUserProduct("up", up))
            uow.commit()


def run_pushes(uow: FakeUnitOfWork, ml: FakeMarketplace, ups: FakeUps) -> None:
    """Run the queued pushes, and those the ML-side changes they raced notified."""
    while True:
        jobs = uow.take_jobs()
        jobs += [PushUserProduct("up", up) for up in sorted(ups.notified)]
        ups.notified.clear()
        if not jobs:
            return
        for job in jobs:
            assert isinstance(job, PushUserProduct), f"{job} is not one push per UP"
            push_user_product(job, uow=uow, marketplace=ml, ups=ups,  # type: ignore[arg-type]
                              clock=FixedClock())


@given(scenarios())
def test_every_store_follows_rule_1_per_warehouse_at_every_step(scenario):
    uow, ml, ups, reference = world(), market(), FakeUps(), Reference()
    published: dict[tuple[str, str], int] = defaultdict(int)
    for kind, payload in scenario:
        deliver(uow, ups, kind, payload)
        reference.deliver(kind, payload)
        run_pushes(uow, ml, ups)
        for up in UPS:
            for store in STORES:
                expected = reference.published(up, store)
                if expected is not None:
                    published[(up, store.store_id)] = expected
                    assert ups.stock[up][store.store_id] == expected, (
                        f"{up} store {store.store_id} after {kind} {payload}")
    assert not ml.updates, "no item write for a multi-origin seller without price changes"


@given(scenarios(), st.data())
def test_no_store_publishes_more_than_is_left_wherever_unknown_sales_ship(scenario, data):
    uow, ml, ups, reference = world(), market(), FakeUps(), Reference()
    for kind, payload in scenario:
        deliver(uow, ups, kind, payload)
        reference.deliver(kind, payload)
        run_pushes(uow, ml, ups)
    live = reference.live_units()
    shipped = [origin if origin in ("N1", "N2") else data.draw(st.sampled_from(["N1", "N2"]))
               for _, origin in live]
    for store in STORES:
        report = reference.reports.get(store.warehouse)
        if report is None:
            continue
        left = report.quantity - sum(u for (u, _), node in zip(live, shipped, strict=True)
                                     if node == store.network_node_id)
        assert ups.stock["MLAU1"][store.store_id] <= max(0, left)
        assert ups.stock["MLAU2"][store.store_id] <= max(0, left // 2)
