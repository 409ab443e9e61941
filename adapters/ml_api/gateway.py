"""``HttpxMercadoLibreGateway``: the core's MarketplaceGateway over one long-lived httpx.Client.

This module knows ML's resources (items, multiget, search with scan, orders with hour-truncated
windows, missed feeds) and turns their JSON into domain objects; how each request is sent
(rate limit, token, timeout, retries) is :mod:`adapters.ml_api.transport`'s business.
"""

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from attrs import evolve

from adapters.ml_api.converter import (
    MlPayloadError,
    notification_to_domain,
    order_to_domain,
    parse_item,
    parse_order,
    structure,
)
from adapters.ml_api.oauth import MlOAuth
from adapters.ml_api.ratelimit import SharedRateLimiter
from adapters.ml_api.transport import MlTransport, response_json
from adapters.ml_api.wire import (
    MlItemSearch,
    MlMissedFeeds,
    MlMultigetEntry,
    MlOrder,
    MlOrderSearch,
)
from connector_core.domain import ids
from connector_core.domain.accounts import Account
from connector_core.domain.errors import (
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceRejected,
    MarketplaceUnavailable,
)
from connector_core.domain.items import ItemUpdate, MarketItem
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import Order

log = logging.getLogger(__name__)
T = TypeVar("T")

MULTIGET_MAX = 20
ITEMS_PAGE = 100
ITEMS_OFFSET_MAX = 1000
ORDERS_PAGE = 50
MISSED_FEEDS_PAGE = 50
MISSED_FEEDS_MAX_PAGES = 40


def serialize_update(update: ItemUpdate) -> dict[str, Any]:
    """The JSON body of ``PUT /items/{id}``: exactly the fields the update sets."""
    body: dict[str, Any] = {}
    if update.status is not None:
        body["status"] = update.status
    if update.variations is not None:
        variations = []
        for v in update.variations:
            entry: dict[str, Any] = {"id": v.id}
            if v.available_quantity is not None:
                entry["available_quantity"] = v.available_quantity
            if v.price is not None:
                entry["price"] = _number(v.price)
            variations.append(entry)
        body["variations"] = variations
    if update.available_quantity is not None:
        body["available_quantity"] = update.available_quantity
    if update.price is not None:
        body["price"] = _number(update.price)
    return body


def _number(value: Any) -> int | float:
    """A Decimal price as the JSON number ML expects (integral prices as ints)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _refused_id(what: str, value: object) -> MarketplaceRejected:
    return MarketplaceRejected(
        f"{what} {value!r} refused by the connector: not an ML id, it would make the URL "
        f"another endpoint", status=400, error="connector.invalid_id")


def _item_path(item_id: str) -> str:
    """``/items/{id}``, for an ML item id only (defence in depth: the entry points check
    ids with :mod:`connector_core.domain.ids`, and an id that slipped past them must not
    become ``/items/../../users/me``)."""
    if not ids.is_item_id(item_id):
        raise _refused_id("item id", item_id)
    return f"/items/{item_id}"


def _order_path(order_id: int) -> str:
    if not ids.is_numeric_id(order_id):
        raise _refused_id("order id", order_id)
    return f"/orders/{int(order_id)}"


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ml_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000-00:00")


class HttpxMercadoLibreGateway:
    """The MarketplaceGateway port on ML's REST API.

    ``client`` has ``base_url`` = the ML API (or the sandbox) and is shared by the process;
    ``oauth`` hands out access tokens; ``limiter`` is shared by every process.
    """

    def __init__(self, client: httpx.Client, oauth: MlOAuth, limiter: SharedRateLimiter, *,
                 application_id: int | None = None,
                 timeout: float = 10.0, max_attempts: int = 6, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self._oauth = oauth
        self._limiter = limiter
        self._http = MlTransport(client, oauth, limiter, timeout=timeout,
                                 max_attempts=max_attempts, backoff_base=backoff_base,
                                 backoff_cap=backoff_cap, sleep=sleep, jitter=jitter)
        self._application_id = application_id
        # items read recently: their variation ids are a last line of defence for rule 7
        self._known: OrderedDict[str, MarketItem] = OrderedDict()
        self._known_lock = threading.Lock()  # one gateway serves every thread of the process

    @property
    def transport(self) -> MlTransport:
        """How this gateway sends requests (shared by the UP endpoints' adapter)."""
        return self._http

    @property
    def retries(self) -> int:
        """Attempts retried so far (metrics, tests)."""
        return self._http.retries

    # --- items ----------------------------------------------------------------------

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        path = _item_path(item_id)
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what,
                                   params={"include_attributes": "all"})
        return self._remember(self._parse(parse_item, response_json(response, what), what))

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        result: dict[str, MarketItem | MarketplaceError] = {}
        unique = []
        for item_id in dict.fromkeys(item_ids):  # a comma in an id would add others
            if ids.is_item_id(item_id):
                unique.append(item_id)
            else:
                result[item_id] = _refused_id("item id", item_id)
        for start in range(0, len(unique), MULTIGET_MAX):
            chunk = unique[start:start + MULTIGET_MAX]
            what = f"GET /items?ids=({len(chunk)} ids)"
            response = self._http.call(
                account.name, "GET", "/items", what,
                params={"ids": ",".join(chunk), "include_attributes": "all"})
            entries = self._parse(lambda d: structure(d, list[MlMultigetEntry], "multiget"),
                                  response_json(response, what), what)
            for item_id, entry in zip(chunk, entries, strict=False):
                result[item_id] = self._multiget_entry(item_id, entry)
            for item_id in chunk[len(entries):]:
                result[item_id] = MarketplaceUnavailable(f"multiget: no entry for {item_id}")
        return result

    def _multiget_entry(self, item_id: str,
                        entry: MlMultigetEntry) -> MarketItem | MarketplaceError:
        body = entry.body or {}
        if entry.code == 200:
            try:
                return self._remember(parse_item(body))
            except MlPayloadError as exc:
                return MarketplaceRejected(str(exc), status=200, error="unreadable_item")
        message = f"GET /items/{item_id} (multiget): HTTP {entry.code} {body.get('error', '')}"
        if entry.code == 404:
            return MarketplaceNotFound(message, error=str(body.get("error") or "not_found"))
        if entry.code == 429 or entry.code >= 500:
            return MarketplaceUnavailable(message, status=entry.code)
        return MarketplaceRejected(message, status=entry.code, error=str(body.get("error", "")))

    def update_item(self, account: Account, update: ItemUpdate) -> MarketItem:
        path = _item_path(update.item_id)
        update = self._check_variations(update)
        what = f"PUT {path}"
        response = self._http.call(account.name, "PUT", path, what,
                                   json=serialize_update(update))
        item = self._parse(parse_item, response_json(response, what), what)
        return self._remember(item, keep_skus=True)

    def _check_variations(self, update: ItemUpdate) -> ItemUpdate:
        """Refuse an update that would make ML delete or misprice variations; return it with
        its variations in the listing's own order (ML takes the list as sent, and its order
        is the order buyers see)."""
        with self._known_lock:
            item = self._known.get(update.item_id)
        if update.variations is None or item is None:
            return update
        missing = {v.id for v in item.variations} - {v.id for v in update.variations}
        if missing:
            raise MarketplaceRejected(
                f"PUT /items/{update.item_id} refused by the connector: it omits variations "
                f"{sorted(missing)}, which ML would delete (rule 7)",
                status=400, error="connector.variations_omitted",
                causes=[f"missing variation id {vid}" for vid in sorted(missing)])
        prices = {v.price for v in update.variations if v.price is not None}
        if len(prices) > 1:
            raise MarketplaceRejected(
                f"PUT /items/{update.item_id} refused by the connector: different prices "
                f"across variations", status=400, error="connector.variation_prices_differ")
        position = {v.id: n for n, v in enumerate(item.variations)}
        ordered = sorted(update.variations, key=lambda v: position.get(v.id, len(position)))
        return evolve(update, variations=tuple(ordered))

    def _remember(self, item: MarketItem, *, keep_skus: bool = False) -> MarketItem:
        """Cache the item; with ``keep_skus`` (a PUT answer, which may be the public view)
        SKUs ML left out are taken from the last full read."""
        with self._known_lock:
            before = self._known.get(item.id)
            if keep_skus and before is not None:
                skus = {v.id: v.seller_sku for v in before.variations}
                variations = tuple(v if v.seller_sku else evolve(v, seller_sku=skus.get(v.id))
                                   for v in item.variations)
                item = evolve(item, seller_sku=item.seller_sku or before.seller_sku,
                              variations=variations)
            self._known[item.id] = item
            self._known.move_to_end(item.id)
            while len(self._known) > 10_000:
                self._known.popitem(last=False)
        return item

    def list_item_ids(self, account: Account) -> Iterator[str]:
        seen: set[str] = set()
        path = f"/users/{account.user_id}/items/search"
        offset = 0
        while True:
            page = self._item_page(account, path, {"offset": offset, "limit": ITEMS_PAGE})
            if page.paging.total > ITEMS_OFFSET_MAX:
                break  # offset paging stops at 1000: start over with a scan
            for item_id in page.results:
                if item_id not in seen:
                    seen.add(item_id)
                    yield item_id
            offset += len(page.results)
            if not page.results or offset >= page.paging.total:
                return
        params: dict[str, Any] = {"search_type": "scan", "limit": ITEMS_PAGE}
        while True:
            page = self._item_page(account, path, params)
            for item_id in page.results:
                if item_id not in seen:
                    seen.add(item_id)
                    yield item_id
            if not page.scroll_id or not page.results:
                return
            params = {"search_type": "scan", "scroll_id": page.scroll_id, "limit": ITEMS_PAGE}

    def _item_page(self, account: Account, path: str, params: dict[str, Any]) -> MlItemSearch:
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what, params=params)
        return self._parse(lambda d: structure(d, MlItemSearch, "items search"),
                           response_json(response, what), what)

    # --- orders ---------------------------------------------------------------------

    def get_order(self, account: Account, order_id: int) -> Order:
        path = _order_path(order_id)
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what)
        if response.status_code == 206:
            log.info("%s: partial answer, missing %s", what,
                     response.headers.get("x-content-missing", "?"))
        return self._parse(lambda d: parse_order(d, account.name),
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
            page = self._parse(lambda d: structure(d, MlOrderSearch, "orders search"),
                               response_json(response, what), what)
            for raw in page.results:
                order = self._parse(lambda d: order_to_domain(structure(d, MlOrder, "order"),
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

    # --- notifications ----------------------------------------------------------------

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
            page = self._parse(lambda d: structure(d, MlMissedFeeds, "missed_feeds"),
                               response_json(response, what), what)
            found.extend(notification_to_domain(m) for m in page.messages)
            if len(page.messages) < MISSED_FEEDS_PAGE:
                break
        return found

    @staticmethod
    def _parse(parse: Callable[[Any], T], data: Any, what: str) -> T:
        try:
            return parse(data)
        except MlPayloadError as exc:
            raise MarketplaceRejected(f"{what}: unreadable answer: {exc}", status=200,
                                      error="unreadable_answer") from exc
