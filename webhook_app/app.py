"""The application factory."""

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from webhook_app import erp, erp_after_sale, notifications, ops
from webhook_app.errors import error
from webhook_app.metrics import NOTIFICATIONS
from webhook_app.proxies import TrustedProxies, parse_networks
from webhook_app.services import WebhookServices

log = logging.getLogger(__name__)


def create_app(services: WebhookServices, config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=services.settings.max_body_bytes)
    if config is not None:
        app.config.update(config)
    app.extensions["connector"] = services
    proxies = parse_networks(services.settings.trusted_proxy_networks)
    if proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, proxies)  # type: ignore[method-assign]
    allowed = services.settings.allowed_ips
    if allowed is not None:
        networks = parse_networks(allowed)

        @app.before_request
        def only_from_ml() -> tuple[Response, int] | None:
            if request.path != "/notifications":
                return None
            try:
                remote = ipaddress.ip_address(request.remote_addr or "")
            except ValueError:
                NOTIFICATIONS.labels(topic="-", outcome="forbidden_source").inc()
                return error(403, "forbidden", "unknown source address")
            if not any(remote in net for net in networks):
                NOTIFICATIONS.labels(topic="-", outcome="forbidden_source").inc()
                return error(403, "forbidden", f"{remote} is not an allowed source")
            return None

    @app.errorhandler(413)
    def too_large(_exc: Exception) -> tuple[Response, int]:
        if request.path == "/notifications":
            NOTIFICATIONS.labels(topic="-", outcome="too_large").inc()
        return error(413, "too_large",
                     f"the body exceeds {services.settings.max_body_bytes} bytes")

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> tuple[Response, int]:
        return error(404, "not_found", f"no route {request.method} {request.path!r}")

    @app.errorhandler(405)
    def not_allowed(_exc: Exception) -> tuple[Response, int]:
        return error(405, "method_not_allowed", f"{request.method} is not allowed here")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        """Any other answer werkzeug raises (400 for a malformed request, ...), as JSON."""
        code = exc.code or 500
        return error(code, (exc.name or "error").lower().replace(" ", "_"),
                     exc.description or exc.name or "error")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        """The last resort: a bug or an outage the route did not expect. One log line with
        the traceback, and a JSON 500 (ML retries it; the ERP sees a clear error)."""
        log.error("unexpected error answering %s %r", request.method, request.path,
                  exc_info=exc)
        return error(500, "internal_error",
                     f"unexpected {type(exc).__name__}; the connector's log has the details")

    @app.after_request
    def no_store_for_auth(response: Response) -> Response:
        """OAuth pages carry codes, states and account names: never cached, by anyone."""
        if request.path.startswith("/auth/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.register_blueprint(notifications.bp)
    app.register_blueprint(erp.bp)
    app.register_blueprint(erp_after_sale.bp)
    app.register_blueprint(ops.bp)
    return app
