"""Ports of the User Products flows (ml_api.md §2.5-2.6): the cache of what ML says about
sellers and items, and ML's UP endpoints. Contracts as in :mod:`connector_core.ports`."""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from attrs import frozen

from connector_core.domain.accounts import Account
from connector_core.domain.user_products import MlStore, SellerModel, StoreWrite, UpStock


@frozen
class KnownItem:
    """An item as last read from ML: its UP, SKU, and whether it is closed or was made by a
    UPtin migration (``variations_migration_uptin``)."""

    item_id: str
    user_product_id: str | None
    sku: str | None = None
    closed: bool = False
    migrated_in: bool = False


class UserProductRepository(Protocol):
    """Reached through the unit of work (``uow.user_products``)."""

    def seller_model(self, account: str) -> SellerModel | None: ...

    def save_seller_model(self, account: str, model: SellerModel) -> None: ...

    def known_items(self, account: str, item_ids: Collection[str]) -> dict[str, KnownItem]:
        """What was last read of those items (absent: never read)."""
        ...

    def items_of(self, account: str, user_product_id: str) -> list[str]:
        """Every known item of the UP (open or closed), sorted."""
        ...

    def save_items(self, account: str, items: Sequence[KnownItem], at: datetime) -> None:
        """Insert or replace by ``(account, item_id)``."""
        ...

    def migrated_in(self, account: str, skus: Collection[str]) -> dict[str, list[str]]:
        """SKU -> open items made by a migration that sell it."""
        ...


class VersionConflict(Exception):
    """409 ``Version mismatch``: the UP's stock changed since it was read."""


class UserProductsGateway(Protocol):
    """ML's UP endpoints. Errors as :class:`~connector_core.ports.MarketplaceGateway`; a
    stale ``x-version`` raises :class:`VersionConflict`."""

    def seller_tags(self, account: Account) -> list[str]:
        """``GET /users/{id}``'s ``tags``."""
        ...

    def stores(self, account: Account) -> list[MlStore]:
        """``GET /users/{id}/stores/search?tags=stock_location``."""
        ...

    def family_user_products(self, account: Account, family_id: str) -> list[str]:
        """``GET /sites/{site}/user-products-families/{id}``'s ``user_products_ids``."""
        ...

    def items_of_user_products(self, account: Account, user_product_ids: Sequence[str]
                               ) -> list[str]:
        """``GET /users/{id}/items/search?user_product_id=A,B`` (every page)."""
        ...

    def items_by_sku(self, account: Account, sku: str) -> list[str]:
        """The seller's active items whose SELLER_SKU is ``sku`` (first page)."""
        ...

    def get_stock(self, account: Account, user_product_id: str) -> UpStock:
        """``GET /user-products/{id}/stock`` with its ``x-version``."""
        ...

    def put_store_stock(self, account: Account, user_product_id: str,
                        writes: Sequence[StoreWrite], version: int) -> UpStock:
        """``PUT .../stock/type/seller_warehouse`` with ``x-version: version``."""
        ...

    def put_selling_address(self, account: Account, user_product_id: str, quantity: int,
                            version: int) -> UpStock:
        """``PUT .../stock/type/selling_address`` ``{quantity}`` with ``x-version``."""
        ...

