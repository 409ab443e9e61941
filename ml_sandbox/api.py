"""The ML endpoints the connector uses, over :class:`ml_sandbox.state.SandboxState`."""

import threading
from typing import Any

from flask import Flask, Response, jsonify, redirect, request

from ml_sandbox.errors import MlApiError, bad_request
from ml_sandbox.notify import deliver
from ml_sandbox.state import SandboxState


def caller(state: SandboxState) -> int | None:
    return state.authenticate(request.headers.get("Authorization"))


def signed_in(state: SandboxState) -> int:
    """The caller of a private resource: 401 as ML answers without a token."""
    user_id = caller(state)
    if user_id is None:
        raise MlApiError(401, "unauthorized", "authorization value not present", [])
    return user_id


def args() -> dict[str, str]:
    return dict(request.args.items())


def payload() -> dict[str, Any]:
    """A control's JSON object body ({} when absent or not an object)."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def register(app: Flask, state: SandboxState) -> None:
    @app.post("/oauth/token")
    def oauth_token() -> Response:
        if not request.form:
            raise MlApiError(400, "invalid_request", "parameters must be sent form-encoded "
                             "in the body", [], oauth=True)
        return jsonify(state.token_grant(dict(request.form)))

    @app.get("/authorization")
    def authorization() -> Any:
        user_id = int(request.args.get("user_id") or next(iter(state.sellers), 0))
        if request.args.get("client_id") != state.client_id or not user_id:
            raise bad_request("unknown client_id or no seller to authorize")
        challenge = request.args.get("code_challenge")
        if state.pkce and (not challenge or request.args.get("code_challenge_method") != "S256"):
            raise bad_request("this application requires PKCE (code_challenge, S256)")
        code = state.new_code(user_id, challenge)
        target = request.args.get("redirect_uri") or state.redirect_uri or "/"
        state_arg = request.args.get("state", "")
        separator = "&" if "?" in target else "?"
        return redirect(f"{target}{separator}code={code}&state={state_arg}")

    @app.get("/users/me")
    def users_me() -> Response:
        return jsonify(state.sellers[signed_in(state)])

    @app.get("/users/<int:user_id>")
    def users_get(user_id: int) -> Response:
        caller(state)
        seller = state.sellers.get(user_id)
        if seller is None:
            raise MlApiError(404, "not_found", f"user {user_id} not found", [])
        return jsonify(seller)

    @app.get("/items/<item_id>")
    def items_get(item_id: str) -> Response:
        projection = request.args.get("attributes")
        return jsonify(state.item_view(
            item_id, caller(state), include_all=request.args.get("include_attributes") == "all",
            projection=projection.split(",") if projection else None))

    @app.get("/items")
    def items_multiget() -> Response:
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids:
            raise bad_request("ids is required")
        projection = request.args.get("attributes")
        return jsonify(state.multiget(
            ids, caller(state), include_all=request.args.get("include_attributes") == "all",
            projection=projection.split(",") if projection else None))

    @app.put("/items/<item_id>")
    def items_put(item_id: str) -> Response:
        body = request.get_json(silent=True)
        if body is None:
            raise bad_request("the body must be JSON")
        item = state.update_item(item_id, caller(state), body)
        if state.notify_items and state.callback_url:  # ML tells about every change
            notification = {"topic": "items", "resource": f"/items/{item_id}",
                            "user_id": item["seller_id"]}
            threading.Thread(target=deliver, args=(state, notification, {}),
                             daemon=True).start()
        return jsonify(item)

    @app.get("/users/<int:user_id>/items/search")
    def items_search(user_id: int) -> Response:
        return jsonify(state.search_items(user_id, caller(state), args()))

    @app.get("/orders/<int:order_id>")
    def orders_get(order_id: int) -> Response:
        order, missing = state.order_view(order_id, caller(state))
        response = jsonify(order)
        if missing:
            response.status_code = 206
            response.headers["X-Content-Missing"] = ", ".join(missing)
        return response

    @app.get("/orders/search")
    def orders_search() -> Response:
        return jsonify(state.search_orders(caller(state), args()))

    @app.get("/missed_feeds")
    def missed_feeds() -> Response:
        return jsonify(state.missed_feeds(args(), signed_in(state)))
