"""The sandbox as a Flask app: ML's endpoints, plus JSON controls under ``/_sandbox``.

Controls (all JSON):

* ``POST /_sandbox/seed`` ``{app?, sellers[], items[], tokens[]}`` -> issued tokens;
  ``POST /_sandbox/reset``; ``POST /_sandbox/tokens`` ``{user_id, expires_in?}``;
  ``POST /_sandbox/authorize`` ``{user_id}`` -> ``{code}``.
* ``POST /_sandbox/config`` ``{token_ttl?, partial_orders?, callback_url?,
  orders_search_max_limit?, notify_items?}`` (``notify_items``: an ``items`` notification for
  every item change, as ML sends).
* ``POST /_sandbox/faults`` ``{next: [{status, empty?, retry_after?, path?}], rate_429?,
  rate_5xx?, latency_ms?, rate_cap?, seed?}``; ``DELETE /_sandbox/faults``.
* ``POST /_sandbox/orders`` ``{item_id, variation_id?, quantity, buyer_id?, status?,
  last_updated?, notify?}``; ``POST /_sandbox/orders/<id>/pay|cancel|touch``.
* ``POST /_sandbox/notify`` ``{topic, resource, user_id, callback_url?, duplicates?, drop?,
  user_id_as_string?, no_id?, retries?}``: a notification not answered 200 within 500 ms is
  re-sent up to ``retries`` times, then lands in ``/missed_feeds`` (some topics spell
  ``recieved``, as ML does).
* ``GET /_sandbox/calls`` (``?since=`` epoch seconds), ``DELETE /_sandbox/calls``;
  ``GET /_sandbox/state`` (grants, deleted variations, raw items and orders).
"""

import json
import random
import threading
import time
from collections import deque
from typing import Any

import httpx
from flask import Flask, Response, g, jsonify, redirect, request

from ml_sandbox.errors import SERVER_ERRORS, TOO_MANY_REQUESTS, MlApiError, bad_request
from ml_sandbox.state import SandboxState, ml_time

ACCEPT_WITHIN_MS = 500  # ML wants the 200 within 500 ms
MISSPELLED_TOPICS = frozenset({"public_candidates", "public_offers", "catalog_suggestions"})


class Faults:
    """Injected trouble: a queue of forced answers, random 429/5xx, latency, a rate cap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.forced: deque[dict[str, Any]] = deque()
        self.rate_429 = 0.0
        self.rate_5xx = 0.0
        self.latency_ms = 0.0
        self.rate_cap: int | None = None
        self.random = random.Random()
        self.arrivals: deque[float] = deque()

    def configure(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.forced.extend(data.get("next", []))
            self.rate_429 = float(data.get("rate_429", self.rate_429))
            self.rate_5xx = float(data.get("rate_5xx", self.rate_5xx))
            self.latency_ms = float(data.get("latency_ms", self.latency_ms))
            if "rate_cap" in data:
                self.rate_cap = int(data["rate_cap"]) if data["rate_cap"] else None
            if "seed" in data:
                self.random.seed(data["seed"])

    def verdict(self, path: str, now: float) -> dict[str, Any] | None:
        """The forced answer for this request, if any (decided under the lock)."""
        with self.lock:
            self.arrivals.append(now)
            while self.arrivals and self.arrivals[0] <= now - 1.0:
                self.arrivals.popleft()
            if self.rate_cap is not None and len(self.arrivals) > self.rate_cap:
                return {"status": 429, "empty": True}
            for index, fault in enumerate(self.forced):
                if not fault.get("path") or path.startswith(fault["path"]):
                    del self.forced[index]
                    return fault
            roll = self.random.random()
            if roll < self.rate_429:
                return {"status": 429, "empty": self.random.random() < 0.5}
            if roll < self.rate_429 + self.rate_5xx:
                return {"status": self.random.choice([500, 502, 503, 504])}
            return None


def _fault_response(fault: dict[str, Any], path: str) -> Response:
    status = int(fault.get("status", 503))
    if status == 429 and path == "/oauth/token":  # the OAuth server's own shape
        body = json.dumps({"error_description": "try again in a few seconds",
                           "error": "local_rate_limited", "status": 429, "cause": []})
    elif status == 429:
        body = "" if fault.get("empty") else json.dumps(TOO_MANY_REQUESTS)
    else:
        error, message = SERVER_ERRORS.get(status, ("internal_server_error", "Error"))
        body = json.dumps({"message": message, "error": error, "status": status, "cause": []})
    response = Response(body, status=status, mimetype="application/json")
    if fault.get("retry_after") is not None:
        response.headers["Retry-After"] = str(fault["retry_after"])
    return response


def create_app(state: SandboxState | None = None) -> Flask:  # noqa: PLR0915 - one small closure per route
    """The sandbox app over ``state`` (a fresh one by default); ``app.config['STATE']``."""
    state = state or SandboxState()
    faults = Faults()
    calls: list[dict[str, Any]] = []
    calls_lock = threading.Lock()
    app = Flask("ml_sandbox")
    app.config["STATE"] = state
    app.config["FAULTS"] = faults
    app.config["CALLS"] = calls

    def caller() -> int | None:
        return state.authenticate(request.headers.get("Authorization"))

    def args() -> dict[str, str]:
        return dict(request.args.items())

    @app.errorhandler(MlApiError)
    def _ml_error(exc: MlApiError) -> Response:
        response = jsonify(exc.body())
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.before_request
    def _record_and_inject() -> Response | None:
        if request.path.startswith("/_sandbox"):
            return None
        now = time.time()
        body: Any = request.get_json(silent=True)
        if body is None and request.form:
            body = {k: ("***" if k in ("client_secret", "refresh_token", "code") else v)
                    for k, v in request.form.items()}
        entry = {"method": request.method, "path": request.path, "query": args(),
                 "body": body, "time": now, "status": None}
        with calls_lock:
            calls.append(entry)
        g.call = entry
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        fault = faults.verdict(request.path, now)
        return _fault_response(fault, request.path) if fault is not None else None

    @app.after_request
    def _status(response: Response) -> Response:
        entry = g.get("call")
        if entry is not None:
            entry["status"] = response.status_code
        return response

    # --- ML API -------------------------------------------------------------------

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
        user_id = caller()
        if user_id is None:
            raise MlApiError(401, "unauthorized", "authorization value not present", [])
        return jsonify(state.sellers[user_id])

    @app.get("/users/<int:user_id>")
    def users_get(user_id: int) -> Response:
        caller()
        seller = state.sellers.get(user_id)
        if seller is None:
            raise MlApiError(404, "not_found", f"user {user_id} not found", [])
        return jsonify(seller)

    @app.get("/items/<item_id>")
    def items_get(item_id: str) -> Response:
        projection = request.args.get("attributes")
        return jsonify(state.item_view(
            item_id, caller(), include_all=request.args.get("include_attributes") == "all",
            projection=projection.split(",") if projection else None))

    @app.get("/items")
    def items_multiget() -> Response:
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids:
            raise bad_request("ids is required")
        projection = request.args.get("attributes")
        return jsonify(state.multiget(
            ids, caller(), include_all=request.args.get("include_attributes") == "all",
            projection=projection.split(",") if projection else None))

    @app.put("/items/<item_id>")
    def items_put(item_id: str) -> Response:
        body = request.get_json(silent=True)
        if body is None:
            raise bad_request("the body must be JSON")
        item = state.update_item(item_id, caller(), body)
        if state.notify_items and state.callback_url:  # ML tells about every change
            threading.Thread(target=deliver, daemon=True, args=(
                {"topic": "items", "resource": f"/items/{item_id}",
                 "user_id": item["seller_id"]}, {})).start()
        return jsonify(item)

    @app.get("/users/<int:user_id>/items/search")
    def items_search(user_id: int) -> Response:
        return jsonify(state.search_items(user_id, caller(), args()))

    @app.get("/orders/<int:order_id>")
    def orders_get(order_id: int) -> Response:
        order, missing = state.order_view(order_id, caller())
        response = jsonify(order)
        if missing:
            response.status_code = 206
            response.headers["X-Content-Missing"] = ", ".join(missing)
        return response

    @app.get("/orders/search")
    def orders_search() -> Response:
        return jsonify(state.search_orders(caller(), args()))

    @app.get("/missed_feeds")
    def missed_feeds() -> Response:
        if caller() is None:
            raise MlApiError(401, "unauthorized", "authorization value not present", [])
        return jsonify(state.missed_feeds(args()))

    # --- controls -------------------------------------------------------------------

    def payload() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    @app.post("/_sandbox/seed")
    def control_seed() -> Response:
        return jsonify(state.seed(payload()))

    @app.post("/_sandbox/reset")
    def control_reset() -> Response:
        fresh = SandboxState(client_id=state.client_id, client_secret=state.client_secret,
                             application_id=state.application_id,
                             redirect_uri=state.redirect_uri)
        with state.lock:
            for key, value in vars(fresh).items():
                if key not in ("lock", "clock"):
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
        with state.lock:
            for key in ("token_ttl", "partial_orders", "callback_url",
                        "orders_search_max_limit", "notify_items"):
                if key in data:
                    setattr(state, key, data[key])
        return jsonify({"ok": True})

    @app.post("/_sandbox/faults")
    def control_faults() -> Response:
        faults.configure(payload())
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
                            "missed": state.missed, "sellers": list(state.sellers.values())})

    @app.post("/_sandbox/items")
    def control_add_item() -> Response:
        return jsonify(state.add_item(payload()))

    def notify_order(order: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {"order": order}
        if data.get("notify", True) and (data.get("callback_url") or state.callback_url):
            result["deliveries"] = deliver(
                {"topic": "orders_v2", "resource": f"/orders/{order['id']}",
                 "user_id": order["seller"]["id"]}, data)
            if state.notify_items:  # the listing's stock moved too
                for line in order["order_items"]:
                    result["deliveries"] += deliver(
                        {"topic": "items", "resource": f"/items/{line['item']['id']}",
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

    def deliver(base: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
        """POST the notification (1 + duplicates times) or drop it into missed_feeds."""
        url = data.get("callback_url") or state.callback_url
        user_id: Any = int(base["user_id"])
        if data.get("user_id_as_string"):
            user_id = str(user_id)
        now = state.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        notification = {"_id": f"{random.getrandbits(64):016x}", "resource": base["resource"],
                        "user_id": user_id, "topic": base["topic"],
                        "application_id": state.application_id, "attempts": 1,
                        "sent": now, "received": now}
        if data.get("no_id"):  # the BR doc's shape
            del notification["_id"]
        if base["topic"] in MISSPELLED_TOPICS:
            notification["recieved"] = notification.pop("received")
        if data.get("drop") or not url:
            state.record_missed(notification, url or "", None, "", 0)
            return [{"dropped": True}]
        deliveries = []
        retries = int(data.get("retries", 0))  # ML: up to 8 tries within an hour; here at once
        for _copy in range(1 + int(data.get("duplicates", 0))):
            for attempt in range(1, retries + 2):
                notification["attempts"] = attempt
                started = time.monotonic()
                try:
                    answer = httpx.post(url, json=notification, timeout=5.0,
                                        headers={"accept": "application/json"})
                    code: int | None = answer.status_code
                    text = answer.text[:200]
                except httpx.HTTPError as exc:
                    code, text = None, type(exc).__name__
                elapsed = int((time.monotonic() - started) * 1000)
                accepted = code == 200 and elapsed <= ACCEPT_WITHIN_MS  # a slow 200 is re-sent
                deliveries.append({"status": code, "ms": elapsed, "attempt": attempt,
                                   "accepted": accepted})
                if accepted:
                    break
            else:
                if code != 200:
                    state.record_missed(dict(notification), url, code, text, elapsed)
        return deliveries

    @app.post("/_sandbox/notify")
    def control_notify() -> Response:
        data = payload()
        for key in ("topic", "resource", "user_id"):
            if key not in data:
                raise bad_request(f"{key} is required")
        return jsonify({"deliveries": deliver(data, data)})

    return app
