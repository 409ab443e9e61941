"""The demo catalog ``meli-connector sandbox`` serves by default (one seller, one app)."""

from typing import Any

DEMO_SEED: dict[str, Any] = {
    "app": {"client_id": "sandbox-app", "client_secret": "sandbox-secret",
            "application_id": 5503910054141466},
    "sellers": [{"id": 123456789, "nickname": "DEMO_SELLER", "site_id": "MLA"}],
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
    ],
    "tokens": [{"user_id": 123456789, "access_token": "APP_USR-demo-access-123456789",
                "refresh_token": "TG-demo-refresh-123456789"}],
}
