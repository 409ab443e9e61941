"""The demo catalog ``meli-connector sandbox`` serves by default (one app, two sellers).

Seller 123456789 is the classic one (items with variations). Seller 987654321 is on the User
Products model with multi-origin stock: two warehouses (stores), a UP listed twice (two items,
one stock), and a family of two UPs (two colours)."""

from typing import Any

DEMO_SEED: dict[str, Any] = {
    "app": {"client_id": "sandbox-app", "client_secret": "sandbox-secret",
            "application_id": 5503910054141466},
    "sellers": [
        {"id": 123456789, "nickname": "DEMO_SELLER", "site_id": "MLA"},
        {"id": 987654321, "nickname": "DEMO_UP_SELLER", "site_id": "MLA",
         "user_product_seller": True, "warehouse_management": True, "stores": [
             {"id": "70001", "network_node_id": "ARP70001", "description": "Depósito Central"},
             {"id": "70002", "network_node_id": "ARP70002", "description": "Depósito Norte",
              "services": {"stock_location": ["drop_off", "self_service"]}}]},
    ],
    "items": [
        {"id": "MLA1000000001", "seller_id": 123456789, "title": "Taza de cerámica blanca",
         "price": 4500, "currency_id": "ARS", "available_quantity": 25, "seller_sku": "MUG-01"},
        {"id": "MLA1000000002", "seller_id": 123456789, "title": "Set de 2 tazas",
         "price": 8200, "currency_id": "ARS", "available_quantity": 10, "seller_sku": "MUG-01-X2"},
        {"id": "MLA1000000003", "seller_id": 123456789, "title": "Remera básica algodón",
         "price": 12000, "currency_id": "ARS", "variations": [
             {"id": 180000000101, "price": 12000, "available_quantity": 8,
              "seller_sku": "TEE-BLK-M", "attribute_combinations": [
                  {"id": "COLOR", "name": "Color", "value_id": "52049",
                   "value_name": "Negro"},
                  {"id": "SIZE", "name": "Talle", "value_id": None, "value_name": "M"}]},
             {"id": 180000000102, "price": 12000, "available_quantity": 5,
              "seller_sku": "TEE-BLK-L", "attribute_combinations": [
                  {"id": "COLOR", "name": "Color", "value_id": "52049",
                   "value_name": "Negro"},
                  {"id": "SIZE", "name": "Talle", "value_id": None, "value_name": "L"}]},
             {"id": 180000000103, "price": 12000, "available_quantity": 0,
              "seller_sku": "TEE-WHT-M", "attribute_combinations": [
                  {"id": "COLOR", "name": "Color", "value_id": "52055",
                   "value_name": "Blanco"},
                  {"id": "SIZE", "name": "Talle", "value_id": None, "value_name": "M"}]}]},
        {"id": "MLA1000000004", "seller_id": 123456789, "title": "Yerba mate 1 kg",
         "price": 5300, "currency_id": "ARS", "available_quantity": 40,
         "seller_custom_field": "YERBA-1KG"},
        # the UP seller: MLAU2000000001 is sold by two items (classic and premium listing)
        {"id": "MLA2000000001", "seller_id": 987654321, "title": "Mate de calabaza",
         "price": 9500, "currency_id": "ARS", "seller_sku": "MATE-CAL",
         "user_product_id": "MLAU2000000001", "listing_type_id": "gold_special",
         "stock_locations": [{"store_id": "70001", "quantity": 12},
                             {"store_id": "70002", "quantity": 5}]},
        {"id": "MLA2000000002", "seller_id": 987654321, "title": "Mate de calabaza",
         "price": 10900, "currency_id": "ARS", "seller_sku": "MATE-CAL",
         "user_product_id": "MLAU2000000001", "listing_type_id": "gold_pro"},
        {"id": "MLA2000000003", "seller_id": 987654321, "title": "Termo 1 l Negro",
         "family_name": "Termo 1 l", "price": 32000, "currency_id": "ARS",
         "seller_sku": "TERMO-NEG", "user_product_id": "MLAU2000000002",
         "stock_locations": [{"store_id": "70001", "quantity": 4},
                             {"store_id": "70002", "quantity": 6}]},
        {"id": "MLA2000000004", "seller_id": 987654321, "title": "Termo 1 l Rojo",
         "family_name": "Termo 1 l", "price": 32000, "currency_id": "ARS",
         "seller_sku": "TERMO-ROJ", "user_product_id": "MLAU2000000003",
         "stock_locations": [{"store_id": "70001", "quantity": 0},
                             {"store_id": "70002", "quantity": 3}]},
    ],
    "tokens": [{"user_id": 123456789, "access_token": "APP_USR-demo-access-123456789",
                "refresh_token": "TG-demo-refresh-123456789"},
               {"user_id": 987654321, "access_token": "APP_USR-demo-access-987654321",
                "refresh_token": "TG-demo-refresh-987654321"}],
}
