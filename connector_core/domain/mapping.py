"""SKUs, listings, kits and the mapping table (which listing sells which SKU).

A *listing* is one sellable thing on ML: an item, or one variation of an item, of one account.
Every listing maps to exactly one SKU or kit. A kit is sold as a unit but stocked as its
components (SKUs or other kits, with units per kit); kits may nest but never form a cycle.

The question the rest of the connector asks is :meth:`KitCatalog.related_skus`: when the stock of
SKU X changes, which SKUs' listings must be republished? The answer is X, every kit that
contains X (at any depth), and, when X is itself a kit, its components and every kit that
shares one of them (selling a kit consumes its components).
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping

from attrs import field, frozen, validators

from connector_core.domain import ids
from connector_core.domain.errors import MappingInvalid, Problem


def _non_empty(_instance: object, attribute: object, value: str) -> None:
    if not value or value != value.strip():
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be non-empty without "
                         f"surrounding spaces, got {value!r}")


@frozen(order=True)
class Listing:
    """One listing: ``(account, item_id, variation_id)``; no variation id for a plain item."""

    account: str = field(validator=_non_empty)
    item_id: str = field(validator=_non_empty)
    variation_id: int | None = None

    @property
    def item_key(self) -> tuple[str, str]:
        return (self.account, self.item_id)

    def __str__(self) -> str:
        suffix = f"/{self.variation_id}" if self.variation_id is not None else ""
        return f"{self.account}:{self.item_id}{suffix}"

    @classmethod
    def parse(cls, key: str) -> "Listing":
        """``ACCOUNT:ITEM_ID`` or ``ACCOUNT:ITEM_ID/VARIATION_ID`` (what ``str`` writes);
        ``ValueError`` (or ``InvalidInput`` for a bad id) otherwise."""
        account, sep, rest = key.partition(":")
        item_id, slash, variation = rest.partition("/")
        if not sep or not account or not item_id or (slash and not variation):
            raise ValueError("expected ACCOUNT:ITEM_ID or ACCOUNT:ITEM_ID/VARIATION_ID")
        return cls(account, ids.item_id(item_id),
                   ids.variation_id(variation) if slash else None)


@frozen
class MappingRow:
    """A row of ``config/mappings.csv``: which SKU (or kit) a listing sells, and its limits."""

    sku: str = field(validator=_non_empty)
    listing: Listing
    safety_stock: int = field(default=0, validator=validators.ge(0))
    max_quantity: int | None = field(
        default=None, validator=validators.optional(validators.ge(0))
    )
    active: bool = True


def _sorted_components(value: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(dict(value).items()))


@frozen
class Kit:
    """A kit SKU and its components: component SKU -> units per kit (>= 1)."""

    sku: str = field(validator=_non_empty)
    components: Mapping[str, int] = field(converter=_sorted_components)

    @components.validator
    def _check(self, _attribute: object, value: Mapping[str, int]) -> None:
        if not value:
            raise ValueError(f"kit {self.sku!r} has no components")
        for sku, units in value.items():
            if not isinstance(units, int) or isinstance(units, bool) or units < 1:
                raise ValueError(f"kit {self.sku!r}: units of {sku!r} must be a whole number >= 1")
            if sku == self.sku:
                raise ValueError(f"kit {self.sku!r} contains itself")

    def __hash__(self) -> int:
        return hash((self.sku, tuple(self.components.items())))


class KitCatalog:
    """The kits, validated to be acyclic, with the graph queries the stock rules need."""

    def __init__(self, kits: Iterable[Kit] = ()) -> None:
        self._kits: dict[str, Kit] = {}
        for kit in kits:
            self._kits[kit.sku] = kit
        self._parents: dict[str, set[str]] = defaultdict(set)
        for kit in self._kits.values():
            for component in kit.components:
                self._parents[component].add(kit.sku)
        cycle = self._find_cycle()
        if cycle:
            raise MappingInvalid([Problem(f'kits."{cycle[0]}"',
                                          "kit cycle: " + " -> ".join(cycle), kit=cycle[0])])

    def _find_cycle(self) -> list[str] | None:
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def visit(sku: str, path: list[str]) -> list[str] | None:
            state[sku] = 1
            for component in self._kits[sku].components:
                if component not in self._kits:
                    continue
                if state.get(component) == 1:
                    return [*path[path.index(component):], component]
                if state.get(component) is None:
                    found = visit(component, [*path, component])
                    if found:
                        return found
            state[sku] = 2
            return None

        for sku in sorted(self._kits):
            if sku not in state:
                found = visit(sku, [sku])
                if found:
                    return found
        return None

    def __contains__(self, sku: object) -> bool:
        return sku in self._kits

    def __iter__(self) -> Iterator[Kit]:
        return iter(self._kits.values())

    def __len__(self) -> int:
        return len(self._kits)

    def get(self, sku: str) -> Kit | None:
        return self._kits.get(sku)

    def under(self, skus: Iterable[str]) -> "KitCatalog":
        """The kits among ``skus`` and every kit they are made of, directly or not."""
        found: dict[str, Kit] = {}
        todo = list(skus)
        while todo:
            kit = self._kits.get(todo.pop())
            if kit is not None and kit.sku not in found:
                found[kit.sku] = kit
                todo.extend(kit.components)
        return KitCatalog(found[sku] for sku in sorted(found))

    def leaf_units(self, sku: str, quantity: int = 1) -> dict[str, int]:
        """Units of plain (non-kit) SKUs consumed by ``quantity`` units of ``sku``."""
        kit = self._kits.get(sku)
        if kit is None:
            return {sku: quantity}
        units: dict[str, int] = defaultdict(int)
        for component, per_kit in kit.components.items():
            for leaf, n in self.leaf_units(component, quantity * per_kit).items():
                units[leaf] += n
        return dict(units)

    def containing(self, sku: str) -> set[str]:
        """Every kit that contains ``sku`` directly or through other kits."""
        found: set[str] = set()
        stack = [sku]
        while stack:
            for parent in self._parents.get(stack.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    stack.append(parent)
        return found

    def related_skus(self, sku: str) -> set[str]:
        """SKUs whose published quantity may change when the stock of ``sku`` changes."""
        related = {sku}
        for leaf in self.leaf_units(sku):
            related.add(leaf)
            related |= self.containing(leaf)
        return related


class MappingTable:
    """The whole validated table: rows (one per listing) plus kits.

    Invariants, checked on construction (all problems reported at once, nothing partial):
    a listing appears once; a row's SKU is a plain SKU or a kit; kit components are known SKUs
    (a SKU some row sells, one listed in ``extra_skus``, or another kit); kits have no cycles.
    """

    def __init__(
        self,
        rows: Iterable[MappingRow],
        kits: Iterable[Kit] = (),
        *,
        extra_skus: Iterable[str] = (),
        row_locations: Mapping[Listing, str] | None = None,
    ) -> None:
        self.rows: tuple[MappingRow, ...] = tuple(rows)
        locations = row_locations or {}
        problems: list[Problem] = []
        self._by_listing: dict[Listing, MappingRow] = {}
        for row in self.rows:
            if row.listing in self._by_listing:
                problems.append(Problem(locations.get(row.listing, str(row.listing)),
                                        f"listing {row.listing} appears more than once"))
            else:
                self._by_listing[row.listing] = row
        kit_list = list(kits)
        kit_skus = {k.sku for k in kit_list}
        known = {r.sku for r in self.rows} | set(extra_skus) | kit_skus
        for kit in kit_list:
            for component in kit.components:
                if component not in known:
                    problems.append(Problem(
                        f'kits."{kit.sku}"',
                        f"component {component!r} is not a known SKU (not on any mapping row, "
                        f"not declared, not a kit)", kit=kit.sku))
        try:
            self.kits = KitCatalog(kit_list)
        except MappingInvalid as exc:
            problems.extend(exc.problems)
            self.kits = KitCatalog()
        if problems:
            raise MappingInvalid(problems)
        self._by_sku: dict[str, list[MappingRow]] = defaultdict(list)
        self._by_item: dict[tuple[str, str], list[MappingRow]] = defaultdict(list)
        for row in self.rows:
            self._by_sku[row.sku].append(row)
            self._by_item[row.listing.item_key].append(row)

    def row_for(self, listing: Listing) -> MappingRow | None:
        return self._by_listing.get(listing)

    def rows_for_skus(self, skus: Iterable[str]) -> list[MappingRow]:
        return [row for sku in sorted(set(skus)) for row in self._by_sku.get(sku, ())]

    def rows_for_item(self, account: str, item_id: str) -> list[MappingRow]:
        return list(self._by_item.get((account, item_id), ()))


def rows_touched_by(skus: Iterable[str], kits: KitCatalog,
                    rows_for_skus: Callable[[set[str]], list[MappingRow]]) -> list[MappingRow]:
    """Rule 2, a sale moves every listing: the rows to republish when the stock of ``skus``
    changes are those of every SKU related to one of them (:meth:`KitCatalog.related_skus`:
    itself, the kits that contain it, and for a kit its components and their kits).
    ``rows_for_skus`` reads the table (in memory, or the repository)."""
    related: set[str] = set()
    for sku in skus:
        related |= kits.related_skus(sku)
    return rows_for_skus(related)
