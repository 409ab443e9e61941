"""ML's User Products endpoints (ml_api.md §2.5-2.6): the seller's tags, its stores, and a
UP's stock, read with its ``x-version`` and written with it.

A write never goes without the version it read (ML answers 400 ``Missing X-Version
header``); a 409 ``Version mismatch`` is raised as :class:`VersionConflict` for the caller
to re-read and retry. ``meli_facility`` (Full) is never written: only ``seller_warehouse``.
"""

import re
from collections.abc import Sequence
from typing import Any

from adapters.ml_api.transport import MlTransport, response_json
from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceRejected
from connector_core.domain.user_products import MlStore, StoreWrite, UpLocation, UpStock
from connector_core.ports.user_products import VersionConflict

_UP_ID = re.compile(r"^[A-Z]{3}U[0-9]{1,20}$")
_FAMILY_ID = re.compile(r"^[0-9]{1,20}$")
SEARCH_UPS = 20  # UP ids per search
SEARCH_PAGE = 100
SEARCH_OFFSET_MAX = 1000


def _up_path(user_product_id: str) -> str:
    """``/user-products/{id}`` for a UP id only (``MLAU123``): never another endpoint."""
    if not _UP_ID.fullmatch(user_product_id):
        raise MarketplaceRejected(f"user product id {user_product_id!r} refused by the "
                                  f"connector: not an ML UP id", status=400,
                                  error="connector.invalid_id")
    return f"/user-products/{user_product_id}"


def _stock(data: Any, version: str | None, what: str) -> UpStock:
    if version is None or not version.strip().lstrip("-").isdigit():
        raise MarketplaceRejected(f"{what}: ML sent no usable x-version header "
                                  f"({version!r}); the stock cannot be written safely",
                                  status=200, error="unreadable_answer")
    try:
        locations = [UpLocation(type=str(loc["type"]), quantity=int(loc.get("quantity", 0)),
                                store_id=None if loc.get("store_id") is None
                                else str(loc["store_id"]),
                                network_node_id=loc.get("network_node_id"))
                     for loc in data.get("locations") or ()]
        return UpStock(user_product_id=str(data["id"]), version=int(version),
                       locations=locations)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MarketplaceRejected(f"{what}: unreadable answer: {exc!r}", status=200,
                                  error="unreadable_answer") from exc


class MlUserProducts:
    """The :class:`~connector_core.ports.user_products.UserProductsGateway` over the
    ML transport."""

    def __init__(self, transport: MlTransport) -> None:
        self._http = transport

    def seller_tags(self, account: Account) -> list[str]:
        what = f"GET /users/{account.user_id}"
        response = self._http.call(account.name, "GET", f"/users/{int(account.user_id)}", what)
        data = response_json(response, what)
        tags = data.get("tags") if isinstance(data, dict) else None
        return [str(t) for t in tags] if isinstance(tags, list) else []

    def stores(self, account: Account) -> list[MlStore]:
        path = f"/users/{int(account.user_id)}/stores/search"
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what,
                                   params={"tags": "stock_location"})
        data = response_json(response, what)
        found = []
        for store in (data.get("results") or []) if isinstance(data, dict) else []:
            found.append(MlStore(id=str(store.get("id")),
                                 network_node_id=store.get("network_node_id"),
                                 description=str(store.get("description") or ""),
                                 stock_location="stock_location" in (store.get("tags") or [])))
        return found

    def family_user_products(self, account: Account, family_id: str) -> list[str]:
        if not _FAMILY_ID.fullmatch(family_id):
            raise MarketplaceRejected(f"family id {family_id!r} refused by the connector: "
                                      f"not an ML id", status=400, error="connector.invalid_id")
        path = f"/sites/{account.site_id}/user-products-families/{family_id}"
        what = f"GET {path}"
        data = response_json(self._http.call(account.name, "GET", path, what), what)
        ids = data.get("user_products_ids") if isinstance(data, dict) else None
        return [str(i) for i in ids] if isinstance(ids, list) else []

    def items_of_user_products(self, account: Account, user_product_ids: Sequence[str]
                               ) -> list[str]:
        path = f"/users/{int(account.user_id)}/items/search"
        found: list[str] = []
        for start in range(0, len(user_product_ids), SEARCH_UPS):
            batch = [_up_path(u).rsplit("/", 1)[1]
                     for u in user_product_ids[start:start + SEARCH_UPS]]
            offset = 0
            while True:
                what = f"GET {path}?user_product_id=..."
                data = response_json(self._http.call(
                    account.name, "GET", path, what, params={
                        "user_product_id": ",".join(batch), "limit": SEARCH_PAGE,
                        "offset": offset}), what)
                results = [str(i) for i in data.get("results") or []]
                found.extend(results)
                offset += len(results)
                total = int((data.get("paging") or {}).get("total") or 0)
                if not results or offset >= min(total, SEARCH_OFFSET_MAX):
                    break
        return found

    def items_by_sku(self, account: Account, sku: str) -> list[str]:
        path = f"/users/{int(account.user_id)}/items/search"
        what = f"GET {path}?seller_sku=..."
        data = response_json(self._http.call(account.name, "GET", path, what, params={
            "seller_sku": sku, "status": "active", "limit": SEARCH_PAGE}), what)
        return [str(i) for i in data.get("results") or []] if isinstance(data, dict) else []

    def get_stock(self, account: Account, user_product_id: str) -> UpStock:
        path = f"{_up_path(user_product_id)}/stock"
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what)
        return _stock(response_json(response, what), response.headers.get("x-version"), what)

    def put_store_stock(self, account: Account, user_product_id: str,
                        writes: Sequence[StoreWrite], version: int) -> UpStock:
        body = {"locations": [{"store_id": w.store_id, "network_node_id": w.network_node_id,
                               "quantity": w.quantity} for w in writes]}
        return self._put_stock(account, user_product_id, "seller_warehouse", body, version)

    def put_selling_address(self, account: Account, user_product_id: str, quantity: int,
                            version: int) -> UpStock:
        return self._put_stock(account, user_product_id, "selling_address",
                               {"quantity": int(quantity)}, version)

    def _put_stock(self, account: Account, user_product_id: str, kind: str,
                   body: dict[str, Any], version: int) -> UpStock:
        path = f"{_up_path(user_product_id)}/stock/type/{kind}"
        what = f"PUT {path}"
        try:
            response = self._http.call(account.name, "PUT", path, what, json=body,
                                       headers={"x-version": str(int(version))})
        except MarketplaceRejected as exc:
            if exc.status == 409:
                raise VersionConflict(str(exc)) from exc
            raise
        return _stock(response_json(response, what), response.headers.get("x-version"), what)
