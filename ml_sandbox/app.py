"""The sandbox as a Flask app: ML's endpoints, plus JSON controls under ``/_sandbox``.

Controls (all JSON):

* ``POST /_sandbox/seed`` ``{app?, sellers[], items[], tokens[]}`` -> issued tokens;
  ``POST /_sandbox/reset``; ``POST /_sandbox/tokens`` ``{user_id, expires_in?}``;
  ``POST /_sandbox/authorize`` ``{user_id}`` -> ``{code}``.
* ``POST /_sandbox/config`` ``{token_ttl?, partial_orders?, callback_url?,
  orders_search_max_limit?, notify_items?, notify_topics?, replication_delay?}``
  (``notify_topics``: the topics notified for *every* change, the seller's own API writes
  included, as ML does; ``notify_items`` is ``items`` in it. ``replication_delay``: seconds
  before ML copies a UP's stock to its other items; 0 copies at once).
* ``POST /_sandbox/faults`` ``{next: [{status, empty?, retry_after?, path?}], rate_429?,
  rate_5xx?, latency_ms?, path_latency_ms?, rate_cap?, seed?}``; ``DELETE /_sandbox/faults``.
* ``POST /_sandbox/orders`` ``{item_id, variation_id?, quantity, buyer_id?, status?,
  last_updated?, notify?, logistic_type?, store_id?|network_node_id?, origin_pending?,
  receiver?}``; ``POST /_sandbox/orders/<id>/pay|cancel|touch``.
* User Products (:mod:`ml_sandbox.up_api`): ``POST /_sandbox/stores``,
  ``POST /_sandbox/user-products/<id>/stock`` (ML-side change, posts ``stock-location``),
  ``POST /_sandbox/items/<id>/migrate`` (UPtin), ``GET /_sandbox/replications``,
  ``POST /_sandbox/replications/flush``.
* After the sale (:mod:`ml_sandbox.after_sale_api`):
  ``POST /_sandbox/shipments/<id>/status`` ``{status, substatus?}``, ``POST /_sandbox/packs``
  ``{orders: [...]}``, ``POST /_sandbox/questions`` ``{item_id, text}``,
  ``POST /_sandbox/questions/<id>/ban|review|approve|close|disable|delete``; each posts its
  topic (``notify``, ``duplicates``, ``drop``, ``callback_url`` as for ``/_sandbox/notify``).
* ``POST /_sandbox/notify`` ``{topic, resource, user_id, callback_url?, duplicates?, drop?,
  user_id_as_string?, no_id?, retries?}``: a notification not answered 200 within 500 ms is
  re-sent up to ``retries`` times, then lands in ``/missed_feeds`` (some topics spell
  ``recieved``, as ML does).
* ``GET /_sandbox/calls`` (``?since=`` epoch seconds), ``DELETE /_sandbox/calls``;
  ``GET /_sandbox/state`` (grants, deleted variations, raw items, orders, stores, user
  products, families, shipments, packs, questions).
"""

import threading
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request

from ml_sandbox import after_sale_api, api, controls, up_api
from ml_sandbox.errors import MlApiError
from ml_sandbox.faults import Faults, fault_response
from ml_sandbox.notify import deliver
from ml_sandbox.state import SandboxState


def create_app(state: SandboxState | None = None) -> Flask:
    """The sandbox app over ``state`` (a fresh one by default); ``app.config['STATE']``."""
    state = state or SandboxState()
    faults = Faults()
    calls: list[dict[str, Any]] = []
    calls_lock = threading.Lock()
    app = Flask("ml_sandbox")
    app.config["STATE"] = state
    app.config["FAULTS"] = faults
    app.config["CALLS"] = calls
    state.notify_hook = lambda base, data: deliver(state, base, data)

    @app.errorhandler(MlApiError)
    def _ml_error(exc: MlApiError) -> Response:
        response = jsonify(exc.body())
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.before_request
    def _record_and_inject() -> Response | None:
        state.apply_due_syncs(background=True)  # ML's replication has happened by now
        if request.path.startswith("/_sandbox"):
            return None
        now = time.time()
        body: Any = request.get_json(silent=True)
        if body is None and request.form:
            body = {k: ("***" if k in ("client_secret", "refresh_token", "code") else v)
                    for k, v in request.form.items()}
        entry = {"method": request.method, "path": request.path, "query": api.args(),
                 "body": body, "time": now, "status": None}
        with calls_lock:
            calls.append(entry)
        g.call = entry
        delay = faults.latency(request.method, request.path)
        if delay:
            time.sleep(delay)
        fault = faults.verdict(request.path, now)
        return fault_response(fault, request.path) if fault is not None else None

    @app.after_request
    def _status(response: Response) -> Response:
        entry = g.get("call")
        if entry is not None:
            entry["status"] = response.status_code
        return response

    api.register(app, state)
    up_api.register(app, state)
    after_sale_api.register(app, state)
    controls.register(app, state, faults, calls, calls_lock)
    return app
