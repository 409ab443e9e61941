"""``mappings discover``: propose the mapping table from the seller's whole ML catalog, by
SELLER_SKU (the decisions are in :mod:`connector_core.services.catalog`'s docstring)."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from connector_core.domain.accounts import Account
from connector_core.domain.items import MarketItem
from connector_core.domain.mapping import Listing, MappingRow
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.services.catalog import CHUNK, Progress, row_key


@frozen
class Found:
    """A listing of the seller's catalog and the SKU ML has on it."""

    listing: Listing
    sku: str | None
    title: str

    def as_json(self) -> dict[str, Any]:
        return {"item_id": self.listing.item_id, "variation_id": self.listing.variation_id,
                "sku": self.sku, "title": self.title}


@frozen
class Conflict:
    sku: str
    listings: tuple[Found, ...]
    mapped: tuple[Listing, ...]  # already in the table with this SKU

    def line(self) -> str:
        where = ", ".join(_where(f.listing) + f" ({f.title!r})" for f in self.listings)
        mapped = (f"; already mapped: {', '.join(_where(x) for x in self.mapped)}"
                  if self.mapped else "")
        return (f"sku={self.sku} is on listings of different products, not proposed: "
                f"{where}{mapped}")

    def as_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "listings": [f.as_json() for f in self.listings],
                "mapped": [{"item_id": x.item_id, "variation_id": x.variation_id}
                           for x in self.mapped]}


@frozen
class DiscoverReport:
    account: str
    rows: tuple[MappingRow, ...]  # the whole table to write: kept + proposed
    items: int
    listings: int
    kept: int
    proposed: tuple[MappingRow, ...]
    no_sku: tuple[Found, ...]
    conflicts: tuple[Conflict, ...]
    closed: tuple[str, ...]
    unreadable: tuple[tuple[str, str], ...]
    mapped_not_listed: tuple[MappingRow, ...]

    def stderr_lines(self) -> list[str]:
        lines = [f"no SKU on ML, not proposed: {_where(f.listing)} ({f.title!r})"
                 for f in self.no_sku]
        lines += [c.line() for c in self.conflicts]
        lines += [f"closed, skipped: item_id={item_id}" for item_id in self.closed]
        lines += [f"could not read, skipped: item_id={item_id} ({why})"
                  for item_id, why in self.unreadable]
        lines += [f"mapped but not an open listing of the seller, kept as is (run `mappings "
                  f"verify`): sku={r.sku} {_where(r.listing)}" for r in self.mapped_not_listed]
        return lines

    def summary(self) -> str:
        return (f"discover {self.account}: {self.items} items, {self.listings} listings: "
                f"{self.kept} already mapped (kept), {len(self.proposed)} proposed, "
                f"{len(self.no_sku)} without SKU, {len(self.conflicts)} SKUs on different "
                f"products, {len(self.closed)} closed")

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account, "items": self.items, "listings": self.listings,
            "kept": self.kept, "proposed": len(self.proposed), "rows": len(self.rows),
            "no_sku": [f.as_json() for f in self.no_sku],
            "conflicts": [c.as_json() for c in self.conflicts],
            "closed": list(self.closed),
            "unreadable": [{"item_id": i, "error": e} for i, e in self.unreadable],
            "mapped_not_listed": [{"sku": r.sku, "item_id": r.listing.item_id,
                                   "variation_id": r.listing.variation_id}
                                  for r in self.mapped_not_listed],
        }


def _where(listing: Listing) -> str:
    variation = "" if listing.variation_id is None else listing.variation_id
    return f"item_id={listing.item_id} variation_id={variation}"


def _product_key(item: MarketItem) -> str:
    """Items of one ML User Product sell one product; without a UP, items whose titles are
    the same once case and spacing are ignored do."""
    if item.user_product_id:
        return f"up:{item.user_product_id}"
    return "title:" + " ".join(item.title.casefold().split())


def listings_of(item: MarketItem, account: str) -> list[Found]:
    if item.has_variations:
        return [Found(Listing(account, item.id, v.id), (v.seller_sku or "").strip() or None,
                      item.title) for v in item.variations]
    return [Found(Listing(account, item.id), (item.seller_sku or "").strip() or None,
                  item.title)]


def discover(gateway: MarketplaceGateway, account: Account, stored: Sequence[MappingRow],
             progress: Progress | None = None) -> DiscoverReport:
    """Propose a row for every listing of ``account`` with an unambiguous SKU; keep every
    stored row (of every account) as it is."""
    ids = list(dict.fromkeys(gateway.list_item_ids(account)))
    found: list[Found] = []
    closed: list[str] = []
    unreadable: list[tuple[str, str]] = []
    products: dict[str, str] = {}  # item -> which product it sells
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        answers = gateway.get_items(account, chunk)
        for item_id in chunk:
            answer = answers.get(item_id)
            if not isinstance(answer, MarketItem):
                unreadable.append((item_id, str(answer) if answer else "no answer"))
            elif answer.closed:
                closed.append(item_id)
            else:
                products[item_id] = _product_key(answer)
                found.extend(listings_of(answer, account.name))
        if progress:
            progress(min(start + CHUNK, len(ids)), len(ids))

    stored_by_listing = {row.listing: row for row in stored}
    mine = [row for row in stored if row.listing.account == account.name]
    listed = {f.listing for f in found}
    mapped_not_listed = tuple(r for r in mine if r.listing not in listed)

    # Which items each SKU is on: the mapped ones and the newly found ones.
    items_by_sku: dict[str, set[str]] = defaultdict(set)
    new_by_sku: dict[str, list[Found]] = defaultdict(list)
    no_sku = []
    kept = 0
    for f in found:
        if f.listing in stored_by_listing:
            kept += 1
            continue
        if f.sku is None:
            no_sku.append(f)
            continue
        new_by_sku[f.sku].append(f)
        items_by_sku[f.sku].add(f.listing.item_id)
    mapped_by_sku: dict[str, list[Listing]] = defaultdict(list)
    for row in mine:
        mapped_by_sku[row.sku].append(row.listing)
        # A mapped item no longer listed (closed, say) is no other product: a re-listing
        # of the same thing under the same SKU is proposed.
        if row.sku in new_by_sku and row.listing.item_id in products:
            items_by_sku[row.sku].add(row.listing.item_id)

    proposed: list[MappingRow] = []
    conflicts: list[Conflict] = []
    for sku, news in sorted(new_by_sku.items()):
        if len({products[i] for i in items_by_sku[sku]}) > 1:
            conflicts.append(Conflict(sku, tuple(news), tuple(mapped_by_sku.get(sku, ()))))
            continue
        proposed.extend(MappingRow(sku=sku, listing=f.listing) for f in news)
    rows = sorted([*stored, *proposed], key=row_key)
    return DiscoverReport(
        account=account.name, rows=tuple(rows), items=len(ids), listings=len(found),
        kept=kept, proposed=tuple(proposed), no_sku=tuple(no_sku), conflicts=tuple(conflicts),
        closed=tuple(closed), unreadable=tuple(unreadable),
        mapped_not_listed=mapped_not_listed)
