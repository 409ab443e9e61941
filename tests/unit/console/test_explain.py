"""The explanation of a listing's figures ("why 3 and not 10") agrees with what the push
itself publishes, because both run the same plan and price decision."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connector_core.domain.accounts import Account
from connector_core.domain.commands import PushItem
from connector_core.domain.items import MarketItem, MarketVariation
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import PriceOutcome, PricingPolicy, PricingRule
from connector_core.domain.stock import Hold, StockReport
from connector_core.services.explain import explain_listing
from connector_core.services.push_item import push_item
from tests.fakes import FakeMarketplace, FakeUnitOfWork, FixedClock, Store

T = datetime(2026, 12, 1, 12, tzinfo=UTC)


def world() -> tuple[FakeUnitOfWork, FakeMarketplace]:
    store = Store(
        accounts={"main": Account("main", 1001, "MLA", warehouses=frozenset({"main"}))},
        table=MappingTable(
            [MappingRow("A", Listing("main", "MLA1"), safety_stock=2, max_quantity=3),
             MappingRow("KIT", Listing("main", "MLA2", 21)),
             MappingRow("B", Listing("main", "MLA2", 22), active=False)],
            [Kit("KIT", {"A": 2, "B": 1})]),
        policy=PricingPolicy(default=PricingRule(min_markup="0.5", max_price="140")))
    store.reports = {
        ("A", "main"): StockReport("A", "main", 10, T),
        ("A", "far"): StockReport("A", "far", 50, T),  # the account does not sell from it
        ("B", "main"): StockReport("B", "main", 4, T),
    }
    store.holds = {h.key: h for h in (
        Hold(77, "MLA1/-", "A", 2),
        Hold(78, "MLA1/-", "A", 1, accounted_at=T - timedelta(hours=1)))}  # settled
    store.erp_prices = {"A": ErpPrice(sku="A", cost=Decimal(100), cost_as_of=T)}
    marketplace = FakeMarketplace([
        MarketItem(id="MLA1", site_id="MLA", seller_id=1001, status="active",
                   price=Decimal(150), currency_id="ARS", available_quantity=10,
                   title="Taza"),
        MarketItem(id="MLA2", site_id="MLA", seller_id=1001, status="active",
                   price=Decimal(300), currency_id="ARS", available_quantity=13,
                   variations=[MarketVariation(21, 9, Decimal(300)),
                               MarketVariation(22, 4, Decimal(300))])])
    return FakeUnitOfWork(store), marketplace


def test_why_3_and_not_10_step_by_step():
    uow, marketplace = world()
    story = explain_listing("main", "MLA1", uow=uow, marketplace=marketplace)
    assert story is not None and story.item is not None
    row = story.rows[0]
    assert (row.free, row.published, row.ml_shows) == (8, 3, 10)
    part = row.parts[0]
    assert [(w.warehouse, w.quantity, w.counted) for w in part.warehouses] == [
        ("far", 50, False), ("main", 10, True)]
    assert [(h.order_id, counts) for h, counts in part.holds] == [(77, True), (78, False)]
    assert row.steps == ("free(A) = 10 reported - 2 held = 8",
                         "published = clamp(0, max_quantity 3, 8 - safety_stock 2) = 3")


def test_kit_components_and_an_inactive_row():
    uow, marketplace = world()
    story = explain_listing("main", "MLA2", uow=uow, marketplace=marketplace)
    assert story is not None
    kit, inactive = story.rows
    assert kit.is_kit and [(p.sku, p.units, p.free, p.sets) for p in kit.parts] == [
        ("A", 2, 8, 4), ("B", 1, 4, 4)]
    assert "free(KIT) = min(A: 8 // 2 = 4, B: 4 // 1 = 4) = 4" in kit.steps
    assert inactive.steps[-1] == "the mapping row is inactive: the connector does not publish it"


def test_the_explanation_matches_what_the_push_sends_and_why_the_price_is_not_published():
    uow, marketplace = world()
    story = explain_listing("main", "MLA1", uow=uow, marketplace=marketplace)
    result = push_item(PushItem("main", "MLA1"), uow=uow, marketplace=marketplace,
                       clock=FixedClock(T))
    assert story is not None and story.price is not None
    assert result.update is not None
    assert result.update.available_quantity == story.rows[0].published
    assert result.price == story.price
    assert story.price.outcome is PriceOutcome.INFEASIBLE
    assert "floor 150.00 is above ceiling 140.00" in story.price.reason


def test_ml_unreachable_still_explains_the_stock_and_an_unmapped_item_is_none():
    uow, marketplace = world()
    marketplace.items.pop("MLA1")
    story = explain_listing("main", "MLA1", uow=uow, marketplace=marketplace)
    assert story is not None and story.item is None and story.price is None
    assert "not found" in (story.ml_error or "") and story.rows[0].published == 3
    assert explain_listing("main", "MLA404", uow=uow, marketplace=marketplace) is None
