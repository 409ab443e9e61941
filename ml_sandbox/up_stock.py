"""Writing a User Product's stock (ml_api.md §2.6): ``PUT /user-products/{id}/stock/type/…``
with ``x-version`` (400 without it, 409 when stale, ML's store errors), ``PUT /items``
``available_quantity`` on a UP item, ML-side changes, and what sales take and give back. Every
change bumps the version and is copied to the UP's items after the replication delay."""

from typing import Any

from ml_sandbox.common import has_tag, is_number, ml_time
from ml_sandbox.errors import bad_request, not_found, validation_error
from ml_sandbox.replication import total_of
from ml_sandbox.user_products import (
    SELLING_ADDRESS_SITES,
    UserProductRules,
    checked_quantity,
    stock_body,
    stock_location_note,
    version_conflict,
    warehouse_location,
)


class UpStockRules(UserProductRules):
    def put_up_stock(self, up_id: str, caller: int | None, kind: str, body: Any,
                     version: str | None) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
        """``PUT /user-products/{id}/stock/type/{kind}`` with ``x-version``: the body, the new
        version and the notifications ML sends for it."""
        with self.lock:
            up = self._owned_up(up_id, caller)
            if kind == "meli_facility":
                raise bad_request("meli_facility stock is managed by Mercado Libre "
                                  "(fulfillment) and cannot be modified through the API")
            if kind not in ("selling_address", "seller_warehouse"):
                raise not_found(f"unknown stock location type {kind!r}")
            if version is None or not version.strip():
                raise bad_request("Missing X-Version header")
            if not is_number(version.strip()):
                raise bad_request(f"Invalid X-Version header {version!r}: expected a number")
            if int(version) != up["version"]:
                raise version_conflict()
            seller = self.sellers.get(up["user_id"])
            if kind == "seller_warehouse":
                updates = self._warehouse_updates(up, seller, body)
            else:
                updates = self._selling_address_update(up, seller, body)
            self._apply(up, updates)  # everything checked: nothing is ever half-applied
            notes = self._stock_changed(up)
            return {"user_id": up["user_id"], "product_release_date": None, "id": up["id"],
                    "locations": stock_body(up)["locations"]}, up["version"], notes

    def _warehouse_updates(self, up: dict[str, Any], seller: dict[str, Any] | None,
                           body: Any) -> list[tuple[str, dict[str, Any] | None, int]]:
        if not has_tag(seller, "warehouse_management"):
            raise bad_request("the user is not enabled for multi-origin stock: it has no "
                              "warehouse_management tag (use PUT /items available_quantity)")
        sent = body.get("locations") if isinstance(body, dict) else None
        if not isinstance(sent, list) or not sent:
            raise bad_request("the fields [locations] are required for requested call")
        updates: list[tuple[str, dict[str, Any] | None, int]] = []
        for entry in sent:
            if not isinstance(entry, dict):
                raise bad_request("each location must be an object")
            store = self._own_store(up["user_id"], entry.get("store_id"))
            updates.append(("seller_warehouse", store,
                            checked_quantity(entry.get("quantity"), f"store {store['id']}")))
        return updates

    def _selling_address_update(self, up: dict[str, Any], seller: dict[str, Any] | None,
                                body: Any) -> list[tuple[str, dict[str, Any] | None, int]]:
        if (has_tag(seller, "warehouse_management")
                or not any(loc["type"] == "selling_address" for loc in up["locations"])
                or up["site_id"] not in SELLING_ADDRESS_SITES):
            raise bad_request("selling_address stock can only be modified in MLA and MLC, "
                              "for user products with a selling_address location and sellers "
                              "without multi-origin stock")
        if not isinstance(body, dict) or "quantity" not in body:
            raise bad_request("the fields [quantity] are required for requested call")
        return [("selling_address", None, checked_quantity(body["quantity"], "selling_address"))]

    def _apply(self, up: dict[str, Any],
               updates: list[tuple[str, dict[str, Any] | None, int]]) -> None:
        """Set each ``(type, store, quantity)``; a store without stock yet gets a location
        (after the other stores, before Full)."""
        for kind, store, quantity in updates:
            location = next((loc for loc in up["locations"] if loc["type"] == kind and (
                store is None or loc.get("store_id") == store["id"])), None)
            if location is None:
                location = {"type": kind, "quantity": 0} if store is None \
                    else warehouse_location(store, 0)
                position = sum(1 for loc in up["locations"] if loc["type"] != "meli_facility")
                up["locations"].insert(position, location)
            location["quantity"] = quantity

    def ml_stock_change(self, up_id: str, locations: Any) -> tuple[dict[str, Any], int]:
        """ML changes a UP's stock on its side (Full inbound, a count at the warehouse):
        ``[{type, store_id?, quantity}]``; no version check, the version moves on."""
        with self.lock:
            up = self.user_products.get(up_id)
            if up is None:
                raise not_found(f"User product {up_id} not found")
            if not isinstance(locations, list) or not locations:
                raise bad_request("locations must be a non-empty list")
            updates: list[tuple[str, dict[str, Any] | None, int]] = []
            for entry in locations:
                kind = entry.get("type") if isinstance(entry, dict) else None
                if kind not in ("selling_address", "seller_warehouse", "meli_facility"):
                    raise bad_request(f"unknown location type {kind!r}")
                store = (self._own_store(up["user_id"], entry.get("store_id"))
                         if kind == "seller_warehouse" else None)
                quantity = checked_quantity(entry.get("quantity"), str(kind))
                updates.append((str(kind), store, quantity))
            self._apply(up, updates)
            self.emit_later(self._stock_changed(up, notify_stock=False))  # the control does
            return stock_body(up), up["version"]

    def _stock_changed(self, up: dict[str, Any], *, immediate: str | None = None,
                       notify_stock: bool = True) -> list[dict[str, Any]]:
        """A UP's stock moved: new version; ``immediate`` (an item id) shows it at once, the
        other items after the replication delay. Returns the notifications ML sends when
        every change is notified (``notify_topics``): stock-location, and items for what the
        replication changed at once."""
        up["version"] += 1
        up["last_updated"] = ml_time(self.now())
        if immediate is not None:
            self._show_total(self.items[immediate], total_of(up))
        notes = self._schedule_sync(up["id"])
        if notify_stock and self.wants("stock-location"):
            notes.append(stock_location_note(up))
        return notes

    def update_item(self, item_id: str, caller: int | None,
                    body: dict[str, Any]) -> dict[str, Any]:
        """``PUT /items`` on a UP item: the quantity is the UP's (its ``selling_address``),
        copied to the UP's other items after the delay; multi-origin sellers and Full stock
        must use ``/user-products/{id}/stock`` instead, as on ML."""
        with self.lock:
            item = self.items.get(item_id)
            up = self._up_of(item) if item is not None else None
            if item is None or up is None or not isinstance(body, dict):
                return super().update_item(item_id, caller, body)
            if caller == item["seller_id"] and item["status"] != "closed":
                if "variations" in body:
                    raise validation_error(
                        "item.variations.not_allowed", "Items of the User Products model "
                        "have no variations: each variation is its own item",
                        references=["item.variations"])
                if "available_quantity" in body:
                    self._check_item_quantity_write(up)
            updated = super().update_item(item_id, caller, body)
            if "available_quantity" in body:
                selling = next(loc for loc in up["locations"]
                               if loc["type"] == "selling_address")
                selling["quantity"] = body["available_quantity"]
                self.emit_later(self._stock_changed(up))
                updated = self.item_view(item_id, caller, include_all=True)
            return updated

    def _check_item_quantity_write(self, up: dict[str, Any]) -> None:
        seller = self.sellers.get(up["user_id"])
        if has_tag(seller, "warehouse_management"):
            raise bad_request("the fields [available_quantity] are invalid for requested "
                              "call")
        kinds = {loc["type"] for loc in up["locations"]}
        if "meli_facility" in kinds:
            raise bad_request("The item or variation you are trying to modify has inventory "
                              "in Mercado Libre's fulfillment: use "
                              f"/user-products/{up['id']}/stock")
        if "selling_address" not in kinds:
            raise bad_request(f"user product {up['id']} has no selling_address stock")

    # --- what orders take -------------------------------------------------------------------

    def take_up_stock(self, item: dict[str, Any], quantity: int,
                      spec: dict[str, Any]) -> dict[str, Any] | None:
        """Take a sale off the item's UP: from the store the order names (``store_id`` or
        ``network_node_id``), from Full for fulfilment orders, else from the selling address
        or the store with the most stock (ML's rule when nothing else decides). Returns where
        it was taken from (``{user_product_id, type, store_id, network_node_id}``), None for
        an item without a UP."""
        up = self._up_of(item)
        if up is None:
            return None
        wanted = spec.get("store_id") or spec.get("network_node_id")
        if wanted is not None:
            candidates = [loc for loc in up["locations"]
                          if str(wanted) in (loc.get("store_id"), loc.get("network_node_id"))]
            if not candidates:
                raise bad_request(f"user product {up['id']} has no stock location {wanted}")
        elif spec.get("logistic_type") == "fulfillment":
            candidates = [loc for loc in up["locations"] if loc["type"] == "meli_facility"]
        else:
            candidates = sorted((loc for loc in up["locations"]
                                 if loc["type"] != "meli_facility"),
                                key=lambda loc: (loc["type"] != "selling_address",
                                                 -loc["quantity"]))
        location = next((loc for loc in candidates if loc["quantity"] >= quantity), None)
        if quantity < 1 or location is None:
            raise bad_request(f"not enough stock in user product {up['id']}: "
                              f"{total_of(up)} left")
        location["quantity"] -= quantity
        return {"user_product_id": up["id"], "type": location["type"],
                "store_id": location.get("store_id"),
                "network_node_id": location.get("network_node_id")}

    def return_up_stock(self, taken: dict[str, Any], quantity: int) -> dict[str, Any] | None:
        """Give a cancelled sale back to the location it was taken from; returns the UP."""
        up = self.user_products.get(taken["user_product_id"])
        if up is None:
            return None
        location = next((loc for loc in up["locations"] if loc["type"] == taken["type"]
                         and loc.get("store_id") == taken["store_id"]), None)
        if location is None:
            location = {key: value for key, value in taken.items()
                        if key != "user_product_id" and value is not None}
            location["quantity"] = 0
            up["locations"].append(location)
        location["quantity"] += quantity
        return up
