"""``GET /shipments/{id}`` in ML's two shapes: the current one (header ``x-format-new: true``,
fixture ``shipment_gs_doc.json``; ``origin.node`` names the store a multi-origin sale leaves
from) and the legacy one ML still answers without the header (``receiver_address``,
``logistic_type``, ``status_history``, as embedded in the ``orders_search`` fixture)."""

from typing import Any

DEFAULT_RECEIVER: dict[str, Any] = {
    "name": "Comprador Sandbox", "phone": "XXXXXXX", "comments": "",
    "address": {"address_id": 1132588531, "street_name": "Av. Corrientes",
                "street_number": "1234", "comment": "Piso 2 B", "zip_code": "1043",
                "city": "Capital Federal", "city_id": "TUxBQkNBUzQzMzE",
                "state": "Capital Federal", "state_id": "AR-C", "country": "Argentina",
                "country_id": "AR", "neighborhood": "San Nicolás",
                "latitude": -34.6037, "longitude": -58.3816}}
SELLER_ADDRESS: dict[str, Any] = {
    "address_id": 1087531691, "street_name": "Av. Belgrano", "street_number": "500",
    "comment": None, "zip_code": "1092", "city": "Capital Federal",
    "city_id": "TUxBQkNBUzQzMzE", "state": "Capital Federal", "state_id": "AR-C",
    "country": "Argentina", "country_id": "AR", "neighborhood": "Monserrat",
    "latitude": -34.6131, "longitude": -58.3772}


def receiver(buyer_id: int, given: Any) -> dict[str, Any]:
    """The receiver (name, phone, address); ``given`` overrides any part of the default."""
    given = given if isinstance(given, dict) else {}
    address = {**DEFAULT_RECEIVER["address"], **(given.get("address") or {})}
    return {**DEFAULT_RECEIVER, **{k: v for k, v in given.items() if k != "address"},
            "id": buyer_id, "address": address}


def _address(raw: dict[str, Any], types: list[str]) -> dict[str, Any]:
    return {
        "address_id": raw["address_id"],
        "address_line": f"{raw['street_name']} {raw['street_number']}",
        "street_name": raw["street_name"], "street_number": str(raw["street_number"]),
        "comment": raw.get("comment"), "zip_code": raw["zip_code"],
        "city": {"id": raw.get("city_id"), "name": raw["city"]},
        "state": {"id": raw.get("state_id"), "name": raw["state"]},
        "country": {"id": raw.get("country_id"), "name": raw["country"]},
        "neighborhood": {"id": None, "name": raw.get("neighborhood")},
        "municipality": {"id": None, "name": None},
        "agency": {"agency_id": None, "carrier_id": None, "description": None,
                   "open_hours": None, "phone": None, "type": None},
        "types": types, "latitude": raw.get("latitude"), "longitude": raw.get("longitude"),
        "geolocation_type": "ROOFTOP", "geolocation_last_updated": "2025-01-01T00:00:00Z",
        "geolocation_source": "google-maps", "delivery_preference": "residential"}


def _lead_time(shipment: dict[str, Any]) -> dict[str, Any]:
    return {
        "option_id": 721103001,
        "shipping_method": {"id": 73328, "type": "standard", "name": "Normal a domicilio",
                            "deliver_to": "address"},
        "currency_id": shipment["currency_id"], "cost": 0, "list_cost": 0,
        "cost_type": "free", "service_id": 721,
        "estimated_delivery_time": {
            "type": "known_frame", "date": None, "unit": "hour",
            "offset": {"date": None, "shipping": 48},
            "time_frame": {"from": "", "to": ""}, "pay_before": None,
            "shipping": 48, "handling": 24, "schedule": None},
        "buffering": {"date": None}}


def new_format(shipment: dict[str, Any]) -> dict[str, Any]:
    receiver_ = shipment["receiver"]
    node = None if shipment["origin_pending"] else shipment["node"]
    return {
        "id": shipment["id"], "order_id": shipment["order_ids"][0],
        "status": shipment["status"], "substatus": shipment["substatus"],
        "declared_value": shipment["declared_value"], "currency_id": shipment["currency_id"],
        "date_created": shipment["date_created"], "last_updated": shipment["last_updated"],
        "tracking_number": shipment["tracking_number"],
        "tracking_method": "MEL Distribution" if shipment["tracking_number"] else None,
        "origin": {"sender_id": shipment["seller_id"],
                   "shipping_address": _address(SELLER_ADDRESS, ["default_selling_address",
                                                                 "shipping"]),
                   "type": shipment["origin_type"],
                   "node": None if node is None else dict(node)},
        "destination": {"type": "buying_address", "receiver_id": receiver_["id"],
                        "receiver_name": receiver_["name"],
                        "receiver_phone": receiver_["phone"],
                        "comments": receiver_["comments"],
                        "shipping_address": _address(receiver_["address"],
                                                     ["default_buying_address"]),
                        "receiver_identification": {"number": "", "type": ""}},
        "dimensions": {"height": 10, "length": 20, "weight": 500, "width": 15},
        "external_reference": None, "lead_time": _lead_time(shipment),
        "source": {"site_id": shipment["site_id"]},
        "logistic": {"mode": "me2", "type": shipment["logistic_type"],
                     "direction": "forward"},
        "tags": [], "sender_id": shipment["seller_id"],
    }


def old_format(shipment: dict[str, Any]) -> dict[str, Any]:
    receiver_ = shipment["receiver"]
    receiver_address = _address(receiver_["address"], ["default_buying_address"])
    receiver_address.update(id=receiver_address.pop("address_id"),
                            receiver_name=receiver_["name"], receiver_phone=receiver_["phone"])
    sender_address = _address(SELLER_ADDRESS, ["default_selling_address"])
    sender_address["id"] = sender_address.pop("address_id")
    history = shipment["history"]
    return {
        "id": shipment["id"], "mode": "me2", "created_by": "receiver",
        "order_id": shipment["order_ids"][0], "order_cost": shipment["declared_value"],
        "base_cost": 0, "site_id": shipment["site_id"], "status": shipment["status"],
        "substatus": shipment["substatus"],
        "status_history": {key: history.get(key) for key in (
            "date_cancelled", "date_delivered", "date_first_visit", "date_handling",
            "date_not_delivered", "date_ready_to_ship", "date_shipped", "date_returned")},
        "date_created": shipment["date_created"], "last_updated": shipment["last_updated"],
        "tracking_number": shipment["tracking_number"],
        "tracking_method": "MEL Distribution" if shipment["tracking_number"] else None,
        "service_id": 721, "sender_id": shipment["seller_id"],
        "sender_address": sender_address, "receiver_id": receiver_["id"],
        "receiver_address": receiver_address,
        "shipping_items": [{**entry, "dimensions": "10.0x15.0x20.0,500.0"}
                           for entry in shipment["items"]],
        "shipping_option": {"id": 721103001, "shipping_method_id": 73328,
                            "name": "Normal a domicilio",
                            "currency_id": shipment["currency_id"], "cost": 0,
                            "list_cost": 0},
        "comments": None, "date_first_printed": shipment["date_first_printed"],
        "market_place": "MELI", "return_details": None, "tags": [], "delay": [],
        "type": "forward", "logistic_type": shipment["logistic_type"],
        "application_id": None, "return_tracking_number": None,
    }
