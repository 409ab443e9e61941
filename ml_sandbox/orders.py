"""The sandbox's orders: created on a listing (taking its stock as ML does), paid, cancelled
(giving the stock back), read (optionally as a 206 partial answer) and searched by the
hour-truncated ``order.date_last_updated`` filters."""

import copy
from datetime import timedelta
from typing import Any

from ml_sandbox.common import dec, int_arg, ml_time, parse_time, sku_of
from ml_sandbox.errors import MlApiError, bad_request, forbidden, not_found
from ml_sandbox.up_stock import UpStockRules


class OrderRules(UpStockRules):
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
            order_id = int(spec.get("id") or self.next_order_id)
            taken = self.take_up_stock(item, quantity, spec)  # a UP item sells its UP's stock
            if taken is not None:
                target["sold_quantity"] += quantity
                self.order_stock[order_id] = [{**taken, "quantity": quantity}]
                up = self.user_products[taken["user_product_id"]]
                self.emit_later(self._stock_changed(up, immediate=item["id"]))
            else:
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
                             "seller_sku": sku_of(variation or item),
                             "warranty": None, "condition": "new"},
                    "quantity": quantity,
                    "requested_quantity": {"value": quantity, "measure": "unit"},
                    "unit_price": price, "full_unit_price": price,
                    "currency_id": item["currency_id"], "manufacturing_days": None,
                    "sale_fee": round(float(price) * 0.13, 2),
                    "listing_type_id": item["listing_type_id"]}],
                "total_amount": float(dec(price) * quantity),
                "paid_amount": 0, "currency_id": item["currency_id"], "coupon": {
                    "id": None, "amount": 0}, "payments": [],
                "shipping": {"id": int(spec.get("shipping_id")
                                       or 40000000000 + order_id % 1000000000)},
                "buyer": {"id": buyer_id, "nickname": f"BUYER{buyer_id}"},
                "seller": {"id": item["seller_id"]}, "tags": ["not_delivered"],
                "context": {"channel": "marketplace", "site": item["site_id"], "flows": []},
                "cancel_detail": None,
            }
            if taken is not None and taken["type"] == "seller_warehouse":  # multi-origin
                order["order_items"][0]["stock"] = {"store_id": taken["store_id"],
                                                    "node_id": taken["network_node_id"]}
            if order["pack_id"] is not None:
                order["tags"] = sorted({*order["tags"], "pack_order"})
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
                taken = self.order_stock.pop(order_id, None)
                for entry in taken or []:  # back to the UP location the sale came from
                    up = self.return_up_stock(entry, entry["quantity"])
                    if up is not None:
                        self.emit_later(self._stock_changed(up))
                for line in order["order_items"] if taken is None else []:
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
        limit = int_arg(args, "limit", 50)
        if not 0 < limit <= self.orders_search_max_limit:
            raise bad_request(f"limit must be between 1 and {self.orders_search_max_limit}",
                              "invalid_limit")
        offset = int_arg(args, "offset", 0)
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
