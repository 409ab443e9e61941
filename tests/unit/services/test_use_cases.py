"""Each use case against the in-memory ports."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector_core.domain.accounts import Account
from connector_core.domain.audit import AuditOutcome
from connector_core.domain.commands import (
    ProcessNotification,
    PushItem,
    Reconcile,
    SyncOrder,
    SyncQuestion,
    SyncShipment,
)
from connector_core.domain.errors import (
    InvalidInput,
    MarketplaceRejected,
    MarketplaceUnavailable,
    UnknownAccount,
)
from connector_core.domain.items import MarketItem, MarketVariation
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import ErpEventType, Order, OrderLine
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import PricingPolicy, PricingRule
from connector_core.domain.stock import StockReport
from connector_core.services.notifications import (
    Routing,
    process_notification,
    receive_notification,
    sync_order,
)
from connector_core.services.operator import queue_push, queue_reconcile_all
from connector_core.services.order_accounted import order_accounted
from connector_core.services.order_seen import order_seen
from connector_core.services.prices_changed import erp_price_changed
from connector_core.services.push_item import push_item
from connector_core.services.stock_changed import erp_stock_changed
from tests.fakes import FakeMarketplace, FakeUnitOfWork, FixedClock, Store

T = datetime(2026, 11, 23, 12, tzinfo=UTC)
D = Decimal
MAIN = Account("main", 111, "MLA")


def item(item_id: str, qty: int = 0, price: str = "100", variations=(), *, status="active",
         currency="ARS") -> MarketItem:
    return MarketItem(id=item_id, site_id="MLA", seller_id=111, status=status, price=D(price),
                      currency_id=currency, available_quantity=qty,
                      variations=tuple(variations))


@pytest.fixture
def uow() -> FakeUnitOfWork:
    rows = [MappingRow("A", Listing("main", "MLA1")),
            MappingRow("A", Listing("main", "MLA2", 21)),
            MappingRow("B", Listing("main", "MLA2", 22)),
            MappingRow("KIT", Listing("main", "MLA3")),
            MappingRow("C", Listing("main", "MLA4"), active=False)]
    return FakeUnitOfWork(Store(accounts={"main": MAIN},
                                table=MappingTable(rows, [Kit("KIT", {"A": 2, "B": 1})],
                                                   extra_skus=["C"])))


@pytest.fixture
def ml() -> FakeMarketplace:
    return FakeMarketplace([
        item("MLA1"), item("MLA3"), item("MLA4"),
        item("MLA2", variations=[MarketVariation(21, 0, D(100)), MarketVariation(22, 0, D(100)),
                                 MarketVariation(23, 9, D(100))])])


def push_all(uow: FakeUnitOfWork, ml: FakeMarketplace) -> list:
    return [push_item(job, uow=uow, marketplace=ml, clock=FixedClock())
            for job in uow.take_jobs()]


class TestErpStockChanged:
    def test_queues_one_push_per_item_selling_the_sku_or_a_kit_with_it(self, uow):
        result = erp_stock_changed([StockReport("A", "main", 5, T)], uow=uow)
        assert {p.item_id for p in result.pushes} == {"MLA1", "MLA2", "MLA3"}
        assert len(uow.store.jobs) == 3

    def test_a_stale_report_is_ignored_and_pushes_nothing(self, uow):
        erp_stock_changed([StockReport("A", "main", 5, T)], uow=uow)
        uow.take_jobs()
        result = erp_stock_changed([StockReport("A", "main", 50, T - timedelta(seconds=1))],
                                   uow=uow)
        assert result.stale and not result.applied and not result.pushes
        assert uow.store.reports[("A", "main")].quantity == 5

    def test_pushes_coalesce_while_waiting(self, uow):
        erp_stock_changed([StockReport("A", "main", 5, T)], uow=uow)
        erp_stock_changed([StockReport("A", "main", 4, T + timedelta(seconds=1))], uow=uow)
        assert len(uow.store.jobs) == 3

    def test_inactive_rows_are_not_pushed(self, uow):
        assert erp_stock_changed([StockReport("C", "main", 5, T)], uow=uow).pushes == ()


class TestPushItem:
    def test_one_put_per_item_carries_every_variation(self, uow, ml):
        erp_stock_changed([StockReport("A", "main", 5, T), StockReport("B", "main", 2, T)],
                          uow=uow)
        push_all(uow, ml)
        puts = [u for u in ml.updates if u.item_id == "MLA2"]
        assert len(puts) == 1
        assert [v.id for v in puts[0].variations] == [21, 22, 23]
        assert ml.items["MLA2"].variation(23).available_quantity == 9
        assert ml.items["MLA3"].available_quantity == 2  # min(5 // 2, 2 // 1)

    def test_nothing_is_sent_when_ml_already_agrees(self, uow, ml):
        erp_stock_changed([StockReport("A", "main", 0, T)], uow=uow)
        results = [r for r in push_all(uow, ml) if r.update is not None]
        assert results == [] and ml.updates == []

    def test_unknown_stock_is_not_published_but_audited(self, uow, ml):
        uow.store.jobs.append(PushItem("main", "MLA1"))
        (result,) = push_all(uow, ml)
        assert result.outcome is AuditOutcome.SKIPPED
        assert "no ERP stock report" in uow.store.audit[-1].reason
        assert ml.updates == []

    def test_a_rejection_is_audited_with_mls_causes_and_not_raised(self, uow, ml):
        erp_stock_changed([StockReport("A", "main", 5, T)], uow=uow)
        ml.reject_next = MarketplaceRejected("bad", status=400, error="validation_error",
                                             causes=["item.available_quantity.invalid"])
        uow.store.jobs = [PushItem("main", "MLA1")]
        (result,) = push_all(uow, ml)
        assert result.outcome is AuditOutcome.REJECTED
        entry = uow.store.audit[-1]
        assert entry.response["causes"] == ["item.available_quantity.invalid"]
        assert entry.before["available_quantity"] == 0
        assert entry.after == {"available_quantity": 5}

    def test_unavailable_propagates_so_the_job_is_retried(self, uow, ml):
        erp_stock_changed([StockReport("A", "main", 5, T)], uow=uow)

        def boom(*_args):
            raise MarketplaceUnavailable("429", status=429)

        ml.update_item = boom
        with pytest.raises(MarketplaceUnavailable):
            push_item(PushItem("main", "MLA1"), uow=uow, marketplace=ml, clock=FixedClock())

    def test_a_closed_item_is_skipped(self, uow, ml):
        ml.items["MLA1"] = item("MLA1", status="closed")
        erp_stock_changed([StockReport("A", "main", 5, T)], uow=uow)
        uow.store.jobs = [PushItem("main", "MLA1")]
        (result,) = push_all(uow, ml)
        assert result.outcome is AuditOutcome.SKIPPED and ml.updates == []

    def test_an_item_gone_from_ml_is_recorded(self, uow, ml):
        del ml.items["MLA1"]
        (result,) = [push_item(PushItem("main", "MLA1"), uow=uow, marketplace=ml,
                               clock=FixedClock())]
        assert result.outcome is AuditOutcome.REJECTED
        assert "not found" in uow.store.audit[-1].reason

    def test_price_and_stock_go_in_the_same_put(self, uow, ml):
        uow.store.policy = PricingPolicy(default=PricingRule(min_markup=D("0.2")))
        erp_stock_changed([StockReport("A", "main", 5, T)], uow=uow)
        erp_price_changed([ErpPrice(sku="A", cost=D(100), cost_as_of=T, list_price=D(150),
                                    list_price_as_of=T)], uow=uow)
        uow.store.jobs = [PushItem("main", "MLA1")]
        push_all(uow, ml)
        (put,) = ml.updates
        assert put.available_quantity == 5 and put.price == D("150.00")

    def test_an_infeasible_price_is_explained_and_stock_still_goes(self, uow, ml):
        uow.store.policy = PricingPolicy(default=PricingRule(min_markup=D("0.5"),
                                                             max_price=D(120)))
        erp_stock_changed([StockReport("A", "main", 5, T)], uow=uow)
        erp_price_changed([ErpPrice(sku="A", cost=D(100), cost_as_of=T)], uow=uow)
        uow.store.jobs = [PushItem("main", "MLA1")]
        (result,) = push_all(uow, ml)
        assert result.sent and ml.updates[0].price is None
        assert "floor 150.00 is above ceiling 120.00" in uow.store.audit[-1].reason

    def test_a_kit_without_its_own_cost_costs_the_sum_of_its_parts(self, uow, ml):
        uow.store.policy = PricingPolicy(default=PricingRule(min_markup=D(0),
                                                             target_markup=D("0.1")))
        erp_stock_changed([StockReport("A", "main", 4, T), StockReport("B", "main", 4, T)],
                          uow=uow)
        erp_price_changed([ErpPrice(sku="A", cost=D(10), cost_as_of=T),
                           ErpPrice(sku="B", cost=D(5), cost_as_of=T)], uow=uow)
        uow.store.jobs = [PushItem("main", "MLA3")]
        push_all(uow, ml)
        assert ml.items["MLA3"].price == D("27.50")  # (2 * 10 + 5) * 1.1

    def test_variations_share_one_price(self, uow, ml):
        uow.store.policy = PricingPolicy(default=PricingRule())
        erp_price_changed([ErpPrice(sku="A", cost=D(10), cost_as_of=T, list_price=D(40),
                                    list_price_as_of=T),
                           ErpPrice(sku="B", cost=D(10), cost_as_of=T, list_price=D(60),
                                    list_price_as_of=T)], uow=uow)
        uow.store.jobs = [PushItem("main", "MLA2")]
        push_all(uow, ml)
        assert {v.price for v in ml.items["MLA2"].variations} == {D("60.00")}

    def test_unknown_account_is_an_error(self, uow, ml):
        with pytest.raises(UnknownAccount):
            push_item(PushItem("nope", "MLA1"), uow=uow, marketplace=ml, clock=FixedClock())


class TestErpPriceChanged:
    def test_fields_merge_and_an_older_field_never_wins(self, uow):
        erp_price_changed([ErpPrice(sku="A", cost=D(10), cost_as_of=T)], uow=uow)
        erp_price_changed([ErpPrice(sku="A", list_price=D(20), list_price_as_of=T)], uow=uow)
        result = erp_price_changed([ErpPrice(sku="A", cost=D(5),
                                             cost_as_of=T - timedelta(hours=1))], uow=uow)
        stored = uow.store.erp_prices["A"]
        assert (stored.cost, stored.list_price) == (D(10), D(20))
        assert result.changed == () and result.pushes == ()


class TestOrderSeen:
    def test_a_sale_on_one_listing_moves_the_others_and_the_kit(self, uow, ml):
        erp_stock_changed([StockReport("A", "main", 10, T), StockReport("B", "main", 5, T)],
                          uow=uow)
        push_all(uow, ml)
        order_seen(Order(id=1, account="main", status="paid", last_updated=T,
                         lines=(OrderLine("MLA1", None, "A", 4, D(100)),)), uow=uow)
        push_all(uow, ml)
        assert ml.items["MLA2"].variation(21).available_quantity == 6
        assert ml.items["MLA3"].available_quantity == 3

    def test_duplicates_give_one_hold_and_one_paid_event(self, uow):
        paid = Order(id=1, account="main", status="paid", last_updated=T,
                     lines=(OrderLine("MLA1", None, "A", 4, D(100)),))
        results = [order_seen(paid, uow=uow) for _ in range(5)]
        assert [r.applied for r in results] == [True, False, False, False, False]
        assert [e.type for e in uow.store.events] == [ErpEventType.CREATED, ErpEventType.PAID]
        assert sum(h.units for h in uow.store.holds.values()) == 4

    def test_an_unmapped_listing_selling_a_known_sku_still_holds_it(self, uow):
        result = order_seen(Order(id=2, account="main", status="paid", last_updated=T,
                                  lines=(OrderLine("MLA99", None, "B", 1, D(1)),
                                         OrderLine("MLA98", None, "NOPE", 1, D(1)))), uow=uow)
        assert {h.sku for h in uow.store.holds.values()} == {"B"}
        assert result.unmapped_lines == ("MLA98/-",)

    def test_an_order_accounted_before_it_was_seen_holds_nothing_once_reported(self, uow):
        order_accounted(3, T, uow=uow)
        erp_stock_changed([StockReport("A", "main", 10, T + timedelta(minutes=1))], uow=uow)
        order_seen(Order(id=3, account="main", status="paid", last_updated=T,
                         lines=(OrderLine("MLA1", None, "A", 4, D(100)),)), uow=uow)
        assert uow.store.holds == {}


class TestOrderAccounted:
    def test_replays_change_nothing(self, uow):
        first = order_accounted(4, T, uow=uow)
        again = order_accounted(4, T + timedelta(hours=1), uow=uow)
        assert first.first_time and not again.first_time
        assert uow.store.orders[4].accounted_at == T


def route_notification(notification: Notification, *, uow: FakeUnitOfWork) -> Routing:
    """Store the notification, claim its job as a runner would, and process it."""
    entry_id, _ = receive_notification(notification, {}, uow=uow, clock=FixedClock())
    uow.take_jobs()
    return process_notification(ProcessNotification(entry_id), uow=uow, clock=FixedClock())


class TestNotifications:
    def note(self, topic: str, resource: str, user_id: int | None = 111) -> Notification:
        return Notification(topic=topic, resource=resource, user_id=user_id)

    def test_an_order_notification_queues_a_sync(self, uow):
        routing = route_notification(self.note("orders_v2", "/orders/2000003508419013"),
                                     uow=uow)
        assert routing.command == SyncOrder("main", 2000003508419013)
        assert uow.store.jobs == [routing.command]

    def test_an_item_notification_for_a_mapped_item_queues_a_push(self, uow):
        routing = route_notification(self.note("items", "/items/MLA2"), uow=uow)
        assert routing.command == PushItem("main", "MLA2")

    @pytest.mark.parametrize(("topic", "resource", "user_id", "why"), [
        ("orders_v2", "/orders/1", 999, "unknown seller"),
        ("payments", "/collections/1", 111, "recorded, not processed"),
        ("questions", "/questions/abc", 111, "unexpected questions resource"),
        ("shipments", "/shipments/0", 111, "unexpected shipments resource"),
        ("items", "/items/MLA777", 111, "not mapped"),
        ("orders_v2", "/orders/abc", 111, "unexpected order resource"),
        ("orders_v2", "/orders/\u00b2", 111, "unexpected order resource"),  # isdigit() said yes
        ("orders_v2", "/orders/0", 111, "unexpected order resource"),
        ("orders_v2", f"/orders/{2**63}", 111, "unexpected order resource"),
        ("items", "/items/..%2F..%2Fusers%2Fme", 111, "unexpected item resource"),
        ("items_prices", "/items/mla2", 111, "unexpected item resource"),
    ])
    def test_what_is_only_recorded(self, uow, topic, resource, user_id, why):
        routing = route_notification(self.note(topic, resource, user_id), uow=uow)
        assert routing.command is None and why in routing.ignored
        assert uow.store.jobs == []

    @pytest.mark.parametrize(("topic", "resource", "command"), [
        ("shipments", "/shipments/40531399184", SyncShipment("main", 40531399184)),
        ("questions", "/questions/6894368802", SyncQuestion("main", 6894368802)),
    ])
    def test_shipments_and_questions_queue_their_read(self, uow, topic, resource, command):
        routing = route_notification(self.note(topic, resource), uow=uow)
        assert routing.command == command and uow.store.jobs == [command]

    def test_sync_order_reads_the_order_from_ml(self, uow):
        order = Order(id=7, account="main", status="paid", last_updated=T,
                      lines=(OrderLine("MLA1", None, "A", 1, D(100)),))
        ml = FakeMarketplace(orders=[order])
        result = sync_order(SyncOrder("main", 7), uow=uow, marketplace=ml, clock=FixedClock())
        assert result.applied and uow.store.orders[7].order == order


class TestOperatorActions:
    def test_a_push_now_is_queued_for_an_item_an_active_row_sells(self, uow):
        queue_push("main", "MLA2", uow=uow)
        assert uow.store.jobs == [PushItem("main", "MLA2")]

    @pytest.mark.parametrize("item_id", ["MLA4", "MLA999"])  # inactive row; no row
    def test_a_push_now_of_an_item_nothing_sells_queues_nothing(self, uow, item_id):
        with pytest.raises(InvalidInput, match=f"main/{item_id} has no active mapping row"):
            queue_push("main", item_id, uow=uow)
        assert uow.store.jobs == []

    def test_a_reconciliation_now_is_queued_for_every_account(self, uow):
        uow.store.accounts["second"] = Account("second", 222, "MLB")
        assert queue_reconcile_all(uow=uow) == ["main", "second"]
        assert uow.store.jobs == [Reconcile("main"), Reconcile("second")]
