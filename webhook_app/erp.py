"""``/erp/*``: the ERP's HTTP routes over :class:`erp_bridge.ErpBridge` (bearer token)."""

import hmac
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from connector_core.domain.errors import InvalidInput
from connector_core.domain.inputs import shown
from connector_core.domain.limits import BIGINT_MAX
from erp_bridge.payloads import event_json
from webhook_app.bodies import BadBody, parse_json
from webhook_app.errors import error
from webhook_app.metrics import ERP_CALLS
from webhook_app.services import WebhookServices

bp = Blueprint("erp", __name__, url_prefix="/erp")
Handler = Callable[..., tuple[Response, int] | Response]


def _services() -> WebhookServices:
    services: WebhookServices = current_app.extensions["connector"]
    return services


def _bearer_matches(header: str, token: str) -> bool:
    """``Authorization: Bearer <token>``; the scheme is case-insensitive (RFC 7235 §2.1),
    the token is compared in constant time."""
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogatepass"),
                               token.encode("utf-8", "surrogatepass"))


def authorised(view: Handler) -> Handler:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[Response, int] | Response:
        token = _services().settings.erp_api_token
        route = view.__name__
        if not token:
            ERP_CALLS.labels(route=route, status="503").inc()
            return error(503, "not_configured",
                         "ERP_API_TOKEN is not set: the /erp routes are disabled")
        if not _bearer_matches(request.headers.get("Authorization", ""), token):
            ERP_CALLS.labels(route=route, status="401").inc()
            return error(401, "unauthorized", "missing or wrong bearer token")
        try:
            result = view(*args, **kwargs)
        except (InvalidInput, BadBody) as exc:
            ERP_CALLS.labels(route=route, status="400").inc()
            return error(400, "invalid", str(exc))
        status = result[1] if isinstance(result, tuple) else result.status_code
        ERP_CALLS.labels(route=route, status=str(status)).inc()
        return result
    return wrapper


def _json_body(*, optional: bool = False) -> Any:
    """The request's JSON document (:mod:`webhook_app.bodies`); with ``optional``, an empty
    body is ``None``."""
    data = request.get_data(cache=False)
    if optional and not data.strip():
        return None
    return parse_json(data)


@bp.post("/stock")
@authorised
def stock() -> tuple[Response, int]:
    result = _services().bridge.stock_changed_json(_json_body())
    return jsonify({"applied": len(result.applied), "stale": len(result.stale),
                    "pushes": len(result.pushes)}), 202


@bp.post("/prices")
@authorised
def prices() -> tuple[Response, int]:
    result = _services().bridge.price_changed_json(_json_body())
    return jsonify({"changed": list(result.changed), "pushes": len(result.pushes)}), 202


@bp.post("/orders/<order_id>/accounted")
@authorised
def accounted(order_id: str) -> tuple[Response, int]:
    body = _json_body(optional=True)
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise InvalidInput("the body, when given, must be a JSON object")
    result = _services().bridge.order_accounted(order_id, body.get("as_of"))
    return jsonify({"first_time": result.first_time, "known_order": result.known_order,
                    "released_units": result.released_units}), 200


_WHOLE = re.compile(r"[0-9]{1,19}")  # ASCII digits: ``str.isdigit`` also takes "²"


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _WHOLE.fullmatch(raw) or int(raw) > BIGINT_MAX:
        raise InvalidInput(f"{name}: expected a whole number from 0 to {BIGINT_MAX}, "
                           f"got {shown(raw)}")
    return int(raw)


@bp.get("/events")
@authorised
def events() -> Response:
    page = _services().bridge.events(after=_int_arg("after", 0), limit=_int_arg("limit", 100))
    return jsonify({"events": [event_json(e) for e in page.events], "next": page.next})
