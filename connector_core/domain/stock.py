"""ERP stock reports, holds for ML orders, and the published quantity of CONTRACT §1 rule 1.

``free(sku)`` for an account is the sum of the ERP's latest reports for the warehouses that
account sells from, minus the units held by ML orders the ERP has not yet accounted for. A
kit's free quantity is the minimum over its components of ``floor(free(component) / units)``.
Every listing of a SKU publishes ``clamp(0, max_quantity, free(sku) - safety_stock)``.

When does a hold stop counting? The ERP says it has *accounted* for an order at some instant
``accounted_at``; from then on its stock reports include the order. A report dated before that
instant may not include it yet, so the hold keeps counting until the SKU has a report dated at
or after ``accounted_at``. This way neither order of the two ERP calls ("accounted" then the
stock report, or the report then "accounted") publishes more than the shelf has, and once both
have arrived the order is never subtracted twice.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from attrs import field, frozen, validators

from connector_core.domain._validators import aware, aware_or_none
from connector_core.domain.mapping import KitCatalog, MappingRow


@frozen
class StockReport:
    """The ERP's free-to-sell quantity of one SKU in one warehouse, as of ``as_of``.

    ``quantity`` may be negative (an ERP that already oversold); published figures clamp at 0.
    """

    sku: str = field(validator=validators.min_len(1))
    warehouse: str = field(validator=validators.min_len(1))
    quantity: int = field(validator=validators.instance_of(int))
    as_of: datetime = field(validator=aware)

    def supersedes(self, stored: "StockReport | None") -> bool:
        """True when this report should replace ``stored`` (strictly newer; equal is a replay)."""
        return stored is None or self.as_of > stored.as_of


@frozen
class Hold:
    """Units of a plain SKU reserved by one line of one ML order.

    Keyed by ``(order_id, line, sku)``: a kit line holds each of its components separately.
    ``origin_node`` is the ML network node the sale ships from, when ML says (multi-origin
    stock: the hold counts against that warehouse only; unknown, against all of them).
    """

    order_id: int
    line: str
    sku: str
    units: int = field(validator=validators.ge(1))
    accounted_at: datetime | None = field(default=None, validator=aware_or_none)
    origin_node: str | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.order_id, self.line, self.sku)

    def counts(self, latest_report_at: datetime | None) -> bool:
        """Whether the hold is still subtracted, given the SKU's newest ERP report time."""
        if self.accounted_at is None or latest_report_at is None:
            return True
        return latest_report_at < self.accounted_at


def clamp_published(free: int, safety_stock: int, max_quantity: int | None) -> int:
    figure = max(0, free - safety_stock)
    return figure if max_quantity is None else min(figure, max_quantity)


class StockView:
    """A consistent snapshot of reports and holds for some SKUs, answering rule 1.

    Build it from everything the repositories hold for the plain SKUs involved; SKUs with no
    report at all are *unknown* and yield ``None`` (nothing is published for them, rather than
    zeroing a listing because the ERP has not spoken yet).
    """

    def __init__(self, reports: Iterable[StockReport], holds: Iterable[Hold],
                 kits: KitCatalog) -> None:
        self._kits = kits
        self._reports: dict[str, list[StockReport]] = defaultdict(list)
        self._latest: dict[str, datetime] = {}
        for report in reports:
            self._reports[report.sku].append(report)
            if report.sku not in self._latest or report.as_of > self._latest[report.sku]:
                self._latest[report.sku] = report.as_of
        self._held: dict[str, int] = defaultdict(int)
        for hold in self.split_holds(holds)[0]:
            self._held[hold.sku] += hold.units

    def split_holds(self, holds: Iterable[Hold]) -> tuple[list[Hold], list[Hold]]:
        """``(still counting, settled)``: a hold stops counting once the ERP reported its
        SKU at or after the order was accounted (its figures include the sale)."""
        counting: list[Hold] = []
        settled: list[Hold] = []
        for hold in holds:
            (counting if hold.counts(self._latest.get(hold.sku)) else settled).append(hold)
        return counting, settled

    def reports(self, sku: str) -> list[StockReport]:
        """The SKU's latest report from every warehouse (all of them, sold from or not)."""
        return list(self._reports.get(sku, ()))

    def latest_report_at(self, sku: str) -> datetime | None:
        return self._latest.get(sku)

    def held(self, sku: str) -> int:
        return self._held.get(sku, 0)

    def reported(self, sku: str, warehouses: frozenset[str] | None) -> int | None:
        reports = [r for r in self._reports.get(sku, ())
                   if warehouses is None or r.warehouse in warehouses]
        if not reports:
            return None
        return sum(r.quantity for r in reports)

    def free(self, sku: str, warehouses: frozenset[str] | None = None) -> int | None:
        """Rule 1's ``free(sku)`` for an account selling from ``warehouses`` (None = all)."""
        kit = self._kits.get(sku)
        if kit is None:
            reported = self.reported(sku, warehouses)
            return None if reported is None else reported - self.held(sku)
        figures = []
        for component, units in kit.components.items():
            free = self.free(component, warehouses)
            if free is None:
                return None
            figures.append(free // units)
        return min(figures)

    def published(self, row: MappingRow, warehouses: frozenset[str] | None = None) -> int | None:
        free = self.free(row.sku, warehouses)
        if free is None:
            return None
        return clamp_published(free, row.safety_stock, row.max_quantity)


