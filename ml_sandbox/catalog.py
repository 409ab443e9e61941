"""The sandbox's items: seller-only fields, multiget, the PUT rules (variations deletion,
equal prices, out-of-stock pause, closed items) and the seller's item search with scan."""

import copy
import secrets
from typing import Any

from ml_sandbox.common import StateBase, dec, int_arg, ml_time, sku_of
from ml_sandbox.errors import MlApiError, bad_request, forbidden, not_found, validation_error


class CatalogRules(StateBase):
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
                "tags": list(spec.get("tags", [])),
                "seller_custom_field": spec.get("seller_custom_field"),
                "user_product_id": spec.get("user_product_id"),
                "family_name": spec.get("family_name"),
                "shipping": {"mode": "me2",
                             "logistic_type": spec.get("logistic_type", "drop_off"),
                             "free_shipping": bool(spec.get("free_shipping", False))},
                "date_created": now, "last_updated": now,
                "price_automation": bool(spec.get("price_automation", False)),
            }
            for variation in spec.get("variations", []):
                item["variations"].append(self._new_variation(variation))
            self._on_new_item(item, spec)
            self._settle(item)
            self.items[item["id"]] = item
            return copy.deepcopy(item)

    def _on_new_item(self, item: dict[str, Any], spec: dict[str, Any]) -> None:
        """A hook for the listing models built on items (User Products)."""

    def _new_variation(self, spec: dict[str, Any]) -> dict[str, Any]:
        vid = spec.get("id")
        if vid is None:
            vid = self.next_variation_id
            self.next_variation_id += 1
        attributes = list(spec.get("attributes", []))
        if spec.get("seller_sku"):
            attributes.append({"id": "SELLER_SKU", "name": "SKU", "value_id": None,
                               "value_name": spec["seller_sku"]})
        variation: dict[str, Any] = {
            "id": int(vid), "price": spec.get("price", 100),
            "attribute_combinations": spec.get("attribute_combinations") or [
                {"id": "COLOR", "name": "Color", "value_id": None,
                 "value_name": f"Color {vid}"}],
            "available_quantity": spec.get("available_quantity", 0),
            "sold_quantity": spec.get("sold_quantity", 0), "sale_terms": [], "picture_ids": [],
            "seller_custom_field": spec.get("seller_custom_field"),
            "catalog_product_id": None, "attributes": attributes,
        }
        if spec.get("user_product_id"):  # ML gives each variation its own UP (§2.1)
            variation["user_product_id"] = spec["user_product_id"]
        return variation

    @staticmethod
    def _settle(item: dict[str, Any]) -> None:
        """Derived fields: totals over variations, and ML's out-of-stock pause."""
        if item["variations"]:
            item["available_quantity"] = sum(v["available_quantity"]
                                             for v in item["variations"])
            item["price"] = max((v["price"] for v in item["variations"]), key=dec)
        if item["status"] == "closed":
            return
        if item["available_quantity"] == 0:
            item["status"] = "paused"
            if "out_of_stock" not in item["sub_status"]:
                item["sub_status"] = [*item["sub_status"], "out_of_stock"]
        elif "out_of_stock" in item["sub_status"]:
            item["sub_status"] = [s for s in item["sub_status"] if s != "out_of_stock"]
            item["status"] = "active"


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
                sent_prices.add(dec(entry["price"]))
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
        if sent_prices and len({dec(v["price"]) for v in kept}) > 1:
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
                   and (not args.get("sku") or i.get("seller_custom_field") == args["sku"])
                   and (not args.get("user_product_id") or i.get("user_product_id")
                        in args["user_product_id"].split(","))]
            limit = int_arg(args, "limit", 50)
            if not 0 < limit <= 100:
                raise bad_request("limit must be between 1 and 100")
            if args.get("search_type") == "scan" or args.get("scroll_id"):
                if "offset" in args:
                    raise bad_request("scan searches cannot be combined with offset")
                return self._scan(user_id, ids, limit, args.get("scroll_id"))
            offset = int_arg(args, "offset", 0)
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



def _is_quantity(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_price(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool) and value > 0)


def _item_has_sku(item: dict[str, Any], sku: str) -> bool:
    return sku_of(item) == sku or any(sku_of(v) == sku for v in item["variations"])
