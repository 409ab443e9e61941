"""The mapping table's invariants and which listings a SKU change touches."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_core.domain.errors import MappingInvalid
from connector_core.domain.mapping import (
    Kit,
    KitCatalog,
    Listing,
    MappingRow,
    MappingTable,
    rows_touched_by,
)
from connector_core.domain.stock import StockReport, StockView

T = datetime(2026, 1, 1, tzinfo=UTC)


def row(sku: str, item: str, variation: int | None = None, account: str = "main") -> MappingRow:
    return MappingRow(sku, Listing(account, item, variation))


def listings_touched_by(table: MappingTable, sku: str) -> set[Listing]:
    """Rule 2 as production computes it (``services.affected``): ``rows_touched_by`` over
    the table's rows instead of the repository's."""
    return {r.listing for r in rows_touched_by([sku], table.kits, table.rows_for_skus)}


class TestInvariants:
    def test_a_listing_maps_to_one_sku_only(self):
        with pytest.raises(MappingInvalid) as err:
            MappingTable([row("A", "MLA1"), row("B", "MLA1")],
                         row_locations={Listing("main", "MLA1"): "mappings.csv:3"})
        assert "mappings.csv:3" in str(err.value)
        assert "appears more than once" in str(err.value)

    def test_the_same_item_with_different_variations_is_fine(self):
        table = MappingTable([row("A", "MLA1", 1), row("B", "MLA1", 2)])
        assert {r.sku for r in table.rows_for_item("main", "MLA1")} == {"A", "B"}

    def test_kit_components_must_be_known(self):
        with pytest.raises(MappingInvalid) as err:
            MappingTable([row("KIT", "MLA1")], [Kit("KIT", {"A": 1})])
        assert "component 'A' is not a known SKU" in str(err.value)

    def test_declared_skus_count_as_known(self):
        table = MappingTable([row("KIT", "MLA1")], [Kit("KIT", {"A": 1})], extra_skus=["A"])
        assert listings_touched_by(table, "A") == {Listing("main", "MLA1")}

    def test_kit_cycles_are_refused_with_the_cycle_named(self):
        with pytest.raises(MappingInvalid) as err:
            MappingTable([row("A", "MLA1")], [Kit("K1", {"K2": 1, "A": 1}),
                                               Kit("K2", {"K1": 1})])
        assert "K1 -> K2 -> K1" in str(err.value)

    def test_all_problems_are_reported_at_once(self):
        with pytest.raises(MappingInvalid) as err:
            MappingTable([row("A", "MLA1"), row("A", "MLA1"), row("K", "MLA2")],
                         [Kit("K", {"X": 1})])
        assert len(err.value.problems) == 2

    @pytest.mark.parametrize("bad", [
        lambda: Kit("K", {}), lambda: Kit("K", {"A": 0}), lambda: Kit("K", {"K": 1}),
        lambda: MappingRow("A", Listing("main", "MLA1"), safety_stock=-1),
        lambda: Listing("main", " MLA1"), lambda: Listing("", "MLA1"),
    ])
    def test_malformed_values_are_refused(self, bad):
        with pytest.raises(ValueError):
            bad()


class TestTouched:
    TABLE = MappingTable(
        [row("A", "MLA1"), row("A", "MLA2", 7), row("B", "MLA3"), row("C", "MLA4"),
         row("KIT", "MLA5"), row("BOX", "MLA6")],
        [Kit("KIT", {"A": 2, "B": 1}), Kit("BOX", {"KIT": 1, "C": 2})])

    def test_a_component_change_touches_its_listings_and_every_kit_containing_it(self):
        assert listings_touched_by(self.TABLE, "A") == {
            Listing("main", "MLA1"), Listing("main", "MLA2", 7), Listing("main", "MLA5"),
            Listing("main", "MLA6")}

    def test_a_kit_sale_touches_its_components_and_their_other_kits(self):
        touched = listings_touched_by(self.TABLE, "KIT")
        assert Listing("main", "MLA1") in touched and Listing("main", "MLA3") in touched
        assert Listing("main", "MLA6") in touched
        assert Listing("main", "MLA4") not in touched

    def test_leaf_units_multiply_through_nested_kits(self):
        assert self.TABLE.kits.leaf_units("BOX", 3) == {"A": 6, "B": 3, "C": 6}


@st.composite
def kit_graphs(draw: st.DrawFn) -> tuple[list[str], list[Kit]]:
    """Random acyclic kits: kit i only contains SKUs or kits with a lower index."""
    plain = [f"S{i}" for i in range(draw(st.integers(1, 4)))]
    kits: list[Kit] = []
    for i in range(draw(st.integers(0, 4))):
        pool = plain + [k.sku for k in kits]
        chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        kits.append(Kit(f"K{i}", {c: draw(st.integers(1, 3)) for c in chosen}))
    return plain, kits


@given(kit_graphs(), st.data())
def test_every_listing_whose_figure_can_move_is_touched(graph, data):
    """Brute force: change one SKU's stock; every listing whose published figure changed
    must be among the listings the table says the change touches."""
    plain, kits = graph
    skus = plain + [k.sku for k in kits]
    table = MappingTable([row(s, f"MLA{i}") for i, s in enumerate(skus)], kits)
    stock = {s: data.draw(st.integers(0, 20)) for s in plain}
    changed = data.draw(st.sampled_from(plain))
    delta = data.draw(st.integers(-5, 5).filter(bool))

    def figures(levels: dict[str, int]) -> dict[Listing, int | None]:
        view = StockView([StockReport(s, "w", q, T) for s, q in levels.items()], [],
                         table.kits)
        return {r.listing: view.published(r) for r in table.rows}

    before = figures(stock)
    after = figures({**stock, changed: stock[changed] + delta})
    moved = {listing for listing in before if before[listing] != after[listing]}
    assert moved <= listings_touched_by(table, changed)


@given(kit_graphs())
def test_kit_catalog_accepts_every_acyclic_graph(graph):
    _, kits = graph
    catalog = KitCatalog(kits)
    for kit in kits:
        assert kit.sku not in catalog.containing(kit.sku)


@given(kit_graphs(), st.data())
def test_the_kits_under_some_skus_give_those_skus_the_same_figures(graph, data):
    """A push reads only the kits under its item's SKUs (``kits_under``): for those SKUs,
    rule 1's figure, the leaf units and the components must be what the whole catalog gives."""
    plain, kits = graph
    catalog = KitCatalog(kits)
    skus = data.draw(st.lists(st.sampled_from(plain + [k.sku for k in kits]), max_size=3))
    under = catalog.under(skus)
    assert all(catalog.get(k.sku) == k for k in under)
    stock = [StockReport(s, "w", data.draw(st.integers(0, 20)), T) for s in plain]
    whole, part = StockView(stock, [], catalog), StockView(stock, [], under)
    for sku in skus:
        assert under.get(sku) == catalog.get(sku)
        assert under.leaf_units(sku, 2) == catalog.leaf_units(sku, 2)
        assert part.free(sku) == whole.free(sku)
