"""The admin's tools against the live catalog: ``mappings verify`` and ``mappings discover``.

Both read ML through the :class:`MarketplaceGateway` (the shared rate limit, token refresh and
retries are the adapter's) and only in bulk: item ids from the seller's search (switching to a
scan past 1,000), items by multiget in chunks of 20. Never one ``GET /items/{id}`` per row.

Decisions (docs/catalog_tools.md explains them to the admin):

* **SKU on ML**: a listing's SKU is the variation's own SELLER_SKU attribute (or its
  ``seller_custom_field``) for a variation, the item's for an item without variations. A
  variation does not inherit the item's SKU.
* **No SKU on ML** (``verify``): a *warning*, not a problem: ML cannot confirm the row but does
  not contradict it. Warnings are printed and counted; they fail the command only with
  ``--strict``.
* **Currency**: the pricing rules have no currency of their own; costs and rules are in the
  account's site currency (ARS on MLA, CLP on MLC, ...) and prices are rounded on that
  currency's step (whole units or cents). A listing quoted in another currency (USD on MLA, say)
  would be priced with the wrong figures, so it is a problem, as is a listing of another site.
* **Inactive rows** are not checked (the admin switched them off, often because the listing
  was closed); ``verify`` says how many it skipped.
* **Same SKU on several items** (``discover``): listings of one item (its variations), items
  of one ML User Product, and items without one whose titles are the same once case and
  spacing are ignored (a classic and a premium copy of one listing) are one product, and a
  SKU on them is proposed for each. A SKU found on items of different products is a
  conflict: none of its unmapped listings is proposed, and all of them are reported for the
  admin to decide. A mapped item no longer listed (closed) takes no
  part: a re-listing under the same SKU is proposed.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from attrs import frozen

from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceError, MarketplaceNotFound
from connector_core.domain.items import MarketItem
from connector_core.domain.mapping import MappingRow
from connector_core.domain.sites import SITES
from connector_core.ports.marketplace import MarketplaceGateway

CHUNK = 20  # ML's multiget limit; the gateway splits the same way

Progress = Callable[[int, int], None]


# --- verify ------------------------------------------------------------------------------

@frozen
class Finding:
    """One problem (or warning) with one applied row."""

    sku: str
    account: str
    item_id: str
    variation_id: int | None
    message: str
    level: str = "problem"  # or "warning"

    def line(self) -> str:
        variation = "" if self.variation_id is None else self.variation_id
        prefix = "warning: " if self.level == "warning" else ""
        return (f"{prefix}sku={self.sku} item_id={self.item_id} variation_id={variation}: "
                f"{self.message}")

    def as_json(self) -> dict[str, Any]:
        return {"level": self.level, "sku": self.sku, "account": self.account,
                "item_id": self.item_id, "variation_id": self.variation_id,
                "message": self.message}


@frozen
class VerifyReport:
    findings: tuple[Finding, ...]
    checked: int
    inactive: int
    items: int

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "problem"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def summary(self) -> str:
        return (f"verified {self.checked} rows over {self.items} items: "
                f"{len(self.problems)} problems, {len(self.warnings)} warnings"
                + (f" ({self.inactive} inactive rows not checked)" if self.inactive else ""))


def _variation_ids(item: MarketItem) -> str:
    return ", ".join(str(v.id) for v in item.variations) or "none"


def _currency_problem(account: Account, item: MarketItem) -> str | None:
    if item.site_id != account.site_id:
        return (f"the listing is on site {item.site_id} but account {account.name} sells on "
                f"{account.site_id} (ML says site_id={item.site_id})")
    site = SITES.get(account.site_id)
    expected = site.currency if site is not None else None
    if expected is None or item.currency_id == expected:
        return None
    return (f"the listing is priced in {item.currency_id} but the pricing rules work in "
            f"{expected}, the currency of {account.site_id} (ML says "
            f"currency_id={item.currency_id})")


def check_row(row: MappingRow, account: Account,
              found: MarketItem | MarketplaceError | None,
              replaced_by: Callable[[], Sequence[str]] | None = None) -> list[Finding]:
    """What is wrong with ``row`` given what ML answered for its item (``replaced_by``: the
    open items now selling its SKU, asked only of a closed item)."""
    listing = row.listing

    def finding(message: str, level: str = "problem") -> Finding:
        return Finding(row.sku, listing.account, listing.item_id, listing.variation_id,
                       message, level)

    if found is None or isinstance(found, MarketplaceNotFound):
        return [finding(f"the item does not exist (ML says 404 {getattr(found, 'error', '')})"
                        .rstrip())]
    if isinstance(found, MarketplaceError):
        return [finding(f"the item could not be read (ML says {found})")]
    item = found
    if item.seller_id is not None and item.seller_id != account.user_id:
        return [finding(f"the item belongs to another seller (ML says seller_id="
                        f"{item.seller_id}, account {account.name} is {account.user_id})")]
    if item.closed:
        new = list(replaced_by()) if replaced_by is not None else []
        return [finding("the item is closed (ML says status=closed)" + (
            f"; stranded: its SKU is now sold by {', '.join(new)} (a User Products "
            f"migration or a re-listing): `mappings discover {account.name}` proposes the "
            f"new rows" if new else ""))]
    findings = []
    currency = _currency_problem(account, item)
    if currency:
        findings.append(finding(currency))
    ml_sku: str | None
    if listing.variation_id is None:
        if item.has_variations:
            findings.append(finding(
                f"the item has variations but the row has no variation id: map each variation "
                f"(ML says variations {_variation_ids(item)})"))
            return findings
        ml_sku = item.seller_sku
    else:
        if not item.has_variations:
            findings.append(finding(
                f"the item has no variations but the row names variation "
                f"{listing.variation_id} (ML says variations none)"))
            return findings
        variation = item.variation(listing.variation_id)
        if variation is None:
            findings.append(finding(
                f"the variation does not exist on the item (deleted?) (ML says variations "
                f"{_variation_ids(item)})"))
            return findings
        ml_sku = variation.seller_sku
    ml_sku = (ml_sku or "").strip() or None
    if ml_sku is None:
        findings.append(finding("ML has no SKU on this listing (no SELLER_SKU attribute nor "
                                "seller_custom_field): cannot confirm it sells this SKU",
                                "warning"))
    elif ml_sku != row.sku.strip():
        findings.append(finding(f"the SKU does not match (ML says SELLER_SKU={ml_sku})"))
    return findings


def verify(gateway: MarketplaceGateway, accounts: Mapping[str, Account],
           rows: Iterable[MappingRow], account: str | None = None,
           progress: Progress | None = None, *,
           replacements: Callable[[Account, str], Sequence[str]] | None = None
           ) -> VerifyReport:
    """Check every active row (of ``account``, or all) against ML, with one multiget per 20
    distinct items; ``replacements(account, sku)`` names the items that replace a closed
    one (a UPtin migration).

    Each multiget's rows are checked as soon as it is answered and its items dropped, so
    memory holds the rows and the findings, never the whole catalog; findings come out in
    row order (SKU, account, item, variation) all the same."""
    by_account: dict[str, list[MappingRow]] = defaultdict(list)
    inactive = 0
    for row in rows:
        if account is not None and row.listing.account != account:
            continue
        if not row.active:
            inactive += 1
            continue
        by_account[row.listing.account].append(row)
    findings: list[Finding] = []
    checked = items = 0
    total = sum(len({r.listing.item_id for r in rs}) for rs in by_account.values())
    for name in sorted(by_account):
        account_rows = by_account[name]
        checked += len(account_rows)
        known = accounts.get(name)
        if known is None:
            findings.extend(Finding(r.sku, name, r.listing.item_id, r.listing.variation_id,
                                    f"account {name!r} is not registered") for r in account_rows)
            continue
        keyed: list[tuple[tuple[str, str, str, int], Finding]] = []
        rows_of: dict[str, list[MappingRow]] = defaultdict(list)
        for row in account_rows:
            rows_of[row.listing.item_id].append(row)
        ids = list(rows_of)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            answers = gateway.get_items(known, chunk)
            for item_id in chunk:
                for row in rows_of[item_id]:
                    found = (None if replacements is None else
                             lambda k=known, sku=row.sku: replacements(k, sku))
                    keyed.extend((row_key(row), f) for f in
                                 check_row(row, known, answers.get(item_id), found))
            items += len(chunk)
            if progress:
                progress(items, total)
        keyed.sort(key=lambda pair: pair[0])  # stable: a row's findings keep their order
        findings.extend(f for _, f in keyed)
    return VerifyReport(tuple(findings), checked, inactive, items)


def row_key(row: MappingRow) -> tuple[str, str, str, int]:
    listing = row.listing
    return (row.sku, listing.account, listing.item_id,
            -1 if listing.variation_id is None else listing.variation_id)
