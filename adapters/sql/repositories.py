"""The repository ports over one SQLAlchemy session, translating rows <-> domain objects.

Writes that must be atomic under concurrency are single statements (``INSERT ... ON
CONFLICT``), never read-then-write; see each method. Lookups go through indexes: SKU
(``ix_mapping_rows_sku``, the primary keys of ``stock_reports``/``holds`` and ``ix_holds_sku``),
listing (``uq_mapping_rows_listing``), order id (primary keys).
"""

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_

from adapters.serialization import order_from_json, order_to_json
from adapters.sql.base import (
    Repo,
    chunks,
    delete_batch,
    insert_for,
    variation_from_key,
    variation_key,
)
from adapters.sql.rows.accounts import AccountRow
from adapters.sql.rows.catalog import CatalogSkuRow, KitComponentRow, ListingMappingRow
from adapters.sql.rows.events import AuditRow
from adapters.sql.rows.jobs import CheckpointRow
from adapters.sql.rows.stock import HoldRow, OrderRow, StockReportRow
from adapters.sql.user_products import stores_from_json, stores_to_json
from connector_core.domain.accounts import Account
from connector_core.domain.audit import AuditEntry, AuditOutcome
from connector_core.domain.mapping import Kit, KitCatalog, Listing, MappingRow
from connector_core.domain.orders import ErpEventType, OrderRecord
from connector_core.domain.stock import Hold, StockReport

# --- accounts ---------------------------------------------------------------------------

def account_from_row(row: AccountRow) -> Account:
    return Account(name=row.name, user_id=row.user_id, site_id=row.site_id,
                   warehouses=None if row.warehouses is None else frozenset(row.warehouses),
                   stores=stores_from_json(row.stores))


class SqlAccounts(Repo):
    def get(self, name: str) -> Account | None:
        row = self.session.get(AccountRow, name)
        return None if row is None else account_from_row(row)

    def by_user_id(self, user_id: int) -> Account | None:
        rows = self._all(select(AccountRow).where(AccountRow.user_id == user_id))
        return account_from_row(rows[0]) if rows else None

    def list(self) -> list[Account]:
        rows = self._all(select(AccountRow).order_by(AccountRow.name))
        return [account_from_row(r) for r in rows]

    def upsert(self, account: Account) -> None:
        """Create the account or update its user id, site and warehouses (tokens untouched)."""
        warehouses = None if account.warehouses is None else sorted(account.warehouses)
        stmt = insert_for(self.session, AccountRow).values(
            name=account.name, user_id=account.user_id, site_id=account.site_id,
            warehouses=warehouses, stores=stores_to_json(account.stores), token_scope="")
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[AccountRow.name],
            set_={"user_id": stmt.excluded.user_id, "site_id": stmt.excluded.site_id,
                  "warehouses": stmt.excluded.warehouses, "stores": stmt.excluded.stores}))


# --- mappings ---------------------------------------------------------------------------

def mapping_from_row(row: ListingMappingRow) -> MappingRow:
    listing = Listing(row.account, row.item_id, variation_from_key(row.variation_id))
    return MappingRow(sku=row.sku, listing=listing,
                      safety_stock=row.safety_stock, max_quantity=row.max_quantity,
                      active=row.active)


def mapping_values(row: MappingRow) -> dict[str, Any]:
    return {"sku": row.sku, "account": row.listing.account, "item_id": row.listing.item_id,
            "variation_id": variation_key(row.listing.variation_id),
            "safety_stock": row.safety_stock, "max_quantity": row.max_quantity,
            "active": row.active}


def _mapping_order() -> tuple[Any, ...]:
    return (ListingMappingRow.sku, ListingMappingRow.account, ListingMappingRow.item_id,
            ListingMappingRow.variation_id)


class SqlMappings(Repo):
    def kits(self) -> KitCatalog:
        components: dict[str, dict[str, int]] = {}
        # plain columns, not ORM objects: every push reads the whole kit table
        for kit_sku, component_sku, units in self.session.execute(select(
                KitComponentRow.kit_sku, KitComponentRow.component_sku, KitComponentRow.units)):
            components.setdefault(kit_sku, {})[component_sku] = units
        return KitCatalog(Kit(sku, parts) for sku, parts in sorted(components.items()))

    def kits_under(self, skus: Collection[str]) -> KitCatalog:
        components: dict[str, dict[str, int]] = {}
        frontier, seen = set(skus), set(skus)
        while frontier:  # one query per level of nesting (a plain SKU: one empty answer)
            found: set[str] = set()
            for batch in chunks(sorted(frontier)):
                for kit_sku, component_sku, units in self.session.execute(
                        select(KitComponentRow.kit_sku, KitComponentRow.component_sku,
                               KitComponentRow.units)
                        .where(KitComponentRow.kit_sku.in_(batch))):
                    components.setdefault(kit_sku, {})[component_sku] = units
                    found.add(component_sku)
            frontier = found - seen
            seen |= found
        return KitCatalog(Kit(sku, parts) for sku, parts in sorted(components.items()))

    def rows_for_skus(self, skus: Collection[str]) -> list[MappingRow]:
        found: list[MappingRow] = []
        for batch in chunks(sorted(set(skus))):
            stmt = select(ListingMappingRow).where(ListingMappingRow.sku.in_(batch))
            found.extend(mapping_from_row(r) for r in self._all(stmt.order_by(*_mapping_order())))
        return found

    def rows_for_item(self, account: str, item_id: str) -> list[MappingRow]:
        stmt = (select(ListingMappingRow)
                .where(ListingMappingRow.account == account, ListingMappingRow.item_id == item_id)
                .order_by(ListingMappingRow.variation_id))
        return [mapping_from_row(r) for r in self._all(stmt)]

    def row_for_listing(self, listing: Listing) -> MappingRow | None:
        stmt = select(ListingMappingRow).where(
            ListingMappingRow.account == listing.account,
            ListingMappingRow.item_id == listing.item_id,
            ListingMappingRow.variation_id == variation_key(listing.variation_id))
        rows = self._all(stmt)
        return mapping_from_row(rows[0]) if rows else None

    def items(self, account: str | None = None) -> list[tuple[str, str]]:
        stmt = select(ListingMappingRow.account, ListingMappingRow.item_id).distinct()
        if account is not None:
            stmt = stmt.where(ListingMappingRow.account == account)
        return sorted((a, i) for a, i in self.session.execute(stmt))

    # -- the admin's side (``mappings apply`` / ``export``) ------------------------------

    def all_rows(self) -> list[MappingRow]:
        stmt = select(ListingMappingRow).order_by(*_mapping_order())
        return [mapping_from_row(r) for r in self._all(stmt)]

    def catalog_skus(self) -> list[str]:
        return sorted(self.session.scalars(select(CatalogSkuRow.sku)))


# --- stock ------------------------------------------------------------------------------

def _hold_from_row(row: HoldRow) -> Hold:
    return Hold(order_id=row.order_id, line=row.line, sku=row.sku, units=row.units,
                accounted_at=row.accounted_at, origin_node=row.origin_node)


class SqlStock(Repo):
    def save_report_if_newer(self, report: StockReport) -> bool:
        """One statement: insert, or update only if strictly newer (concurrency-safe)."""
        stmt = insert_for(self.session, StockReportRow).values(
            sku=report.sku, warehouse=report.warehouse, quantity=report.quantity,
            as_of=report.as_of)
        stmt = stmt.on_conflict_do_update(
            index_elements=[StockReportRow.sku, StockReportRow.warehouse],
            set_={"quantity": stmt.excluded.quantity, "as_of": stmt.excluded.as_of},
            where=StockReportRow.as_of < stmt.excluded.as_of,
        ).returning(StockReportRow.sku)
        return self.session.execute(stmt).first() is not None

    def reports_for(self, skus: Collection[str]) -> list[StockReport]:
        found: list[Any] = []
        for batch in chunks(sorted(set(skus))):
            stmt = (select(StockReportRow).where(StockReportRow.sku.in_(batch))
                    .order_by(StockReportRow.sku, StockReportRow.warehouse))
            found.extend(StockReport(sku=r.sku, warehouse=r.warehouse, quantity=r.quantity,
                                     as_of=r.as_of) for r in self._all(stmt))
        return found

    def holds_for_skus(self, skus: Collection[str]) -> list[Hold]:
        found: list[Any] = []
        for batch in chunks(sorted(set(skus))):
            stmt = (select(HoldRow).where(HoldRow.sku.in_(batch))
                    .order_by(HoldRow.order_id, HoldRow.line, HoldRow.sku))
            found.extend(_hold_from_row(r) for r in self._all(stmt))
        return found

    def holds_for_order(self, order_id: int) -> list[Hold]:
        stmt = (select(HoldRow).where(HoldRow.order_id == order_id)
                .order_by(HoldRow.line, HoldRow.sku))
        return [_hold_from_row(r) for r in self._all(stmt)]

    def put_holds(self, holds: Iterable[Hold]) -> None:
        for hold in holds:
            stmt = insert_for(self.session, HoldRow).values(
                order_id=hold.order_id, line=hold.line, sku=hold.sku, units=hold.units,
                accounted_at=hold.accounted_at, origin_node=hold.origin_node)
            self.session.execute(stmt.on_conflict_do_update(
                index_elements=[HoldRow.order_id, HoldRow.line, HoldRow.sku],
                set_={"units": stmt.excluded.units, "accounted_at": stmt.excluded.accounted_at,
                      "origin_node": stmt.excluded.origin_node}))

    def delete_holds(self, keys: Iterable[tuple[int, str, str]]) -> None:
        for batch in chunks(sorted(set(keys))):
            self.session.execute(
                delete(HoldRow)
                .where(tuple_(HoldRow.order_id, HoldRow.line, HoldRow.sku).in_(batch))
                .execution_options(synchronize_session=False))


# --- orders -----------------------------------------------------------------------------

def _emitted(text: str) -> frozenset[ErpEventType]:
    return frozenset(ErpEventType(t) for t in text.split(",") if t)


class SqlOrders(Repo):
    def get(self, order_id: int) -> OrderRecord | None:
        """Lock the order id's row for the rest of the unit of work (creating a placeholder
        row if there is none, so a concurrent first delivery waits too)."""
        row = self._locked(order_id)
        if row is None:
            self.session.execute(insert_for(self.session, OrderRow)
                                 .values(order_id=order_id, emitted="")
                                 .on_conflict_do_nothing(index_elements=[OrderRow.order_id]))
            row = self._locked(order_id)
        assert row is not None
        if row.payload is None and row.accounted_at is None and not row.emitted:
            return None
        return OrderRecord(order_id=row.order_id,
                           order=None if row.payload is None else order_from_json(row.payload),
                           accounted_at=row.accounted_at, emitted=_emitted(row.emitted))

    def _locked(self, order_id: int) -> OrderRow | None:
        stmt = select(OrderRow).where(OrderRow.order_id == order_id).with_for_update()
        rows = self._all(stmt)
        return rows[0] if rows else None

    def save(self, record: OrderRecord) -> None:
        order = record.order
        values = {
            "order_id": record.order_id,
            "account": None if order is None else order.account,
            "status": None if order is None else order.status,
            "last_updated": None if order is None else order.last_updated,
            "payload": None if order is None else order_to_json(order),
            "accounted_at": record.accounted_at,
            "emitted": ",".join(sorted(e.value for e in record.emitted)),
        }
        stmt = insert_for(self.session, OrderRow).values(**values)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[OrderRow.order_id],
            set_={k: getattr(stmt.excluded, k) for k in values if k != "order_id"}))


# --- audit ------------------------------------------------------------------------------

class SqlAudit(Repo):
    def record(self, entry: AuditEntry) -> None:
        self.session.execute(insert_for(self.session, AuditRow).values(
            at=entry.at, account=entry.account, item_id=entry.item_id, action=entry.action,
            outcome=entry.outcome.value, reason=entry.reason, before=entry.before,
            after=entry.after, response=entry.response))

    def purge(self, before: datetime, limit: int) -> int:
        """Retention: oldest first, through ``ix_audit_log_at``."""
        return delete_batch(self.session, AuditRow, key=AuditRow.id, where=[AuditRow.at < before],
                            order_by=[AuditRow.at, AuditRow.id], limit=limit)

    def entries(self, account: str | None = None, item_id: str | None = None,
                limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        stmt = select(AuditRow)
        if account is not None:
            stmt = stmt.where(AuditRow.account == account)
        if item_id is not None:
            stmt = stmt.where(AuditRow.item_id == item_id)
        stmt = stmt.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        return [AuditEntry(at=r.at, account=r.account, item_id=r.item_id, action=r.action,
                           outcome=AuditOutcome(r.outcome), reason=r.reason, before=r.before,
                           after=r.after, response=r.response) for r in self._all(stmt)]


# --- checkpoints ------------------------------------------------------------------------

class SqlCheckpoints(Repo):
    def get(self, account: str, name: str) -> datetime | None:
        rows = self._all(select(CheckpointRow).where(CheckpointRow.account == account,
                                                     CheckpointRow.name == name))
        return rows[0].at if rows else None

    def set(self, account: str, name: str, at: datetime) -> None:
        stmt = insert_for(self.session, CheckpointRow).values(account=account, name=name, at=at)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[CheckpointRow.account, CheckpointRow.name],
            set_={"at": stmt.excluded.at}))

