"""The Python hooks of CONTRACT §6, for an ERP module running in the same process.

Example (an Odoo addon; see ``docs/odoo.md`` for the full sketch)::

    bridge = config.bootstrap.build(settings).bridge
    bridge.stock_changed("SKU-1", 12, warehouse="WH")
    bridge.price_changed("SKU-1", cost=100, price=180)
    bridge.order_accounted(2000003508419013)
    page = bridge.events(after=last_cursor)
    labels = bridge.shipment_labels([40531399184], "pdf")   # .content, .content_type
    bridge.answer_question(13000000001, "Sí, hay stock.")
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from attrs import frozen

from connector_core.domain.feed import FeedEvent
from connector_core.domain.inputs import shown
from connector_core.domain.limits import BIGINT_MAX
from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.clock import Clock
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.order_accounted import AccountedResult, order_accounted
from connector_core.services.prices_changed import PriceChangeResult, erp_price_changed
from connector_core.services.stock_changed import StockChangeResult, erp_stock_changed
from erp_bridge.after_sale import AfterSaleHooks
from erp_bridge.payloads import (
    DEFAULT_WAREHOUSE,
    invalid,
    parse_instant,
    parse_order_id,
    parse_prices,
    parse_stock,
)

MAX_PAGE = 500


@frozen
class EventPage:
    events: tuple[FeedEvent, ...]
    next: int


class ErpBridge(AfterSaleHooks):
    """The ERP's side of the connector. ``jobs_committed`` is called after each write that
    committed jobs (it wakes the in-process dispatcher; it does nothing under RQ);
    ``after_sale`` gives the ML gateway the label and answer hooks call."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock,
                 jobs_committed: Callable[[], object] = lambda: None, *,
                 push_delay_seconds: float = 0.0,
                 after_sale: Callable[[], AfterSaleGateway] | None = None) -> None:
        self._uow = uow_factory
        self._after_sale = after_sale
        self._clock = clock
        self._jobs_committed = jobs_committed
        self._push_delay = timedelta(seconds=push_delay_seconds)

    def _push_not_before(self) -> datetime | None:
        """Stock and price pushes wait out the coalescing window (``push_delay_seconds``)."""
        return self._clock.now() + self._push_delay if self._push_delay else None

    def stock_changed(self, sku: str | None = None, quantity: int | None = None,
                      warehouse: str = DEFAULT_WAREHOUSE, as_of: datetime | str | None = None,
                      *, updates: Sequence[dict[str, Any]] | None = None) -> StockChangeResult:
        """One SKU's free quantity in a warehouse, or a batch of ``updates`` dicts."""
        body: dict[str, Any] = ({"updates": list(updates)} if updates is not None else
                                {"sku": sku, "quantity": quantity, "warehouse": warehouse,
                                 "as_of": as_of})
        return self.stock_changed_json(body)

    def stock_changed_json(self, body: Any) -> StockChangeResult:
        reports = parse_stock(body, self._clock.now())
        result = erp_stock_changed(reports, uow=self._uow(),
                                   push_not_before=self._push_not_before())
        self._jobs_committed()
        return result

    def price_changed(self, sku: str, cost: Decimal | float | None = None,
                      price: Decimal | float | None = None,
                      as_of: datetime | str | None = None) -> PriceChangeResult:
        body = {"sku": sku, "cost": None if cost is None else str(cost),
                "price": None if price is None else str(price), "as_of": as_of}
        return self.price_changed_json(body)

    def price_changed_json(self, body: Any) -> PriceChangeResult:
        prices = parse_prices(body, self._clock.now())
        result = erp_price_changed(prices, uow=self._uow(),
                                   push_not_before=self._push_not_before())
        self._jobs_committed()
        return result

    def order_accounted(self, order_id: int | str,
                        as_of: datetime | str | None = None) -> AccountedResult:
        """The ERP has the order and its stock move; ``as_of`` is when (default: now)."""
        at = parse_instant(as_of, "as_of", self._clock.now())
        result = order_accounted(parse_order_id(order_id), at, uow=self._uow())
        self._jobs_committed()
        return result

    def events(self, after: int = 0, limit: int = 100) -> EventPage:
        """Events with a cursor above ``after``, oldest first; ``next`` is the cursor to
        pass next time (unchanged when there is nothing new)."""
        if isinstance(after, bool) or not isinstance(after, int) or \
                not 0 <= after <= BIGINT_MAX:
            raise invalid("after", f"expected a cursor from 0 to {BIGINT_MAX}, "
                                   f"got {shown(after)}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise invalid("limit", f"expected 1..{MAX_PAGE}, got {shown(limit)}")
        uow = self._uow()
        with uow:
            events = uow.erp_feed.read(after, limit)
        last = max((e.id for e in events if e.id is not None), default=after)
        return EventPage(tuple(events), last)
