"""``/healthz``, ``/metrics`` and ``/auth/callback``."""

import html
import re

from flask import Blueprint, Response, current_app, jsonify, request

from connector_core.domain.errors import ConnectorError
from webhook_app.metrics import render
from webhook_app.services import WebhookServices

bp = Blueprint("ops", __name__)


def _services() -> WebhookServices:
    services: WebhookServices = current_app.extensions["connector"]
    return services


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks = _services().health()
    ok = all(good for good, _ in checks.values())
    body = {"status": "ok" if ok else "unavailable",
            "checks": {name: {"ok": good, "detail": detail}
                       for name, (good, detail) in checks.items()}}
    return jsonify(body), 200 if ok else 503


@bp.get("/metrics")
def metrics() -> Response:
    payload, content_type = render()
    return Response(payload, mimetype=content_type.split(";")[0],
                    headers={"Content-Type": content_type})


def _page(title: str, message: str, status: int) -> Response:
    text = (f"<!doctype html><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>")
    return Response(text, status=status, mimetype="text/html")


# What ML's codes and the connector's states look like (``secrets.token_urlsafe``): anything
# else is refused before it reaches the database or ML.
_STATE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_CODE = re.compile(r"[\x21-\x7e]{1,512}")


@bp.get("/auth/callback")
def auth_callback() -> Response:
    callback = _services().oauth_callback
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if request.args.get("error"):
        return _page("Connection failed",
                     f"MercadoLibre answered: {request.args.get('error', '')[:200]}", 400)
    if not code or not state:
        return _page("Connection failed", "the link lacks its code or state", 400)
    if not _STATE.fullmatch(state) or not _CODE.fullmatch(code):
        return _page("Connection failed", "this link was not issued by `meli-connector "
                     "accounts connect`; start again from that command", 400)
    if callback is None:
        return _page("Connection failed", "this connector has no ML application configured",
                     503)
    try:
        message = callback(code, state)
    except ConnectorError as exc:
        return _page("Connection failed", str(exc), 400)
    return _page("Account connected", message, 200)
