"""The sandbox's JSON controls under ``/_sandbox`` (see :mod:`ml_sandbox.app` for the list)."""

import threading
from typing import Any

from flask import Flask, Response, jsonify, request

from ml_sandbox.api import payload
from ml_sandbox.errors import bad_request
from ml_sandbox.faults import Faults
from ml_sandbox.notify import deliver
from ml_sandbox.state import SandboxState, ml_time


def register(app: Flask, state: SandboxState, faults: Faults,  # noqa: PLR0915 - one per route
             calls: list[dict[str, Any]], calls_lock: threading.Lock) -> None:
    @app.post("/_sandbox/seed")
    def control_seed() -> Response:
        return jsonify(state.seed(payload()))

    @app.post("/_sandbox/reset")
    def control_reset() -> Response:
        fresh = SandboxState(client_id=state.client_id, client_secret=state.client_secret,
                             application_id=state.application_id,
                             redirect_uri=state.redirect_uri)
        state.cancel_timers()
        with state.lock:
            for key, value in vars(fresh).items():
                if key not in ("lock", "clock", "notify_hook"):
                    setattr(state, key, value)
        faults.clear()
        with calls_lock:
            calls.clear()
        return jsonify({"ok": True})

    @app.post("/_sandbox/tokens")
    def control_tokens() -> Response:
        data = payload()
        return jsonify(state.issue_tokens(int(data["user_id"]),
                                          expires_in=data.get("expires_in")))

    @app.post("/_sandbox/authorize")
    def control_authorize() -> Response:
        data = payload()
        return jsonify({"code": state.new_code(int(data["user_id"]),
                                               data.get("code_challenge"))})

    @app.post("/_sandbox/config")
    def control_config() -> Response:
        data = payload()
        delay = data.get("replication_delay", 0)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise bad_request("replication_delay is a number of seconds, 0 or more")
        topics = data.get("notify_topics", [])
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            raise bad_request("notify_topics is a list of topic names")
        with state.lock:
            for key in ("token_ttl", "partial_orders", "callback_url",
                        "orders_search_max_limit", "notify_items", "replication_delay"):
                if key in data:
                    setattr(state, key, data[key])
            if "notify_topics" in data:
                state.notify_topics = set(topics)
        return jsonify({"ok": True, "notify_topics": sorted(state.notify_topics),
                        "replication_delay": state.replication_delay})

    @app.post("/_sandbox/faults")
    def control_faults() -> Response:
        try:
            faults.configure(payload())
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return jsonify({"ok": True})

    @app.delete("/_sandbox/faults")
    def control_faults_clear() -> Response:
        with faults.lock:
            faults.clear()
        return jsonify({"ok": True})

    @app.get("/_sandbox/calls")
    def control_calls() -> Response:
        since = float(request.args.get("since", 0))
        with calls_lock:
            return jsonify([dict(c) for c in calls if c["time"] >= since])

    @app.delete("/_sandbox/calls")
    def control_calls_clear() -> Response:
        with calls_lock:
            calls.clear()
        return jsonify({"ok": True})

    @app.get("/_sandbox/state")
    def control_state() -> Response:
        with state.lock:
            return jsonify({"items": state.items, "orders": list(state.orders.values()),
                            "grants": state.grants,
                            "deleted_variations": state.deleted_variations,
                            "missed": state.missed, "sellers": list(state.sellers.values()),
                            "stores": list(state.stores.values()),
                            "user_products": state.user_products,
                            "families": list(state.families.values()),
                            "shipments": list(state.shipments.values()),
                            "packs": list(state.packs.values()),
                            "questions": list(state.questions.values())})

    @app.post("/_sandbox/items")
    def control_add_item() -> Response:
        return jsonify(state.add_item(payload()))

    def notify_order(order: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {"order": order}
        if data.get("notify", True) and (data.get("callback_url") or state.callback_url):
            result["deliveries"] = deliver(
                state, {"topic": "orders_v2", "resource": f"/orders/{order['id']}",
                        "user_id": order["seller"]["id"]}, data)
            if state.notify_items:  # the listing's stock moved too
                for line in order["order_items"]:
                    result["deliveries"] += deliver(
                        state, {"topic": "items", "resource": f"/items/{line['item']['id']}",
                                "user_id": order["seller"]["id"]}, data)
        return result

    @app.post("/_sandbox/orders")
    def control_create_order() -> Response:
        data = payload()
        return jsonify(notify_order(state.create_order(data), data))

    @app.post("/_sandbox/orders/<int:order_id>/<action>")
    def control_order_action(order_id: int, action: str) -> Response:
        data = payload()
        if action == "pay":
            order = state.pay_order(order_id)
        elif action == "cancel":
            order = state.cancel_order(order_id)
        elif action == "touch":
            order = state.touch_order(order_id, data.get("last_updated") or ml_time(state.now()))
        else:
            raise bad_request(f"unknown order action {action!r}")
        return jsonify(notify_order(order, data))

    @app.post("/_sandbox/notify")
    def control_notify() -> Response:
        data = payload()
        for key in ("topic", "resource", "user_id"):
            if key not in data:
                raise bad_request(f"{key} is required")
        return jsonify({"deliveries": deliver(state, data, data)})
