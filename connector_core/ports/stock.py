"""ERP stock reports and the holds of ML orders."""

from collections.abc import Collection, Iterable
from typing import Protocol

from connector_core.domain.stock import Hold, StockReport


class StockRepository(Protocol):
    """ERP stock reports and the holds of ML orders.

    ``save_report_if_newer`` is atomic: of two concurrent reports for the same (sku, warehouse)
    the newer ``as_of`` wins whatever order they commit in. Hold writes for an order happen
    only while its order row is locked (see :class:`OrderRepository`), so holds are never
    written twice for the same order concurrently.
    """

    def save_report_if_newer(self, report: StockReport) -> bool: ...

    def reports_for(self, skus: Collection[str]) -> list[StockReport]: ...

    def holds_for_skus(self, skus: Collection[str]) -> list[Hold]: ...

    def holds_for_order(self, order_id: int) -> list[Hold]: ...

    def put_holds(self, holds: Iterable[Hold]) -> None:
        """Insert or replace by ``(order_id, line, sku)``."""
        ...

    def delete_holds(self, keys: Iterable[tuple[int, str, str]]) -> None: ...
