"""The admin's tables in SQL: replace the mapping table, kits, catalog, pricing rules and
accounts in one transaction (``mappings apply``), with the diff against what is stored.

Everything here runs inside the caller's session; the caller commits (all or nothing).
Designed for 100,000+ rows: the stored table is read as plain tuples, and changes go out as
bulk ``executemany`` statements keyed by primary key.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from attrs import frozen
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from adapters.sql.base import variation_key
from adapters.sql.prices import SqlPrices, policy_rows
from adapters.sql.repositories import SqlAccounts, SqlMappings, mapping_values
from adapters.sql.rows.catalog import (
    CatalogSkuRow,
    KitComponentRow,
    ListingMappingRow,
    PricingRuleRow,
)
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from connector_core.domain.accounts import Account
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.pricing import PricingPolicy

CHUNK = 5000


@frozen
class AdminTables:
    """What the admin's files ask for (see ``adapters.admin_files``)."""

    table: MappingTable
    catalog_skus: Sequence[str] = ()
    policy: PricingPolicy | None = None  # None: leave the pricing rules alone
    accounts: Sequence[Account] = ()


@frozen
class TableDiff:
    """What applying a file changes. ``changed`` pairs are (stored, wanted)."""

    added: tuple[MappingRow, ...] = ()
    changed: tuple[tuple[MappingRow, MappingRow], ...] = ()
    removed: tuple[MappingRow, ...] = ()
    kits_added: tuple[str, ...] = ()
    kits_changed: tuple[str, ...] = ()
    kits_removed: tuple[str, ...] = ()
    catalog_added: tuple[str, ...] = ()
    catalog_removed: tuple[str, ...] = ()
    pricing_added: tuple[str, ...] = ()
    pricing_changed: tuple[str, ...] = ()
    pricing_removed: tuple[str, ...] = ()
    accounts_added: tuple[str, ...] = ()
    accounts_changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any((self.added, self.changed, self.removed, self.kits_added,
                    self.kits_changed, self.kits_removed, self.catalog_added,
                    self.catalog_removed, self.pricing_added, self.pricing_changed,
                    self.pricing_removed, self.accounts_added, self.accounts_changed))


_COLUMNS = (ListingMappingRow.id, ListingMappingRow.sku, ListingMappingRow.account,
            ListingMappingRow.item_id, ListingMappingRow.variation_id,
            ListingMappingRow.safety_stock, ListingMappingRow.max_quantity,
            ListingMappingRow.active)


def _stored_rows(session: Session) -> dict[Listing, tuple[int, MappingRow]]:
    stored: dict[Listing, tuple[int, MappingRow]] = {}
    for row_id, sku, account, item_id, variation, safety, max_q, active in session.execute(
            select(*_COLUMNS)):
        listing = Listing(account, item_id, None if variation == 0 else variation)
        stored[listing] = (row_id, MappingRow(sku=sku, listing=listing, safety_stock=safety,
                                              max_quantity=max_q, active=bool(active)))
    return stored


def _keyed_diff(stored: dict[str, Any], wanted: dict[str, Any]
                ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    added = tuple(sorted(k for k in wanted if k not in stored))
    changed = tuple(sorted(k for k in wanted if k in stored and stored[k] != wanted[k]))
    removed = tuple(sorted(k for k in stored if k not in wanted))
    return added, changed, removed


def _policy_map(policy: PricingPolicy) -> dict[str, dict[str, Any]]:
    return {f"{r['scope']}:{r['key']}" if r["scope"] != "default" else "default":
            {k: v for k, v in r.items() if k not in ("scope", "key")}
            for r in policy_rows(policy)}


def apply_admin_tables(session: Session, table: MappingTable, *,
                       catalog_skus: Iterable[str] = (), policy: PricingPolicy | None = None,
                       accounts: Sequence[Account] = (), dry_run: bool = False) -> TableDiff:
    """Make the stored tables equal to ``table`` (rows and kits), ``catalog_skus``,
    ``policy`` (None: leave the pricing rules alone) and upsert ``accounts`` (accounts not
    listed are kept, with their tokens). Returns the diff; with ``dry_run`` writes nothing."""
    stored = _stored_rows(session)
    wanted = {row.listing: row for row in table.rows}
    added = [row for listing, row in wanted.items() if listing not in stored]
    changed = [(stored[listing][1], row) for listing, row in wanted.items()
               if listing in stored and stored[listing][1] != row]
    removed_ids = [(row_id, row) for listing, (row_id, row) in stored.items()
                   if listing not in wanted]

    mappings = SqlMappings(lambda: session)
    stored_kits = {k.sku: dict(k.components) for k in mappings.kits()}
    wanted_kits = {k.sku: dict(k.components) for k in table.kits}
    kits_added, kits_changed, kits_removed = _keyed_diff(stored_kits, wanted_kits)
    stored_catalog = set(mappings.catalog_skus())
    wanted_catalog = set(catalog_skus)

    pricing: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())
    if policy is not None:
        stored_policy = SqlPrices(lambda: session).policy()
        pricing = _keyed_diff(_policy_map(stored_policy), _policy_map(policy))

    repo = SqlAccounts(lambda: session)
    accounts_added = tuple(sorted(a.name for a in accounts if repo.get(a.name) is None))
    accounts_changed = tuple(sorted(a.name for a in accounts
                                    if (s := repo.get(a.name)) is not None and s != a))

    diff = TableDiff(
        added=tuple(sorted(added, key=_row_key)),
        changed=tuple(sorted(changed, key=lambda pair: _row_key(pair[1]))),
        removed=tuple(sorted((r for _, r in removed_ids), key=_row_key)),
        kits_added=kits_added, kits_changed=kits_changed, kits_removed=kits_removed,
        catalog_added=tuple(sorted(wanted_catalog - stored_catalog)),
        catalog_removed=tuple(sorted(stored_catalog - wanted_catalog)),
        pricing_added=pricing[0], pricing_changed=pricing[1], pricing_removed=pricing[2],
        accounts_added=accounts_added, accounts_changed=accounts_changed)
    if dry_run:
        return diff

    for account in accounts:
        repo.upsert(account)
    ids = [row_id for row_id, _ in removed_ids]
    for i in range(0, len(ids), CHUNK):
        session.execute(delete(ListingMappingRow).where(ListingMappingRow.id.in_(ids[i:i + CHUNK]))
                        .execution_options(synchronize_session=False))
    # Core executemany (not ORM bulk): the ORM splits batches wherever a row's NULLs differ.
    table_ = ListingMappingRow.metadata.tables[ListingMappingRow.__tablename__]
    if changed:
        updates = [{"row_id": stored[new.listing][0], **mapping_values(new)}
                   for _, new in changed]
        stmt = (update(table_).where(table_.c.id == bindparam("row_id"))
                .values({name: bindparam(name) for name in mapping_values(changed[0][1])}))
        for i in range(0, len(updates), CHUNK):
            session.execute(stmt, updates[i:i + CHUNK])
    inserts = [mapping_values(row) for row in added]
    for i in range(0, len(inserts), CHUNK):
        session.execute(table_.insert(), inserts[i:i + CHUNK])
    if kits_added or kits_changed or kits_removed:
        _replace_kits(session, list(table.kits))
    if diff.catalog_added or diff.catalog_removed:
        session.execute(delete(CatalogSkuRow))
        if wanted_catalog:
            session.execute(insert(CatalogSkuRow), [{"sku": s} for s in sorted(wanted_catalog)])
    if policy is not None and any(pricing):
        session.execute(delete(PricingRuleRow))
        session.execute(insert(PricingRuleRow), policy_rows(policy))
    return diff


def _replace_kits(session: Session, kits: list[Kit]) -> None:
    session.execute(delete(KitComponentRow))
    rows = [{"kit_sku": kit.sku, "component_sku": c, "units": n}
            for kit in kits for c, n in kit.components.items()]
    if rows:
        session.execute(insert(KitComponentRow), rows)


def _row_key(row: MappingRow) -> tuple[str, str, str, int]:
    return (row.sku, row.listing.account, row.listing.item_id,
            variation_key(row.listing.variation_id))


def stored_table(session: Session) -> tuple[list[MappingRow], list[Kit], list[str]]:
    """Rows (sorted by sku, listing), kits and catalog SKUs as stored: for ``export``."""
    rows = sorted((row for _, row in _stored_rows(session).values()), key=_row_key)
    mappings = SqlMappings(lambda: session)
    return rows, list(mappings.kits()), mappings.catalog_skus()


@frozen
class StoredTables:
    """The admin's tables as stored: rows (sorted by sku, listing), kits, catalog SKUs and
    accounts."""

    rows: list[MappingRow]
    kits: list[Kit]
    catalog_skus: list[str]
    accounts: list[Account]


class SqlAdminTables:
    """The admin's tables as a whole (``mappings apply`` and ``export``), each call one
    transaction of ``uow``."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._uow = uow

    def stored(self) -> StoredTables:
        with self._uow as uow:
            return self._stored(uow)

    @staticmethod
    def _stored(uow: SqlAlchemyUnitOfWork) -> StoredTables:
        rows, kits, catalog = stored_table(uow.session)
        return StoredTables(rows, kits, catalog, uow.accounts.list())

    def apply(self, load: Callable[[StoredTables], AdminTables], *,
              dry_run: bool) -> TableDiff:
        """Make the stored tables what ``load`` (given the stored ones, to validate against)
        returns, in one transaction: all or nothing. With ``dry_run``, only the diff."""
        with self._uow as uow:
            wanted = load(self._stored(uow))
            diff = apply_admin_tables(uow.session, wanted.table,
                                      catalog_skus=wanted.catalog_skus, policy=wanted.policy,
                                      accounts=wanted.accounts, dry_run=dry_run)
            if diff and not dry_run:
                uow.commit()
        return diff
