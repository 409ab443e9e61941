"""UPtin: ML migrates a multi-variation item to the User Products model (ml_api.md §2.5).

The old item closes (its orders stay on it); each variation becomes an item of its own with
the tag ``variations_migration_uptin``, the variation's price, stock, sold quantity, SKU and
attributes, and ``family_name`` = the old title, so the new items share one family. Each new
item is on the variation's user product (a variation is one physical product; ML gives
variations their own ``user_product_id``) unless ``user_product_ids`` puts it on another.
ML sends one ``items`` notification per new item (and one for the closed item, which
changed too) and a ``user-products-families`` one for the family.
"""

import copy
from typing import Any

from ml_sandbox.common import ml_time, seller_record
from ml_sandbox.errors import bad_request, not_found
from ml_sandbox.user_products import UserProductRules

MIGRATION_TAG = "variations_migration_uptin"


class MigrationRules(UserProductRules):
    def migrate_item(self, item_id: str, data: dict[str, Any]
                     ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Migrate ``item_id``; returns ``{closed, items, family_id}`` and the
        notifications ML sends."""
        overrides = data.get("user_product_ids") or {}
        if not isinstance(overrides, dict):
            raise bad_request("user_product_ids maps variation ids to user product ids")
        with self.lock:
            old = self.items.get(item_id)
            if old is None:
                raise not_found(f"Item with id {item_id} not found")
            if not old["variations"] or old["status"] == "closed":
                raise bad_request(f"item {item_id} cannot be migrated: only open items with "
                                  "variations are")
            seller = self.sellers.setdefault(old["seller_id"],
                                             seller_record(old["seller_id"]))
            if "user_product_seller" not in seller["tags"]:  # UPtin comes with the model
                seller["tags"].append("user_product_seller")
            family_name = old["title"]
            created = []
            for variation in old["variations"]:
                up_id = (overrides.get(str(variation["id"]))
                         or variation.get("user_product_id")
                         or f"{old['site_id']}U{self.new_number()}")
                created.append(self.add_item(self._spec_for(old, variation, up_id,
                                                             family_name)))
            old["status"] = "closed"
            old["last_updated"] = ml_time(self.now())
            up = self.user_products[created[0]["user_product_id"]]
            family = self.families[up["family_id"]]
        notes = [{"topic": "items", "resource": f"/items/{item['id']}",
                  "user_id": old["seller_id"]} for item in created]
        notes.append({"topic": "items", "resource": f"/items/{item_id}",
                      "user_id": old["seller_id"]})
        notes.append({"topic": "user-products-families",
                      "resource": f"/sites/{family['site_id']}/user-products-families/"
                                  f"{family['family_id']}",
                      "user_id": old["seller_id"]})
        items = [self.item_view(item["id"], old["seller_id"], include_all=True)
                 for item in created]
        return {"closed": item_id, "items": items, "family_id": family["family_id"]}, notes

    def _spec_for(self, old: dict[str, Any], variation: dict[str, Any], up_id: str,
                  family_name: str) -> dict[str, Any]:
        values = " ".join(str(c.get("value_name")) for c in variation["attribute_combinations"]
                          if c.get("value_name"))
        attributes = [a for a in old["attributes"] if a.get("id") != "SELLER_SKU"]
        attributes += copy.deepcopy(variation.get("attributes", []))
        attributes += [{"id": c["id"], "name": c.get("name"), "value_id": c.get("value_id"),
                        "value_name": c.get("value_name")}
                       for c in variation["attribute_combinations"]
                       if c["id"] not in {a.get("id") for a in attributes}]
        return {
            "id": f"{old['site_id']}{self.new_number()}", "seller_id": old["seller_id"],
            "site_id": old["site_id"], "title": f"{old['title']} {values}".strip(),
            "category_id": old["category_id"], "price": variation["price"],
            "currency_id": old["currency_id"],
            "available_quantity": variation["available_quantity"],
            "sold_quantity": variation["sold_quantity"],
            "listing_type_id": old["listing_type_id"], "attributes": attributes,
            "seller_custom_field": variation.get("seller_custom_field"),
            "user_product_id": up_id, "family_name": family_name,
            "logistic_type": old["shipping"]["logistic_type"],
            "tags": [MIGRATION_TAG],
        }
