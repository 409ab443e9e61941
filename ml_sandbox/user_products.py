"""User Products and distributed / multi-origin stock (ml_api.md §2.5-2.6): the model.

A UP is one physical product; its stock lives in ``locations`` (``selling_address``,
``seller_warehouse`` per store, ``meli_facility`` for Full) behind a version that every
change bumps; its items show the sum over the locations as ``available_quantity``. This
module seeds UPs, stores and families and reads them; :mod:`ml_sandbox.up_stock` writes the
stock and :mod:`ml_sandbox.replication` copies it to the items.
"""

import copy
from typing import Any

from ml_sandbox.common import has_tag, int_arg, ml_time
from ml_sandbox.errors import MlApiError, bad_request, forbidden, not_found
from ml_sandbox.replication import ReplicationRules, total_of

SELLING_ADDRESS_SITES = frozenset({"MLA", "MLC"})  # where sellers may write Flex stock
STOCK_LOCATION = "stock_location"


def version_conflict() -> MlApiError:
    return MlApiError(409, "conflict", "Version mismatch", [])


class UserProductRules(ReplicationRules):
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
        item["available_quantity"] = item["initial_quantity"] = total_of(up)

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
                locations.append(warehouse_location(store, int(entry.get("quantity", 0))))
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
            return stock_body(up), up["version"]

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


def warehouse_location(store: dict[str, Any], quantity: int) -> dict[str, Any]:
    return {"type": "seller_warehouse", "network_node_id": store["network_node_id"],
            "store_id": store["id"], "quantity": quantity}


def checked_quantity(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise bad_request(f"invalid quantity for {where}: expected a non-negative integer")
    return value


def stock_body(up: dict[str, Any]) -> dict[str, Any]:
    return {"locations": copy.deepcopy(up["locations"]), "user_id": up["user_id"],
            "id": up["id"]}


def stock_location_note(up: dict[str, Any]) -> dict[str, Any]:
    return {"topic": "stock-location", "resource": f"/user-products/{up['id']}/stock",
            "user_id": up["user_id"]}
