"""The sandbox's world: sellers, tokens, items, orders, notifications, and ML's rules on them.

Everything lives in memory behind one lock; :mod:`ml_sandbox.app` only translates HTTP. The
rules follow ``ml_api.md`` §8 (emulator checklist): rotating single-use refresh tokens,
expiring access tokens, seller-only fields hidden without ``include_attributes=all``, the
variations deletion and equal-price rules, quantity 0 pausing an item as ``out_of_stock``,
closed items immutable, orders decrementing and cancellations restoring listing stock.
"""

import base64
import copy
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ml_sandbox.errors import (
    MlApiError,
    bad_request,
    forbidden,
    invalid_grant,
    invalid_token,
    not_found,
    validation_error,
)

ML_ZONE = timezone(timedelta(hours=-4))  # ML renders dates with -04:00 offsets
DEFAULT_TOKEN_TTL = 21600


def ml_time(moment: datetime) -> str:
    return moment.astimezone(ML_ZONE).isoformat(timespec="milliseconds")


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace(" ", "+"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


class SandboxState:
    """All the sandbox knows; every public method takes the lock."""

    def __init__(self, *, client_id: str = "sandbox-app", client_secret: str = "sandbox-secret",
                 application_id: int = 5503910054141466, redirect_uri: str | None = None,
                 token_ttl: int = DEFAULT_TOKEN_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.application_id = application_id
        self.redirect_uri = redirect_uri
        self.token_ttl = token_ttl
        self.sellers: dict[int, dict[str, Any]] = {}
        self.access: dict[str, tuple[int, float]] = {}
        self.refresh_tokens: dict[int, str] = {}  # the only refresh token valid per user
        self.codes: dict[str, tuple[int, str | None]] = {}  # code -> (user, PKCE challenge)
        self.pkce = False  # the app has "use PKCE" ticked
        self.items: dict[str, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.next_order_id = 2000003508419013
        self.next_variation_id = 180000000001
        self.scrolls: dict[str, tuple[list[str], float]] = {}
        self.missed: list[dict[str, Any]] = []
        self.deleted_variations: list[dict[str, Any]] = []
        self.grants: list[dict[str, Any]] = []
        self.callback_url: str | None = None
        self.partial_orders = False
        self.notify_items = False
        self.orders_search_max_limit = 50

    # --- time ---------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # --- seeding ------------------------------------------------------------------

    def seed(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add sellers, items and tokens; returns the tokens issued per user id."""
        with self.lock:
            app = data.get("app") or {}
            self.client_id = str(app.get("client_id", self.client_id))
            self.client_secret = str(app.get("client_secret", self.client_secret))
            self.application_id = int(app.get("application_id", self.application_id))
            self.redirect_uri = app.get("redirect_uri", self.redirect_uri)
            self.pkce = bool(app.get("pkce", self.pkce))
            for seller in data.get("sellers", []):
                user_id = int(seller["id"])
                self.sellers[user_id] = {"id": user_id,
                                         "nickname": seller.get("nickname", f"SELLER{user_id}"),
                                         "site_id": seller.get("site_id", "MLA")}
            for item in data.get("items", []):
                self.add_item(item)
            issued: dict[str, Any] = {}
            for token in data.get("tokens", []):
                issued[str(token["user_id"])] = self.issue_tokens(
                    int(token["user_id"]), expires_in=token.get("expires_in"),
                    access_token=token.get("access_token"),
                    refresh_token=token.get("refresh_token"))
            return {"tokens": issued}

    def add_item(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            seller_id = int(spec["seller_id"])
            site_id = spec.get("site_id") or self.sellers.get(seller_id, {}).get("site_id", "MLA")
            now = ml_time(self.now())
            attributes = list(spec.get("attributes", []))
            if spec.get("seller_sku"):
                attributes.append({"id": "SELLER_SKU", "name": "SKU",
                                   "value_id": None, "value_name": spec["seller_sku"]})
            item: dict[str, Any] = {
                "id": spec["id"], "site_id": site_id, "title": spec.get("title", spec["id"]),
                "seller_id": seller_id, "category_id": spec.get("category_id", f"{site_id}1055"),
                "price": spec.get("price", 100), "base_price": spec.get("price", 100),
                "original_price": None, "currency_id": spec.get("currency_id", "ARS"),
                "initial_quantity": spec.get("available_quantity", 0),
                "available_quantity": spec.get("available_quantity", 0),
                "sold_quantity": spec.get("sold_quantity", 0), "buying_mode": "buy_it_now",
                "listing_type_id": spec.get("listing_type_id", "gold_special"),
                "condition": "new", "permalink": f"https://articulo.example/{spec['id']}",
                "attributes": attributes, "variations": [],
                "status": spec.get("status", "active"), "sub_status": [],
                "tags": [], "seller_custom_field": spec.get("seller_custom_field"),
                "date_created": now, "last_updated": now,
                "price_automation": bool(spec.get("price_automation", False)),
            }
            for variation in spec.get("variations", []):
                item["variations"].append(self._new_variation(variation))
            self._settle(item)
            self.items[item["id"]] = item
            return copy.deepcopy(item)

    def _new_variation(self, spec: dict[str, Any]) -> dict[str, Any]:
        vid = spec.get("id")
        if vid is None:
            vid = self.next_variation_id
            self.next_variation_id += 1
        attributes = list(spec.get("attributes", []))
        if spec.get("seller_sku"):
            attributes.append({"id": "SELLER_SKU", "name": "SKU", "value_id": None,
                               "value_name": spec["seller_sku"]})
        return {
            "id": int(vid), "price": spec.get("price", 100),
            "attribute_combinations": spec.get("attribute_combinations") or [
                {"id": "COLOR", "name": "Color", "value_id": None,
                 "value_name": f"Color {vid}"}],
            "available_quantity": spec.get("available_quantity", 0),
            "sold_quantity": spec.get("sold_quantity", 0), "sale_terms": [], "picture_ids": [],
            "seller_custom_field": spec.get("seller_custom_field"),
            "catalog_product_id": None, "attributes": attributes,
        }

    @staticmethod
    def _settle(item: dict[str, Any]) -> None:
        """Derived fields: totals over variations, and ML's out-of-stock pause."""
        if item["variations"]:
            item["available_quantity"] = sum(v["available_quantity"]
                                             for v in item["variations"])
            item["price"] = max((v["price"] for v in item["variations"]), key=_dec)
        if item["status"] == "closed":
            return
        if item["available_quantity"] == 0:
            item["status"] = "paused"
            if "out_of_stock" not in item["sub_status"]:
                item["sub_status"] = [*item["sub_status"], "out_of_stock"]
        elif "out_of_stock" in item["sub_status"]:
            item["sub_status"] = [s for s in item["sub_status"] if s != "out_of_stock"]
            item["status"] = "active"

    # --- OAuth ----------------------------------------------------------------------

    def issue_tokens(self, user_id: int, *, expires_in: int | None = None,
                     access_token: str | None = None,
                     refresh_token: str | None = None) -> dict[str, Any]:
        with self.lock:
            if user_id not in self.sellers:
                self.sellers[user_id] = {"id": user_id, "nickname": f"SELLER{user_id}",
                                         "site_id": "MLA"}
            ttl = self.token_ttl if expires_in is None else int(expires_in)
            stamp = self.now().strftime("%m%d%H")
            access = access_token or (f"APP_USR-{self.client_id}-{stamp}-"
                                      f"{secrets.token_hex(12)}-{user_id}")
            refresh = refresh_token or f"TG-{secrets.token_hex(12)}-{user_id}"
            self.access[access] = (user_id, self.clock() + ttl)
            self.refresh_tokens[user_id] = refresh
            return {"access_token": access, "token_type": "bearer", "expires_in": ttl,
                    "scope": "offline_access read write", "user_id": user_id,
                    "refresh_token": refresh}

    def new_code(self, user_id: int, challenge: str | None = None) -> str:
        with self.lock:
            code = f"TG-{secrets.token_hex(10)}-{user_id}"
            self.codes[code] = (user_id, challenge)
            return code

    def token_grant(self, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            grant_type = form.get("grant_type", "")
            record: dict[str, Any] = {"time": self.clock(), "grant_type": grant_type}
            self.grants.append(record)
            try:
                result = self._grant(grant_type, form)
            except MlApiError as exc:
                record.update(ok=False, error=exc.error)
                raise
            record.update(ok=True, user_id=result["user_id"])
            return result

    def _grant(self, grant_type: str, form: dict[str, str]) -> dict[str, Any]:
        if grant_type not in ("authorization_code", "refresh_token"):
            raise MlApiError(400, "unsupported_grant_type",
                             "the grant_type is not supported (authorization_code, "
                             "refresh_token)", [], oauth=True)
        if (form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret):
            raise MlApiError(401, "invalid_client", "invalid client_id or client_secret", [],
                             oauth=True)
        if grant_type == "authorization_code":
            entry = self.codes.pop(form.get("code", ""), None)
            if entry is None:
                raise invalid_grant()
            user_id, challenge = entry
            if self.pkce:
                verifier = form.get("code_verifier")
                if not verifier:
                    raise MlApiError(400, "invalid_request", "code_verifier is required",
                                     [], oauth=True)
                if _s256(verifier) != challenge:
                    raise invalid_grant()
            if self.redirect_uri is not None and form.get("redirect_uri") != self.redirect_uri:
                raise invalid_grant()
            return self.issue_tokens(user_id)
        presented = form.get("refresh_token", "")
        owner = next((u for u, t in self.refresh_tokens.items() if t == presented), None)
        if owner is None:
            raise invalid_grant()
        return self.issue_tokens(owner)

    def authenticate(self, authorization: str | None) -> int | None:
        """The user id behind ``Authorization: Bearer``; None without the header."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            entry = self.access.get(token.strip()) if scheme.lower() == "bearer" else None
            if entry is None or entry[1] <= self.clock():
                raise invalid_token()
            return entry[0]

    # --- items ----------------------------------------------------------------------

    def item_view(self, item_id: str, caller: int | None, *, include_all: bool,
                  projection: list[str] | None = None) -> dict[str, Any]:
        with self.lock:
            item = self.items.get(item_id)
            if item is None:
                raise not_found(f"Item with id {item_id} not found", "not_found")
            view = copy.deepcopy(item)
        view.pop("price_automation", None)
        if not (include_all and caller == item["seller_id"]):
            view.pop("seller_custom_field", None)
            for variation in view["variations"]:
                variation.pop("attributes", None)
                variation.pop("seller_custom_field", None)
        if projection:
            view = {k: v for k, v in view.items() if k in projection}
        return view

    def multiget(self, ids: list[str], caller: int | None, *, include_all: bool,
                 projection: list[str] | None) -> list[dict[str, Any]]:
        if len(ids) > 20:
            raise bad_request("The maximum number of ids per request is 20", "bad_request")
        answer = []
        for item_id in ids:
            try:
                answer.append({"code": 200, "body": self.item_view(
                    item_id, caller, include_all=include_all, projection=projection)})
            except MlApiError:
                answer.append({"code": 404, "body": {
                    "id": item_id, "error": "resource not found",
                    "message": "Si quieres conocer los recursos de la API que se encuentran "
                               "disponibles visita el Sitio de Developers de MercadoLibre "
                               "(http://developers.mercadolibre.com)"}})
        return answer

    def update_item(self, item_id: str, caller: int | None,
                    body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            item = self.items.get(item_id)
            if item is None:
                raise not_found(f"Item with id {item_id} not found", "not_found")
            if caller != item["seller_id"]:
                raise forbidden()
            if item["status"] == "closed":
                raise validation_error("item.status.not_modifiable",
                                       f"Item {item_id} is closed and cannot be modified",
                                       references=["item.status"])
            if not isinstance(body, dict):
                raise bad_request("body must be a JSON object")
            work = copy.deepcopy(item)
            if "price" in body and work["price_automation"] and set(body) == {"price"}:
                raise validation_error("item.price.not_modifiable",
                                       "The price of an item with price automation cannot be "
                                       "modified", references=["item.price"])
            if "available_quantity" in body:
                qty = body["available_quantity"]
                if not _is_quantity(qty):
                    raise validation_error(
                        "item.available_quantity.invalid",
                        "invalid property type: [available_quantity] expected Number")
                if work["variations"]:
                    raise validation_error(
                        "item.available_quantity.invalid",
                        "The item has variations: update available_quantity per variation",
                        references=["item.variations"])
                work["available_quantity"] = qty
            if "price" in body and not (work["price_automation"] and set(body) != {"price"}):
                if not _is_price(body["price"]):
                    raise validation_error("item.price.invalid", "price must be positive",
                                           cause_id=109, references=["item.price"])
                if work["variations"]:
                    for variation in work["variations"]:
                        variation["price"] = body["price"]
                work["price"] = body["price"]
            if "variations" in body:
                self._apply_variations(work, body["variations"])
            if "status" in body:
                status = body["status"]
                if status not in ("active", "paused", "closed"):
                    raise validation_error("item.status.invalid", f"invalid status {status!r}")
                work["status"] = status
                if status == "active" and work["available_quantity"] > 0:
                    work["sub_status"] = []
            self._settle(work)
            work["last_updated"] = ml_time(self.now())
            self.items[item_id] = work
        return self.item_view(item_id, caller, include_all=True)

    def _apply_variations(self, work: dict[str, Any], sent: Any) -> None:
        if not isinstance(sent, list):
            raise bad_request("variations must be a list")
        existing = {v["id"]: v for v in work["variations"]}
        kept: list[dict[str, Any]] = []
        sent_prices = set()
        for entry in sent:
            if not isinstance(entry, dict):
                raise bad_request("each variation must be an object")
            if "price" in entry:
                if not _is_price(entry["price"]):
                    raise validation_error("item.price.invalid", "price must be positive",
                                           cause_id=109)
                sent_prices.add(_dec(entry["price"]))
            if "available_quantity" in entry and not _is_quantity(entry["available_quantity"]):
                raise validation_error(
                    "item.available_quantity.invalid",
                    "invalid property type: [available_quantity] expected Number")
            vid = entry.get("id")
            if vid is None:  # ML creates a new variation (and the old ones not sent die)
                if not entry.get("attribute_combinations"):
                    raise validation_error(
                        "item.attributes.missing_required",
                        "One or more required attributes are not present in the item. Check "
                        "the attribute is present in the attributes list or in the variations "
                        "attributes_combination or attributes.", cause_id=147)
                kept.append(self._new_variation(entry))
                continue
            if vid not in existing:
                raise validation_error("item.variations.invalid",
                                       f"Item {work['id']} doesn't have a variation with id "
                                       f"{vid}", cause_id=216)
            variation = existing[vid]
            for key in ("available_quantity", "price"):
                if key in entry:
                    variation[key] = entry[key]
            kept.append(variation)
        if len(sent_prices) > 1:
            raise validation_error("item.variations.price.invalid",
                                   "Variations must have the same price: send the same price "
                                   "in all the variation ids")
        if sent_prices and len({_dec(v["price"]) for v in kept}) > 1:
            raise validation_error("item.variations.price.invalid",
                                   "Variations must have the same price: send the same price "
                                   "in all the variation ids")
        kept_ids = {v["id"] for v in kept}
        for vid, variation in existing.items():
            if vid not in kept_ids:
                self.deleted_variations.append({"item_id": work["id"], "variation_id": vid,
                                                "time": self.clock(),
                                                "sold_quantity": variation["sold_quantity"]})
        work["variations"] = kept

    def search_items(self, user_id: int, caller: int | None,
                     args: dict[str, str]) -> dict[str, Any]:
        if caller != user_id:
            raise forbidden("Searching another user items is restricted.")
        with self.lock:
            ids = [i["id"] for i in self.items.values() if i["seller_id"] == user_id
                   and (not args.get("status") or i["status"] == args["status"])
                   and (not args.get("seller_sku") or _item_has_sku(i, args["seller_sku"]))
                   and (not args.get("sku") or i.get("seller_custom_field") == args["sku"])]
            limit = _int_arg(args, "limit", 50)
            if not 0 < limit <= 100:
                raise bad_request("limit must be between 1 and 100")
            if args.get("search_type") == "scan" or args.get("scroll_id"):
                if "offset" in args:
                    raise bad_request("scan searches cannot be combined with offset")
                return self._scan(user_id, ids, limit, args.get("scroll_id"))
            offset = _int_arg(args, "offset", 0)
            if offset < 0 or offset > 1000:
                raise bad_request("The offset must be less than or equal to 1000 (use "
                                  "search_type=scan)", "invalid.offset")
            end = min(offset + limit, 1000)
            return {"seller_id": str(user_id), "results": ids[offset:end],
                    "paging": {"limit": limit, "offset": offset, "total": len(ids)},
                    "query": None,
                    "orders": [{"id": "stop_time_asc", "name": "Order by stop time ascending"}],
                    "available_orders": []}

    def _scan(self, user_id: int, ids: list[str], limit: int,
              scroll_id: str | None) -> dict[str, Any]:
        now = self.clock()
        self.scrolls = {k: v for k, v in self.scrolls.items() if v[1] > now}
        if scroll_id:
            entry = self.scrolls.pop(scroll_id, None)
            if entry is None:
                raise bad_request("Invalid Scroll Id: Error decode reading Scroll ID",
                                  "invalid.scroll.id")
            remaining = entry[0]
        else:
            remaining = ids
        page, rest = remaining[:limit], remaining[limit:]
        next_id = ""
        if page:
            next_id = secrets.token_urlsafe(24)
            self.scrolls[next_id] = (rest, now + 300)
        return {"scroll_id": next_id, "seller_id": str(user_id), "results": page,
                "paging": {"limit": limit, "total": len(ids)}}

    # --- orders ---------------------------------------------------------------------

    def create_order(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            item = self.items.get(spec.get("item_id", ""))
            if item is None:
                raise not_found(f"Item {spec.get('item_id')} not found")
            quantity = int(spec.get("quantity", 1))
            variation_id = spec.get("variation_id")
            if item["status"] != "active":
                raise bad_request(f"Item {item['id']} is {item['status']}: it cannot be bought")
            if item["variations"] and variation_id is None:
                raise bad_request("the item has variations: give variation_id")
            target = item
            variation = None
            if variation_id is not None:
                variation = next((v for v in item["variations"]
                                  if v["id"] == int(variation_id)), None)
                if variation is None:
                    raise not_found(f"variation {variation_id} not found")
                target = variation
            if quantity < 1 or target["available_quantity"] < quantity:
                raise bad_request(f"not enough stock: {target['available_quantity']} left")
            target["available_quantity"] -= quantity  # ML takes the units off the listing
            target["sold_quantity"] += quantity
            if variation is not None:
                item["sold_quantity"] += quantity
            else:
                item["available_quantity"] = target["available_quantity"]
            self._settle(item)
            item["last_updated"] = ml_time(self.now())
            order_id = int(spec.get("id") or self.next_order_id)
            self.next_order_id = max(self.next_order_id, order_id) + 1
            now = self.now()
            last_updated = parse_time(spec["last_updated"]) if spec.get("last_updated") else now
            buyer_id = int(spec.get("buyer_id", 74425755))
            price = variation["price"] if variation is not None else item["price"]
            order = {
                "id": order_id, "status": spec.get("status", "confirmed"), "status_detail": None,
                "date_created": ml_time(now), "date_closed": ml_time(now),
                "last_updated": ml_time(last_updated), "expiration_date": ml_time(
                    now + timedelta(days=28)),
                "manufacturing_ending_date": None, "pack_id": spec.get("pack_id"),
                "pickup_id": None, "fulfilled": None, "comments": None, "mediations": [],
                "feedback": {"sale": None, "purchase": None}, "order_request": {
                    "return": None, "change": None},
                "order_items": [{
                    "item": {"id": item["id"], "title": item["title"],
                             "category_id": item["category_id"],
                             "variation_id": variation["id"] if variation else None,
                             "variation_attributes": (variation or {}).get(
                                 "attribute_combinations", []),
                             "seller_custom_field": (variation or item).get(
                                 "seller_custom_field"),
                             "seller_sku": _sku_of(variation or item),
                             "warranty": None, "condition": "new"},
                    "quantity": quantity,
                    "requested_quantity": {"value": quantity, "measure": "unit"},
                    "unit_price": price, "full_unit_price": price,
                    "currency_id": item["currency_id"], "manufacturing_days": None,
                    "sale_fee": round(float(price) * 0.13, 2),
                    "listing_type_id": item["listing_type_id"]}],
                "total_amount": float(_dec(price) * quantity),
                "paid_amount": 0, "currency_id": item["currency_id"], "coupon": {
                    "id": None, "amount": 0}, "payments": [],
                "shipping": {"id": 40000000000 + order_id % 1000000000},
                "buyer": {"id": buyer_id, "nickname": f"BUYER{buyer_id}"},
                "seller": {"id": item["seller_id"]}, "tags": ["not_delivered"],
                "context": {"channel": "marketplace", "site": item["site_id"], "flows": []},
                "cancel_detail": None,
            }
            self.orders[order_id] = order
            if order["status"] == "paid":
                self._mark_paid(order)
            return copy.deepcopy(order)

    def pay_order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            order = self._order(order_id)
            if order["status"] in ("cancelled", "invalid"):
                raise bad_request(f"order {order_id} is {order['status']}")
            self._mark_paid(order)
            order["last_updated"] = ml_time(self.now())
            return copy.deepcopy(order)

    def _mark_paid(self, order: dict[str, Any]) -> None:
        order["status"] = "paid"
        order["paid_amount"] = order["total_amount"]
        order["tags"] = sorted({*order["tags"], "paid"})
        order["payments"] = [{
            "id": order["id"] + 7, "order_id": order["id"], "payer_id": order["buyer"]["id"],
            "collector": {"id": order["seller"]["id"]}, "status": "approved",
            "status_detail": "accredited", "transaction_amount": order["total_amount"],
            "total_paid_amount": order["total_amount"], "currency_id": order["currency_id"],
            "date_approved": ml_time(self.now()), "date_created": ml_time(self.now())}]

    def cancel_order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            order = self._order(order_id)
            if order["status"] != "cancelled":
                for line in order["order_items"]:
                    self._restock(line["item"]["id"], line["item"]["variation_id"],
                                  line["quantity"])
                order["status"] = "cancelled"
                order["cancel_detail"] = {"group": "buyer", "code": "buyer_cancel",
                                          "description": "cancelled in the sandbox",
                                          "requested_by": "buyer",
                                          "date": ml_time(self.now())}
                order["last_updated"] = ml_time(self.now())
            return copy.deepcopy(order)

    def _restock(self, item_id: str, variation_id: int | None, quantity: int) -> None:
        item = self.items.get(item_id)
        if item is None or item["status"] == "closed":
            return
        if variation_id is not None:
            for variation in item["variations"]:
                if variation["id"] == variation_id:
                    variation["available_quantity"] += quantity
        else:
            item["available_quantity"] += quantity
        self._settle(item)
        item["last_updated"] = ml_time(self.now())

    def touch_order(self, order_id: int, last_updated: str) -> dict[str, Any]:
        with self.lock:
            order = self._order(order_id)
            order["last_updated"] = ml_time(parse_time(last_updated))
            return copy.deepcopy(order)

    def _order(self, order_id: int) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise MlApiError(404, "order_not_found", "Order not found.", None)
        return order

    def order_view(self, order_id: int, caller: int | None) -> tuple[dict[str, Any], list[str]]:
        """The order and the parts left out (ML's 206 ``X-Content-Missing``)."""
        with self.lock:
            order = copy.deepcopy(self._order(order_id))
            partial = self.partial_orders
        if caller not in (order["seller"]["id"], order["buyer"]["id"]):
            raise forbidden("caller.id does not match buyer nor seller")
        missing: list[str] = []
        if partial:
            for part in ("buyer", "feedback"):
                order.pop(part, None)
                missing.append(part)
        return order, missing

    def search_orders(self, caller: int | None, args: dict[str, str]) -> dict[str, Any]:
        seller = args.get("seller")
        if not seller:
            raise bad_request("a seller or buyer filter is required")
        if caller != int(seller):
            raise forbidden("caller.id does not match the seller filter")
        limit = _int_arg(args, "limit", 50)
        if not 0 < limit <= self.orders_search_max_limit:
            raise bad_request(f"limit must be between 1 and {self.orders_search_max_limit}",
                              "invalid_limit")
        offset = _int_arg(args, "offset", 0)
        bounds = {}
        for name in ("from", "to"):
            raw = args.get(f"order.date_last_updated.{name}")
            if raw:
                try:  # ML only keeps the hour: minutes, seconds and milliseconds are dropped
                    bounds[name] = parse_time(raw).replace(minute=0, second=0, microsecond=0)
                except ValueError as exc:
                    raise bad_request(f"invalid date {raw!r}", "invalid_date") from exc
        statuses = set(filter(None, args.get("order.status", "").split(",")))
        with self.lock:
            found = [copy.deepcopy(o) for o in self.orders.values()
                     if o["seller"]["id"] == caller
                     and (not statuses or o["status"] in statuses)
                     and ("from" not in bounds
                          or parse_time(o["last_updated"]) >= bounds["from"])
                     and ("to" not in bounds or parse_time(o["last_updated"]) <= bounds["to"])]
        sort = args.get("sort", "date_asc")
        found.sort(key=lambda o: (parse_time(o["date_closed"] or o["date_created"]), o["id"]),
                   reverse=sort == "date_desc")
        return {
            "query": args.get("q"), "display": "complete",
            "results": found[offset:offset + limit],
            "sort": {"id": sort, "name": "Date ascending" if sort != "date_desc"
                     else "Date descending"},
            "available_sorts": [{"id": "date_desc", "name": "Date descending"}],
            "filters": [], "available_filters": [],
            "paging": {"total": len(found), "offset": offset, "limit": limit},
        }

    # --- notifications ------------------------------------------------------------

    def record_missed(self, payload: dict[str, Any], url: str, http_code: int | None,
                      body: str, req_time_ms: int) -> None:
        with self.lock:
            data = _json_text(payload)
            self.missed.append({
                **payload, "_id": secrets.token_hex(12),
                "request": {"url": url, "headers": {
                    "accept": "application/json", "content-type": "application/json",
                    "content-length": len(data)}, "data": data},
                "response": {"req_time": req_time_ms, "http_code": http_code, "body": body,
                             "headers": {}}})

    def missed_feeds(self, args: dict[str, str]) -> dict[str, Any]:
        if str(args.get("app_id")) != str(self.application_id):
            raise forbidden("app_id does not match the caller's application")
        offset = _int_arg(args, "offset", 0)
        limit = _int_arg(args, "limit", 10)
        with self.lock:
            messages = [copy.deepcopy(m) for m in self.missed
                        if not args.get("topic") or m.get("topic") == args["topic"]]
        return {"messages": messages[offset:offset + limit]}


def _json_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _is_quantity(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_price(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool) and value > 0)


def _int_arg(args: dict[str, str], name: str, default: int) -> int:
    try:
        return int(args.get(name, default))
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer") from exc


def _sku_of(listing: dict[str, Any]) -> str | None:
    for attribute in listing.get("attributes", []) or []:
        if attribute.get("id") == "SELLER_SKU":
            value: str | None = attribute.get("value_name")
            return value
    return None


def _item_has_sku(item: dict[str, Any], sku: str) -> bool:
    return _sku_of(item) == sku or any(_sku_of(v) == sku for v in item["variations"])
