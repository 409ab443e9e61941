"""The applied mapping table."""

from collections.abc import Collection
from typing import Protocol

from connector_core.domain.mapping import KitCatalog, Listing, MappingRow


class MappingRepository(Protocol):
    """The applied mapping table, read by SKU or listing without scanning the table."""

    def kits(self) -> KitCatalog: ...

    def kits_under(self, skus: Collection[str]) -> KitCatalog:
        """The kits among ``skus`` and, through them, every kit they are made of: what a
        push's figures and cost need (rule 1 reads a kit downwards), without the whole kit
        table. Equal to ``kits()`` restricted to those kits."""
        ...

    def rows_for_skus(self, skus: Collection[str]) -> list[MappingRow]: ...

    def rows_for_item(self, account: str, item_id: str) -> list[MappingRow]: ...

    def row_for_listing(self, listing: Listing) -> MappingRow | None: ...

    def items(self, account: str | None = None) -> list[tuple[str, str]]:
        """Every mapped ``(account, item_id)``, for pushing everything."""
        ...
