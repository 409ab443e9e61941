"""After the sale (ml_api.md §4, §7): every order ships (``shipping.id``), carts of orders
share a ``pack_id`` and one shipment, shipments move through ML's statuses, and labels can be
printed once a shipment is ``ready_to_ship`` (printing marks it ``printed``, as on ML)."""

import copy
from typing import Any

from ml_sandbox import shipment_views
from ml_sandbox.common import is_number, ml_time
from ml_sandbox.errors import MlApiError, bad_request, forbidden, not_found
from ml_sandbox.labels import ZPL_FILE, label_lines, pdf_document, zipped, zpl_document
from ml_sandbox.orders import OrderRules

LOGISTIC_TYPES = ("drop_off", "xd_drop_off", "cross_docking", "self_service", "fulfillment")
FORWARD = ("pending", "handling", "ready_to_ship", "shipped")
FINAL = ("delivered", "not_delivered", "cancelled")
PRINTABLE_SUBSTATUSES = ("ready_to_print", "printed")
MAX_LABELS = 50
FULL_CENTERS = {"MLA": "ARBA01", "MLB": "BRSP01", "MLM": "MXCD01"}  # a Full warehouse a site
SUBSTATUSES = frozenset({  # the orders_search fixture's list, plus ml_api.md §7's
    "cost_exceeded", "regenerating", "waiting_for_label_generation", "ready_to_print",
    "invoice_pending", "printed", "in_pickup_list", "ready_for_pkl_creation",
    "ready_for_pickup", "picked_up", "stale", "in_hub", "measures_ready",
    "waiting_for_carrier_authorization", "authorized_by_carrier", "in_plp", "delayed",
    "waiting_for_withdrawal", "contact_with_carrier_required", "receiver_absent", "reclaimed",
    "not_localized", "forwarded_to_third", "soon_deliver", "refused_delivery", "bad_address",
    "negative_feedback", "need_review", "damaged", "fulfilled_feedback", "no_action_taken",
    "double_refund", "returning_to_sender", "retained", "stolen", "returned", "confiscated",
    "to_review", "destroyed", "claimed_me", "buffered", "out_for_delivery"})


def shipment_note(shipment: dict[str, Any]) -> dict[str, Any]:
    return {"topic": "shipments", "resource": f"/shipments/{shipment['id']}",
            "user_id": shipment["seller_id"]}


class ShippingRules(OrderRules):
    # --- orders open, pay and cancel their shipment ---------------------------------

    def create_order(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            item = self.items.get(spec.get("item_id", ""))
            logistic = spec.get("logistic_type") or (item or {}).get("shipping", {}).get(
                "logistic_type", "drop_off")
            if logistic not in LOGISTIC_TYPES:
                raise bad_request(f"logistic_type must be one of {', '.join(LOGISTIC_TYPES)}")
            shared = self.shipments.get(int(spec.get("shipping_id") or 0))
            order = super().create_order({**spec, "logistic_type": logistic})
            taken = next(iter(self.order_stock.get(order["id"]) or []), None)
            if shared is not None:  # a cart: one shipment for its orders
                shared["order_ids"].append(order["id"])
                shared["declared_value"] += order["total_amount"]
                shared["items"] += _shipped_items(order)
            else:
                shipment = self._open_shipment(order, logistic, taken, spec)
                if self.wants("shipments"):
                    self.emit_later([shipment_note(shipment)])
            return order

    def _open_shipment(self, order: dict[str, Any], logistic: str,
                       taken: dict[str, Any] | None, spec: dict[str, Any]) -> dict[str, Any]:
        now = ml_time(self.now())
        node = None
        origin = "selling_address"
        if taken is not None and taken["type"] == "seller_warehouse":
            origin = "seller_warehouse"
            node = {"logistic_center_id": None, "node_id": taken["network_node_id"]}
        elif logistic == "fulfillment":
            origin = "fulfillment"
            node = {"logistic_center_id": FULL_CENTERS.get(order["context"]["site"],
                                                           f"{order['context']['site']}01"),
                    "node_id": None}
        receiver = shipment_views.receiver(order["buyer"]["id"], spec.get("receiver"))
        shipment = {
            "id": order["shipping"]["id"], "order_ids": [order["id"]],
            "pack_id": order["pack_id"], "seller_id": order["seller"]["id"],
            "buyer_id": order["buyer"]["id"], "site_id": order["context"]["site"],
            "status": "pending", "substatus": None, "logistic_type": logistic,
            "origin_type": origin, "node": node,
            "origin_pending": bool(spec.get("origin_pending")) and node is not None,
            "tracking_number": None, "receiver": receiver,
            "declared_value": order["total_amount"], "currency_id": order["currency_id"],
            "items": _shipped_items(order),
            "date_created": now, "last_updated": now, "history": {},
            "date_first_printed": None,
        }
        self.shipments[shipment["id"]] = shipment
        if order["status"] == "paid":
            self._move(shipment, "handling", None)
        return shipment

    def pay_order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            order = super().pay_order(order_id)
            shipment = self.shipments.get(order["shipping"]["id"])
            if shipment is not None and shipment["status"] == "pending":
                self._move(shipment, "handling", None)
                if self.wants("shipments"):
                    self.emit_later([shipment_note(shipment)])
            return order

    def cancel_order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            order = super().cancel_order(order_id)
            shipment = self.shipments.get(order["shipping"]["id"])
            if (shipment is not None and shipment["status"] in FORWARD[:3]
                    and all(self.orders[o]["status"] == "cancelled"
                            for o in shipment["order_ids"] if o in self.orders)):
                self._move(shipment, "cancelled", None)
                if self.wants("shipments"):
                    self.emit_later([shipment_note(shipment)])
            return order

    # --- shipments --------------------------------------------------------------------

    def shipment_view(self, shipment_id: int, caller: int | None, *,
                      new_format: bool) -> dict[str, Any]:
        with self.lock:
            shipment = self._shipment(shipment_id)
            if caller not in (shipment["seller_id"], shipment["buyer_id"]):
                raise forbidden()
            shipment = copy.deepcopy(shipment)
        if new_format:
            return shipment_views.new_format(shipment)
        return shipment_views.old_format(shipment)

    def _shipment(self, shipment_id: int) -> dict[str, Any]:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            raise not_found(f"Shipment {shipment_id} not found", "not_found")
        return shipment

    def move_shipment(self, shipment_id: int, status: Any,
                      substatus: Any = None) -> dict[str, Any]:
        """ML moves a shipment on (``/_sandbox/shipments/{id}/status``): forward along
        pending, handling, ready_to_ship, shipped, then delivered or not_delivered; cancelled
        before it ships. The same status with another substatus is a move too."""
        with self.lock:
            shipment = self._shipment(shipment_id)
            current = shipment["status"]
            if status not in FORWARD + FINAL:
                raise bad_request(f"unknown shipment status {status!r}")
            if substatus is not None and substatus not in SUBSTATUSES:
                raise bad_request(f"unknown shipment substatus {substatus!r}")
            allowed = (
                (status in FORWARD and current in FORWARD
                 and FORWARD.index(status) >= FORWARD.index(current))
                or (status in ("delivered", "not_delivered") and current in ("shipped", status))
                or (status == "cancelled" and current in (*FORWARD[:3], "cancelled")))
            if not allowed:
                raise bad_request(f"shipment {shipment_id} is {current}: it cannot become "
                                  f"{status}")
            self._move(shipment, status, substatus)
            return copy.deepcopy(shipment)

    def _move(self, shipment: dict[str, Any], status: str, substatus: str | None) -> None:
        now = ml_time(self.now())
        if status != shipment["status"]:
            shipment["history"][f"date_{status}"] = now
        if substatus is None and status == "ready_to_ship" \
                and shipment["logistic_type"] != "fulfillment":
            substatus = ("printed" if shipment["substatus"] == "printed"
                         else "ready_to_print")
        shipment["status"], shipment["substatus"] = status, substatus
        if status in (*FORWARD[2:], "delivered", "not_delivered") \
                and shipment["tracking_number"] is None:
            shipment["tracking_number"] = f"SBX{shipment['id']}{shipment['site_id'][-1]}"
        if status not in ("pending", "handling"):  # the origin is known by the label
            shipment["origin_pending"] = False
        shipment["last_updated"] = now

    # --- labels -------------------------------------------------------------------------

    def labels(self, caller: int | None, ids_arg: str | None,
               response_type: str) -> tuple[bytes, str, list[dict[str, Any]]]:
        """``GET /shipment_labels``: the file, its content type, and the ``shipments``
        notifications for labels printed the first time. All or nothing: one shipment that
        cannot be printed fails the call, naming each such shipment in ``failed_shipments``."""
        ids = _shipment_ids(ids_arg)
        if response_type not in ("pdf", "zpl2"):
            raise bad_request("response_type must be pdf or zpl2")
        with self.lock:
            found = [self._shipment(sid) for sid in ids]
            failed = [f for f in (_failure(s, caller) for s in found) if f is not None]
            if failed:
                raise MlApiError(400, failed[0]["cause"].lower(),
                                 "Unable to print the labels of shipments "
                                 + ", ".join(f"{f['shipment_id']} ({f['message']})"
                                             for f in failed),
                                 [], extra={"failed_shipments": failed})
            notes = []
            for shipment in found:
                if shipment["substatus"] == "ready_to_print":  # printing marks it printed
                    self._move(shipment, "ready_to_ship", "printed")
                    shipment["date_first_printed"] = shipment["last_updated"]
                    if self.wants("shipments"):
                        notes.append(shipment_note(shipment))
            pages = [label_lines(s) for s in found]
            labels = [(s["tracking_number"] or str(s["id"]), label_lines(s)) for s in found]
        if response_type == "pdf":
            return pdf_document(pages), "application/pdf", notes
        return zipped(ZPL_FILE, zpl_document(labels)), "application/zip", notes

    # --- packs ---------------------------------------------------------------------------

    def create_pack(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A cart: two or more orders of one buyer and one seller, with one ``pack_id`` and
        one shipment. Nothing is kept when one of the orders cannot be made."""
        lines = spec.get("orders")
        if not isinstance(lines, list) or len(lines) < 2 \
                or not all(isinstance(line, dict) for line in lines):
            raise bad_request("orders must list two or more {item_id, quantity?, "
                              "variation_id?}")
        with self.lock:
            sellers = {(self.items.get(str(line.get("item_id"))) or {}).get("seller_id")
                       for line in lines}
            if len(sellers) != 1 or None in sellers:
                raise bad_request("the orders of a pack are items of one existing seller")
            pack_id = 2000004000000000 + self.new_number()
            common: dict[str, Any] = {key: spec[key] for key in (
                "buyer_id", "status", "logistic_type", "receiver", "last_updated") if key in spec}
            common.setdefault("buyer_id", 74425755)
            orders: list[dict[str, Any]] = []
            ups = {self.items[str(line.get("item_id"))].get("user_product_id")
                   for line in lines} - {None}
            saved = (copy.deepcopy({i: item for i, item in self.items.items()
                                    if i in {str(line.get("item_id")) for line in lines}
                                    or item.get("user_product_id") in ups}),
                     copy.deepcopy(self.user_products), self.next_order_id)
            try:
                for line in lines:
                    shipping = {"shipping_id": orders[0]["shipping"]["id"]} if orders else {}
                    orders.append(self.create_order(
                        {**line, **common, **shipping, "pack_id": pack_id}))
            except MlApiError:  # forget the half-made cart, as if it never was
                self.items.update(saved[0])
                self.user_products, self.next_order_id = saved[1], saved[2]
                for order in orders:
                    self.orders.pop(order["id"], None)
                    self.order_stock.pop(order["id"], None)
                    self.shipments.pop(order["shipping"]["id"], None)
                raise
            now = ml_time(self.now())
            self.packs[pack_id] = {
                "id": pack_id, "status": "released", "status_detail": None,
                "date_created": now, "last_updated": now, "family_pack_id": None,
                "buyer": {"id": int(common["buyer_id"])},
                "shipment": {"id": orders[0]["shipping"]["id"]},
                "orders": [{"id": order["id"]} for order in orders],
                "seller_id": orders[0]["seller"]["id"]}
            return self.pack_view(pack_id, orders[0]["seller"]["id"]), orders

    def pack_view(self, pack_id: int, caller: int | None) -> dict[str, Any]:
        with self.lock:
            pack = self.packs.get(pack_id)
            if pack is None:
                raise not_found(f"Pack {pack_id} not found")
            if caller not in (pack["seller_id"], pack["buyer"]["id"]):
                raise forbidden()
            view = copy.deepcopy(pack)
            if all(self.orders[o["id"]]["status"] == "cancelled" for o in pack["orders"]):
                view["status"] = "cancelled"
        view.pop("seller_id")
        return view


def _shipped_items(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": line["item"]["id"], "description": line["item"]["title"],
             "quantity": line["quantity"]} for line in order["order_items"]]


def _shipment_ids(ids_arg: str | None) -> list[int]:
    raw = [part.strip() for part in (ids_arg or "").split(",") if part.strip()]
    if not raw:
        raise bad_request("shipment_ids is required")
    if not all(is_number(part) for part in raw):
        raise bad_request("shipment_ids must be a comma-separated list of numbers")
    ids = list(dict.fromkeys(int(part) for part in raw))
    if len(ids) > MAX_LABELS:
        raise bad_request(f"The maximum number of shipment_ids per request is {MAX_LABELS}, "
                          f"got {len(ids)}")
    return ids


def _failure(shipment: dict[str, Any], caller: int | None) -> dict[str, Any] | None:
    """Why ML would not print this shipment's label, as a ``failed_shipments`` entry."""
    sid, status = shipment["id"], shipment["status"]
    if caller != shipment["seller_id"]:
        cause, message = "INVALID_SHIPMENT_CALLER", f"Shipment {sid} not printable by caller"
    elif shipment["logistic_type"] == "fulfillment":
        cause, message = ("INVALID_SHIPMENT_FF_PUBLIC",
                          f"Shipment {sid} is fulfilled by Mercado Libre")
    elif status != "ready_to_ship" or shipment["substatus"] not in PRINTABLE_SUBSTATUSES:
        cause = "NOT_PRINTABLE_STATUS"
        message = f"Shipment {sid} status is {status}" + (
            f" ({shipment['substatus']})" if shipment["substatus"] else "")
    else:
        return None
    return {"shipment_id": sid, "status": status, "substatus": shipment["substatus"],
            "cause": cause, "message": message,
            "retry": cause == "NOT_PRINTABLE_STATUS" and status in FORWARD[:3]}
