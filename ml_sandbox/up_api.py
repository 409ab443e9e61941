"""User Products over HTTP: ML's endpoints (ml_api.md §2.5-2.6) and their ``/_sandbox``
controls (ML-side stock changes, UPtin migrations, the replication queue, stores)."""

from typing import Any

from flask import Flask, Response, jsonify, request

from ml_sandbox.api import args, caller, payload, signed_in
from ml_sandbox.errors import bad_request
from ml_sandbox.state import SandboxState
from ml_sandbox.user_products import stock_location_note


def register(app: Flask, state: SandboxState) -> None:
    @app.get("/user-products/<up_id>")
    def user_product_get(up_id: str) -> Response:
        return jsonify(state.user_product_view(up_id, signed_in(state)))

    @app.get("/user-products/<up_id>/stock")
    def user_product_stock(up_id: str) -> Response:
        body, version = state.up_stock_view(up_id, signed_in(state))
        response = jsonify(body)
        response.headers["x-version"] = str(version)
        return response

    @app.put("/user-products/<up_id>/stock/type/<kind>")
    def user_product_stock_put(up_id: str, kind: str) -> Response:
        body, version, notes = state.put_up_stock(
            up_id, signed_in(state), kind, request.get_json(silent=True),
            request.headers.get("x-version"))
        state.emit_later(notes)
        response = jsonify(body)
        response.headers["x-version"] = str(version)
        return response

    @app.get("/sites/<site_id>/user-products-families/<int:family_id>")
    def family_get(site_id: str, family_id: int) -> Response:
        return jsonify(state.family_view(site_id, family_id, signed_in(state)))

    @app.get("/users/<int:user_id>/stores/search")
    def stores_search(user_id: int) -> Response:
        return jsonify(state.stores_search(user_id, caller(state), args()))

    # --- controls ------------------------------------------------------------------

    def deliveries(notes: list[dict[str, Any]], data: dict[str, Any]) -> list[dict[str, Any]]:
        return state.emit(notes, data) if data.get("notify", True) else []

    @app.post("/_sandbox/stores")
    def control_add_store() -> Response:
        data = payload()
        if "user_id" not in data or "id" not in data:
            raise bad_request("user_id and id are required")
        return jsonify(state.add_store(int(data["user_id"]), data))

    @app.post("/_sandbox/user-products/<up_id>/stock")
    def control_up_stock(up_id: str) -> Response:
        data = payload()
        body, version = state.ml_stock_change(up_id, data.get("locations"))
        note = stock_location_note({"id": up_id, "user_id": body["user_id"]})
        return jsonify({"stock": body, "version": version,
                        "deliveries": deliveries([note], data)})

    @app.post("/_sandbox/items/<item_id>/migrate")
    def control_migrate(item_id: str) -> Response:
        data = payload()
        result, notes = state.migrate_item(item_id, data)
        return jsonify({**result, "deliveries": deliveries(notes, data)})

    @app.get("/_sandbox/replications")
    def control_replications() -> Response:
        return jsonify({"delay": state.replication_delay,
                        "pending": state.pending_sync_view()})

    @app.post("/_sandbox/replications/flush")
    def control_replications_flush() -> Response:
        return jsonify({"applied": state.apply_due_syncs(everything=True)})
