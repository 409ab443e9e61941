"""ML's items: read one, read many (multiget), list an account's ids (offset paging, then a
scan past 1000), and the ``PUT`` that publishes stock and prices.

The items read recently are kept: their variation ids are a last line of defence for rule 7
(an update that omits a variation, which ML would delete, is refused here).
"""

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from attrs import evolve

from adapters.ml_api.converter import MlPayloadError, parse_item, structure
from adapters.ml_api.transport import MlTransport, parse_answer, refused_id, response_json
from adapters.ml_api.wire import MlItemSearch, MlMultigetEntry
from connector_core.domain import ids
from connector_core.domain.accounts import Account
from connector_core.domain.errors import (
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceRejected,
    MarketplaceUnavailable,
)
from connector_core.domain.items import ItemUpdate, MarketItem

MULTIGET_MAX = 20
ITEMS_PAGE = 100
ITEMS_OFFSET_MAX = 1000
KNOWN_ITEMS_MAX = 10_000


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


def item_path(item_id: str) -> str:
    """``/items/{id}``, for an ML item id only (defence in depth: the entry points check
    ids with :mod:`connector_core.domain.ids`, and an id that slipped past them must not
    become ``/items/../../users/me``)."""
    if not ids.is_item_id(item_id):
        raise refused_id("item id", item_id)
    return f"/items/{item_id}"


class MlItems:
    """The items half of the gateway, over the process's :class:`MlTransport`."""

    def __init__(self, transport: MlTransport) -> None:
        self._http = transport
        self._known: OrderedDict[str, MarketItem] = OrderedDict()
        self._known_lock = threading.Lock()  # one gateway serves every thread of the process

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        path = item_path(item_id)
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what,
                                   params={"include_attributes": "all"})
        return self._remember(parse_answer(parse_item, response_json(response, what), what))

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        result: dict[str, MarketItem | MarketplaceError] = {}
        unique = []
        for item_id in dict.fromkeys(item_ids):  # a comma in an id would add others
            if ids.is_item_id(item_id):
                unique.append(item_id)
            else:
                result[item_id] = refused_id("item id", item_id)
        for start in range(0, len(unique), MULTIGET_MAX):
            chunk = unique[start:start + MULTIGET_MAX]
            what = f"GET /items?ids=({len(chunk)} ids)"
            response = self._http.call(
                account.name, "GET", "/items", what,
                params={"ids": ",".join(chunk), "include_attributes": "all"})
            entries = parse_answer(lambda d: structure(d, list[MlMultigetEntry], "multiget"),
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
        path = item_path(update.item_id)
        update = self._check_variations(update)
        what = f"PUT {path}"
        response = self._http.call(account.name, "PUT", path, what,
                                   json=serialize_update(update))
        item = parse_answer(parse_item, response_json(response, what), what)
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
            while len(self._known) > KNOWN_ITEMS_MAX:
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
        return parse_answer(lambda d: structure(d, MlItemSearch, "items search"),
                            response_json(response, what), what)
