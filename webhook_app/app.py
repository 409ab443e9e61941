"""The application factory."""

import ipaddress
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from webhook_app import erp, notifications, ops
from webhook_app.errors import error
from webhook_app.metrics import NOTIFICATIONS
from webhook_app.services import WebhookServices


def create_app(services: WebhookServices, config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=services.settings.max_body_bytes)
    if config is not None:
        app.config.update(config)
    app.extensions["connector"] = services
    if services.settings.trusted_proxies:
        proxies = services.settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    allowed = services.settings.allowed_ips
    if allowed is not None:
        networks = [ipaddress.ip_network(a, strict=False) for a in allowed]

        @app.before_request
        def only_from_ml() -> tuple[Response, int] | None:
            if request.path != "/notifications":
                return None
            try:
                remote = ipaddress.ip_address(request.remote_addr or "")
            except ValueError:
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
        return error(404, "not_found", f"no route {request.method} {request.path}")

    @app.errorhandler(405)
    def not_allowed(_exc: Exception) -> tuple[Response, int]:
        return error(405, "method_not_allowed", f"{request.method} is not allowed here")

    app.register_blueprint(notifications.bp)
    app.register_blueprint(erp.bp)
    app.register_blueprint(ops.bp)
    return app
