"""Rule 1 per warehouse (multi-origin stock) and the UP stock writes, as properties.

For every warehouse mapped to an ML store, the published figure is the ERP's report there
minus the holds shipping from it and every hold whose origin is not known yet; whichever
warehouse such a sale finally ships from, no store ever publishes more than is left there.
"""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from connector_core.domain.mapping import Kit, KitCatalog, Listing, MappingRow
from connector_core.domain.stock import Hold, StockReport, StockView, clamp_published
from connector_core.domain.user_products import (
    SellerModel,
    StoreRef,
    UpLocation,
    UpStock,
    plan_store_writes,
    published_per_warehouse,
    shared_figure,
)

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
STORES = (StoreRef("north", "70001", "ARP70001"), StoreRef("south", "70002", "ARP70002"),
          StoreRef("west", "70003", "ARP70003"))
NODES = [s.network_node_id for s in STORES]
ORIGINS = st.sampled_from([*NODES, None, "ARFULL01"])  # known, unknown, not a warehouse


@st.composite
def worlds(draw):
    reports = {s.warehouse: draw(st.one_of(st.none(), st.integers(-3, 30))) for s in STORES}
    holds = draw(st.lists(st.tuples(st.integers(1, 6), ORIGINS), max_size=8))
    row = MappingRow("A", Listing("up", "MLA1"), safety_stock=draw(st.integers(0, 3)),
                     max_quantity=draw(st.one_of(st.none(), st.integers(0, 25))))
    return reports, holds, row


def build(reports, holds):
    stock = [StockReport("A", w, q, T0) for w, q in reports.items() if q is not None]
    held = [Hold(order_id=n + 1, line="MLA1/-", sku="A", units=u, origin_node=o)
            for n, (u, o) in enumerate(holds)]
    return StockView(stock, held, KitCatalog()), held


@given(worlds())
def test_each_warehouse_publishes_rule_1_with_its_own_and_the_unknown_holds(world):
    reports, holds, row = world
    view, held = build(reports, holds)
    figures = published_per_warehouse(row, view, held, KitCatalog(), STORES)
    for store in STORES:
        reported = reports[store.warehouse]
        if reported is None:
            assert figures[store.warehouse] is None
            continue
        against = sum(u for u, origin in holds
                      if origin in (store.network_node_id, None) or origin not in NODES)
        assert figures[store.warehouse] == clamp_published(reported - against,
                                                           row.safety_stock, row.max_quantity)


@given(worlds(), st.data())
def test_no_store_ever_publishes_more_than_is_left_wherever_unknown_sales_ship_from(
        world, data):
    reports, holds, row = world
    view, held = build(reports, holds)
    figures = published_per_warehouse(row, view, held, KitCatalog(), STORES)
    # ML later says where each sale of unknown origin ships from: any warehouse at all
    shipped_from = [origin if origin in NODES else data.draw(st.sampled_from(NODES))
                    for _, origin in holds]
    for store in STORES:
        if reports[store.warehouse] is None:
            continue
        left = reports[store.warehouse] - sum(
            u for (u, _), node in zip(holds, shipped_from, strict=True)
            if node == store.network_node_id)
        assert figures[store.warehouse] <= max(0, left - row.safety_stock)


@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 10))
def test_a_kit_publishes_per_warehouse_the_minimum_over_its_components(a, b, sold):
    kits = KitCatalog([Kit("KIT", {"A": 2, "B": 1})])
    holds = [Hold(1, "MLA9/-", "A", sold + 1, origin_node="ARP70001")]
    view = StockView([StockReport("A", "north", a, T0), StockReport("B", "north", b, T0)],
                     holds, kits)
    figures = published_per_warehouse(MappingRow("KIT", Listing("up", "MLA2")), view, holds,
                                      kits, STORES[:1])
    assert figures == {"north": max(0, min((a - sold - 1) // 2, b))}


@given(st.dictionaries(st.sampled_from(["north", "south", "west"]), st.integers(0, 50)),
       st.lists(st.integers(0, 50), min_size=3, max_size=3), st.integers(0, 40))
def test_store_writes_name_only_mapped_stores_that_differ_never_full(wanted, current, full):
    stock = UpStock("MLAU1", 7, [
        *(UpLocation("seller_warehouse", q, s.store_id, s.network_node_id)
          for s, q in zip(STORES, current, strict=True)),
        UpLocation("meli_facility", full)])
    writes = plan_store_writes(stock, wanted, STORES)
    by_store = {w.store_id: w.quantity for w in writes}
    for store, now in zip(STORES, current, strict=True):
        figure = wanted.get(store.warehouse)
        if figure is None or figure == now:
            assert store.store_id not in by_store
        else:
            assert by_store[store.store_id] == figure
    assert len(by_store) == len(writes)


def test_listings_sharing_a_up_share_the_smallest_figure_and_unknown_wins():
    assert shared_figure([5, 3, 9]) == 3
    assert shared_figure([5, None]) is None
    assert shared_figure([]) is None


def test_the_seller_model_comes_from_the_tags():
    at = T0
    assert SellerModel.from_tags(["normal"], at).label == "classic"
    assert SellerModel.from_tags(["user_product_seller"], at).label == "user products"
    model = SellerModel.from_tags(["user_product_seller", "warehouse_management"], at)
    assert (model.user_product_seller, model.multi_origin) == (True, True)
