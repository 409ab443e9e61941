"""The User Products cache over SQL (``ml_seller_models``, ``ml_listings``) and the JSON of
an account's stores."""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from adapters.sql.base import Repo, chunks, insert_for
from adapters.sql.rows.user_products import MlListingRow, SellerModelRow
from connector_core.domain.user_products import SellerModel, StoreRef
from connector_core.ports.user_products import KnownItem


def stores_to_json(stores: Sequence[StoreRef]) -> list[dict[str, str]] | None:
    return [{"warehouse": s.warehouse, "store_id": s.store_id,
             "network_node_id": s.network_node_id} for s in stores] or None


def stores_from_json(data: Any) -> tuple[StoreRef, ...]:
    return tuple(StoreRef(d["warehouse"], d["store_id"], d["network_node_id"])
                 for d in data or ())


class SqlUserProducts(Repo):
    def seller_model(self, account: str) -> SellerModel | None:
        row = self.session.get(SellerModelRow, account)
        return None if row is None else SellerModel(
            user_product_seller=row.user_product_seller, multi_origin=row.multi_origin,
            checked_at=row.checked_at)

    def save_seller_model(self, account: str, model: SellerModel) -> None:
        values = {"user_product_seller": model.user_product_seller,
                  "multi_origin": model.multi_origin, "checked_at": model.checked_at}
        stmt = insert_for(self.session, SellerModelRow).values(account=account, **values)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[SellerModelRow.account], set_=values))

    def known_items(self, account: str, item_ids: Collection[str]) -> dict[str, KnownItem]:
        found: dict[str, KnownItem] = {}
        for batch in chunks(sorted(set(item_ids))):
            stmt = select(MlListingRow).where(MlListingRow.account == account,
                                              MlListingRow.item_id.in_(batch))
            found.update((r.item_id, _known(r)) for r in self._all(stmt))
        return found

    def items_of(self, account: str, user_product_id: str) -> list[str]:
        stmt = (select(MlListingRow.item_id)
                .where(MlListingRow.account == account,
                       MlListingRow.user_product_id == user_product_id)
                .order_by(MlListingRow.item_id))
        return list(self.session.scalars(stmt))

    def save_items(self, account: str, items: Sequence[KnownItem], at: datetime) -> None:
        for item in items:
            values = {"user_product_id": item.user_product_id, "sku": item.sku,
                      "closed": item.closed, "migrated_in": item.migrated_in, "seen_at": at}
            stmt = insert_for(self.session, MlListingRow).values(
                account=account, item_id=item.item_id, **values)
            self.session.execute(stmt.on_conflict_do_update(
                index_elements=[MlListingRow.account, MlListingRow.item_id], set_=values))

    def migrated_in(self, account: str, skus: Collection[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for batch in chunks(sorted(set(skus))):
            stmt = (select(MlListingRow)
                    .where(MlListingRow.account == account, MlListingRow.migrated_in,
                           MlListingRow.sku.in_(batch), ~MlListingRow.closed)
                    .order_by(MlListingRow.item_id))
            for row in self._all(stmt):
                found.setdefault(row.sku or "", []).append(row.item_id)
        return found


def _known(row: MlListingRow) -> KnownItem:
    return KnownItem(item_id=row.item_id, user_product_id=row.user_product_id, sku=row.sku,
                     closed=row.closed, migrated_in=row.migrated_in)
