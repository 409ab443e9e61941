"""User Products and distributed / multi-origin stock (ml_api.md §2.5-2.6).

A UP is one physical product; its stock lives in ``locations`` (``selling_address``,
``seller_warehouse`` per store, ``meli_facility`` for Full) behind a version that every
change bumps. Its items show the sum over the locations as ``available_quantity``, and ML
copies a change to the UP's items *asynchronously*: here after ``replication_delay``
seconds. A pending copy is applied by a timer, by any request that arrives after it is due,
or at once by ``POST /_sandbox/replications/flush`` (tests wait with that, never sleep).
The copy reads the UP's stock when it is applied, so the items always converge to it.
"""

import copy
import threading
from typing import Any

from ml_sandbox.catalog import CatalogRules
from ml_sandbox.common import has_tag, int_arg, is_number, ml_time
from ml_sandbox.errors import MlApiError, bad_request, forbidden, not_found, validation_error

DEFAULT_REPLICATION_DELAY = 0.5  # seconds: "asynchronously", a moment after the write
SELLING_ADDRESS_SITES = frozenset({"MLA", "MLC"})  # where sellers may write Flex stock
STOCK_LOCATION = "stock_location"


def version_conflict() -> MlApiError:
    return MlApiError(409, "conflict", "Version mismatch", [])


class UserProductRules(CatalogRules):
    # --- seeding -------------------------------------------------------------------

    def add_store(self, user_id: int, spec: dict[str, Any]) -> dict[str, Any]:
        """A seller's store (``/users/{id}/stores/search``); ``tags`` default to
        ``stock_location`` (a store without it cannot hold stock)."""
        with self.lock:
            store_id = str(spec["id"])
            number = len(self.stores) + 1
            store = {
                "id": store_id, "user_id": str(user_id),
                "description": spec.get("description", f"Store {store_id}"),
                "status": spec.get("status", "active"),
                "location": spec.get("location") or {
                    "address_id": 500 + number, "address_line": f"Calle {number} 100",
                    "street_name": f"Calle {number}", "street_number": 100,
                    "latitude": -34.6037, "longitude": -58.3816,
                    "city": "Capital Federal", "state": "Buenos Aires",
                    "country": "Argentina", "zip_code": "1001"},
                "tags": list(spec.get("tags", [STOCK_LOCATION])),
                "network_node_id": str(spec.get("network_node_id", f"ARP{store_id}")),
                "services": spec.get("services") or {
                    STOCK_LOCATION: ["cross_docking", "xd_drop_off"]},
            }
            self.stores[store_id] = store
            return copy.deepcopy(store)

    def _on_new_item(self, item: dict[str, Any], spec: dict[str, Any]) -> None:
        """Put an item of a UP seller (or one seeded with ``user_product_id``) on its UP;
        the UP is created with the item's stock the first time, and shared afterwards."""
        seller = self.sellers.get(item["seller_id"])
        up_seller = has_tag(seller, "user_product_seller")
        if not (up_seller or item.get("user_product_id")):
            return
        if item["variations"]:
            raise bad_request("a user_product_seller's items have no variations: each "
                              "variation is its own item (ml_api.md §2.5)")
        if up_seller and not item.get("family_name"):
            item["family_name"] = spec.get("family_name") or item["title"]
        up_id = item.get("user_product_id") or f"{item['site_id']}U{self.new_number()}"
        item["user_product_id"] = up_id
        up = self.user_products.get(up_id)
        if up is None:
            up = self._new_user_product(up_id, item, spec)
        elif up["user_id"] != item["seller_id"]:
            raise bad_request(f"user product {up_id} belongs to another seller")
        item["available_quantity"] = item["initial_quantity"] = _total(up)

    def _new_user_product(self, up_id: str, item: dict[str, Any],
                          spec: dict[str, Any]) -> dict[str, Any]:
        seller = self.sellers.get(item["seller_id"])
        quantity = int(spec.get("available_quantity", 0))
        locations: list[dict[str, Any]] = []
        if has_tag(seller, "warehouse_management"):
            given = spec.get("stock_locations")
            mine = [s for s in self.stores.values() if s["user_id"] == str(item["seller_id"])
                    and STOCK_LOCATION in s["tags"]]
            if given is None:  # everything in the first store
                given = [{"store_id": s["id"], "quantity": quantity if n == 0 else 0}
                         for n, s in enumerate(mine)]
            for entry in given:
                store = self._own_store(item["seller_id"], entry.get("store_id"))
                locations.append(_warehouse(store, int(entry.get("quantity", 0))))
        elif spec.get("logistic_type") != "fulfillment" or "selling_address" in spec:
            locations.append({"type": "selling_address",
                              "quantity": int(spec.get("selling_address", quantity))})
        if spec.get("meli_facility") is not None or spec.get("logistic_type") == "fulfillment":
            locations.append({"type": "meli_facility",
                              "quantity": int(spec.get("meli_facility", quantity))})
        family_name = item.get("family_name") or item["title"]
        family = self._family(item["seller_id"], item["site_id"], family_name,
                              spec.get("family_id"))
        family["user_products_ids"].append(up_id)
        now = ml_time(self.now())
        up = {"id": up_id, "user_id": item["seller_id"], "site_id": item["site_id"],
              "name": family_name, "family_id": family["family_id"], "locations": locations,
              "version": 1, "date_created": now, "last_updated": now}
        self.user_products[up_id] = up
        return up

    def _family(self, user_id: int, site_id: str, name: str,
                family_id: int | None) -> dict[str, Any]:
        if family_id is None:
            family_id = next((f["family_id"] for f in self.families.values()
                              if f["user_id"] == user_id and f["name"] == name),
                             None) or 7000000000000 + self.new_number()
        return self.families.setdefault(int(family_id), {
            "family_id": int(family_id), "site_id": site_id, "user_id": user_id, "name": name,
            "user_products_ids": []})

    # --- reads -----------------------------------------------------------------------

    def up_stock_view(self, up_id: str, caller: int | None) -> tuple[dict[str, Any], int]:
        """``GET /user-products/{id}/stock``: the body and the ``x-version`` header."""
        with self.lock:
            up = self._owned_up(up_id, caller)
            return _stock_body(up), up["version"]

    def user_product_view(self, up_id: str, caller: int | None) -> dict[str, Any]:
        with self.lock:
            up = self._owned_up(up_id, caller)
            return {"id": up["id"], "user_id": up["user_id"], "site_id": up["site_id"],
                    "name": up["name"], "family_id": up["family_id"],
                    "date_created": up["date_created"], "last_updated": up["last_updated"]}

    def family_view(self, site_id: str, family_id: int, caller: int | None) -> dict[str, Any]:
        with self.lock:
            family = self.families.get(family_id)
            if family is None or family["site_id"] != site_id:
                raise not_found(f"family {family_id} not found")
            if caller != family["user_id"]:
                raise forbidden()
            return {"family_id": family_id, "site_id": site_id, "user_id": family["user_id"],
                    "user_products_ids": list(family["user_products_ids"])}

    def stores_search(self, user_id: int, caller: int | None,
                      args: dict[str, str]) -> dict[str, Any]:
        if caller != user_id:
            raise forbidden()
        wanted = set(filter(None, args.get("tags", "").split(",")))
        limit = int_arg(args, "limit", 50)
        if not 0 < limit <= 50:
            raise bad_request("limit must be between 1 and 50")
        with self.lock:
            found = [copy.deepcopy(s) for s in self.stores.values()
                     if s["user_id"] == str(user_id) and wanted <= set(s["tags"])]
        return {"paging": {"limit": limit, "total": len(found)}, "results": found[:limit]}

    def _owned_up(self, up_id: str, caller: int | None) -> dict[str, Any]:
        up = self.user_products.get(up_id)
        if up is None:
            raise not_found(f"User product {up_id} not found")
        if caller != up["user_id"]:
            raise forbidden()
        return up

    def _own_store(self, user_id: int, store_id: Any) -> dict[str, Any]:
        """The seller's stock-location store, or ML's 400 naming what is wrong."""
        if store_id is None or str(store_id).strip() == "":
            raise bad_request("store cannot be null or empty")
        store = self.stores.get(str(store_id))
        if store is None:
            raise bad_request(f"store not found: {store_id}")
        if store["user_id"] != str(user_id):
            raise bad_request(f"store does not belong to seller: {store_id}")
        if STOCK_LOCATION not in store["tags"]:
            raise bad_request("store is not configured to be a stock location")
        return store

    # --- writes ----------------------------------------------------------------------

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
                    "locations": _stock_body(up)["locations"]}, up["version"], notes

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
                            _quantity(entry.get("quantity"), f"store {store['id']}")))
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
        return [("selling_address", None, _quantity(body["quantity"], "selling_address"))]

    def _apply(self, up: dict[str, Any],
               updates: list[tuple[str, dict[str, Any] | None, int]]) -> None:
        """Set each ``(type, store, quantity)``; a store without stock yet gets a location
        (after the other stores, before Full)."""
        for kind, store, quantity in updates:
            location = next((loc for loc in up["locations"] if loc["type"] == kind and (
                store is None or loc.get("store_id") == store["id"])), None)
            if location is None:
                location = {"type": kind, "quantity": 0} if store is None \
                    else _warehouse(store, 0)
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
                updates.append((str(kind), store, _quantity(entry.get("quantity"), str(kind))))
            self._apply(up, updates)
            self.emit_later(self._stock_changed(up, notify_stock=False))  # the control does
            return _stock_body(up), up["version"]

    def _stock_changed(self, up: dict[str, Any], *, immediate: str | None = None,
                       notify_stock: bool = True) -> list[dict[str, Any]]:
        """A UP's stock moved: new version; ``immediate`` (an item id) shows it at once, the
        other items after the replication delay. Returns the notifications ML sends when
        every change is notified (``notify_topics``): stock-location, and items for what the
        replication changed at once."""
        up["version"] += 1
        up["last_updated"] = ml_time(self.now())
        if immediate is not None:
            self._show_total(self.items[immediate], _total(up))
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

    # --- replication ---------------------------------------------------------------------

    def _up_of(self, item: dict[str, Any]) -> dict[str, Any] | None:
        return self.user_products.get(item.get("user_product_id") or "")

    def _show_total(self, item: dict[str, Any], total: int) -> bool:
        if item["status"] == "closed" or item["available_quantity"] == total:
            return False
        item["available_quantity"] = total
        self._settle(item)
        item["last_updated"] = ml_time(self.now())
        return True

    def _schedule_sync(self, up_id: str) -> list[dict[str, Any]]:
        """Copy the UP's stock to its items now (delay 0) or after the delay; returns the
        ``items`` notifications of what was copied now."""
        if self.replication_delay <= 0:
            return self._sync(up_id)
        entry = {"user_product_id": up_id, "due": self.clock() + self.replication_delay}
        self.pending_syncs.append(entry)
        self._start_timer(self.replication_delay, entry)
        return []

    def _start_timer(self, delay: float, entry: dict[str, Any]) -> None:
        timer = threading.Timer(delay, self._on_timer, args=(entry,))
        timer.daemon = True
        self.timers = [t for t in self.timers if t.is_alive()] + [timer]
        timer.start()

    def _on_timer(self, entry: dict[str, Any]) -> None:
        self.apply_due_syncs()
        with self.lock:  # woken a hair early (wall clock vs timer clock): wait the rest
            left = entry["due"] - self.clock()
            if entry in self.pending_syncs and 0 < left < 1:
                self._start_timer(left, entry)

    def _sync(self, up_id: str) -> list[dict[str, Any]]:
        up = self.user_products.get(up_id)
        if up is None:
            return []
        total = _total(up)
        changed = [item for item in self.items.values()
                   if item.get("user_product_id") == up_id and self._show_total(item, total)]
        if not self.wants("items"):
            return []
        return [{"topic": "items", "resource": f"/items/{item['id']}",
                 "user_id": item["seller_id"]} for item in changed]

    def apply_due_syncs(self, *, everything: bool = False,
                        background: bool = False) -> list[str]:
        """Apply the copies that are due (all of them with ``everything``); returns the UP
        ids copied. Notifications go out after the lock is released (on a thread with
        ``background``: a request must not wait for them)."""
        with self.lock:
            now = self.clock()
            due = [p for p in self.pending_syncs if everything or p["due"] <= now]
            if not due:
                return []
            self.pending_syncs = [p for p in self.pending_syncs if p not in due]
            notes: list[dict[str, Any]] = []
            applied: list[str] = []
            for pending in due:
                if pending["user_product_id"] not in applied:
                    applied.append(pending["user_product_id"])
                    notes += self._sync(pending["user_product_id"])
        if background:
            self.emit_later(notes)
        else:
            self.emit(notes)
        return applied

    def pending_sync_view(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.clock()
            return [{"user_product_id": p["user_product_id"],
                     "due_in_ms": max(0, round((p["due"] - now) * 1000))}
                    for p in self.pending_syncs]

    def cancel_timers(self) -> None:
        with self.lock:
            for timer in self.timers:
                timer.cancel()
            self.timers = []

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
                              f"{_total(up)} left")
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


def _total(up: dict[str, Any]) -> int:
    return sum(int(loc["quantity"]) for loc in up["locations"])


def _warehouse(store: dict[str, Any], quantity: int) -> dict[str, Any]:
    return {"type": "seller_warehouse", "network_node_id": store["network_node_id"],
            "store_id": store["id"], "quantity": quantity}


def _quantity(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise bad_request(f"invalid quantity for {where}: expected a non-negative integer")
    return value


def _stock_body(up: dict[str, Any]) -> dict[str, Any]:
    return {"locations": copy.deepcopy(up["locations"]), "user_id": up["user_id"],
            "id": up["id"]}


def stock_location_note(up: dict[str, Any]) -> dict[str, Any]:
    return {"topic": "stock-location", "resource": f"/user-products/{up['id']}/stock",
            "user_id": up["user_id"]}
