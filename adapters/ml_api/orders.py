"""ML's orders (one by id, or searched by last update in hour-truncated windows) and the
notifications ML could not deliver (``/missed_feeds``)."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.ml_api.converter import (
    notification_to_domain,
    order_to_domain,
    parse_order,
    structure,
)
from adapters.ml_api.transport import MlTransport, parse_answer, refused_id, response_json
from adapters.ml_api.wire import MlMissedFeeds, MlOrder, MlOrderSearch
from connector_core.domain import ids
from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceRejected
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import Order

log = logging.getLogger(__name__)

ORDERS_PAGE = 50
MISSED_FEEDS_PAGE = 50
MISSED_FEEDS_MAX_PAGES = 40


def order_path(order_id: int) -> str:
    if not ids.is_numeric_id(order_id):
        raise refused_id("order id", order_id)
    return f"/orders/{int(order_id)}"


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ml_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000-00:00")


class MlOrders:
    """The orders half of the gateway; ``application_id`` is needed by ``/missed_feeds``."""

    def __init__(self, transport: MlTransport, application_id: int | None) -> None:
        self._http = transport
        self._application_id = application_id

    def get_order(self, account: Account, order_id: int) -> Order:
        path = order_path(order_id)
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what)
        if response.status_code == 206:
            log.info("%s: partial answer, missing %s", what,
                     response.headers.get("x-content-missing", "?"))
        return parse_answer(lambda d: parse_order(d, account.name),
                            response_json(response, what), what)

    def search_orders(self, account: Account, updated_from: datetime,
                      updated_to: datetime | None = None) -> Iterator[Order]:
        """Orders whose ``last_updated`` is in ``[updated_from, updated_to)``.

        ML drops minutes and seconds from the filter, so the request asks for whole hours
        around the window and the answer is trimmed to it.
        """
        params: dict[str, Any] = {
            "seller": account.user_id,
            "order.date_last_updated.from": _ml_time(_hour_floor(updated_from)),
            "sort": "date_asc",
            "limit": ORDERS_PAGE,
        }
        if updated_to is not None:
            upper = _hour_floor(updated_to)
            if upper < updated_to:
                upper += timedelta(hours=1)
            params["order.date_last_updated.to"] = _ml_time(upper)
        offset = 0
        seen: set[int] = set()
        while True:
            what = "GET /orders/search"
            response = self._http.call(account.name, "GET", "/orders/search", what,
                                       params={**params, "offset": offset})
            page = parse_answer(lambda d: structure(d, MlOrderSearch, "orders search"),
                                response_json(response, what), what)
            for raw in page.results:
                order = parse_answer(lambda d: order_to_domain(structure(d, MlOrder, "order"),
                                                               account.name), raw, what)
                if order.id in seen:
                    continue
                seen.add(order.id)
                if order.last_updated >= updated_from and (
                        updated_to is None or order.last_updated < updated_to):
                    yield order
            offset += len(page.results)
            if not page.results or offset >= page.paging.total:
                return

    def missed_notifications(self, account: Account) -> list[Notification]:
        if self._application_id is None:
            raise MarketplaceRejected(
                "/missed_feeds needs the application id (gateway built without "
                "application_id)", status=400, error="connector.not_configured")
        found: list[Notification] = []
        for page_number in range(MISSED_FEEDS_MAX_PAGES):
            what = "GET /missed_feeds"
            response = self._http.call(
                account.name, "GET", "/missed_feeds", what,
                params={"app_id": self._application_id,
                        "offset": page_number * MISSED_FEEDS_PAGE, "limit": MISSED_FEEDS_PAGE})
            page = parse_answer(lambda d: structure(d, MlMissedFeeds, "missed_feeds"),
                                response_json(response, what), what)
            found.extend(notification_to_domain(m) for m in page.messages)
            if len(page.messages) < MISSED_FEEDS_PAGE:
                break
        return found
