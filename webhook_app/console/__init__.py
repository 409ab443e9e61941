"""The operator's console: ``/console``, server-rendered pages behind an operator login.

Registered only when operators are configured (``install_console``); without them
``/console`` does not exist. See docs/console.md.
"""

from flask import Flask

from webhook_app.console import actions, pages, security  # noqa: F401  (their routes)
from webhook_app.console.blueprint import bp
from webhook_app.console.services import ConsoleServices, VerifyOutcome
from webhook_app.console.throttle import LoginThrottle, Throttle

__all__ = ["ConsoleServices", "VerifyOutcome", "install_console"]


def install_console(app: Flask, services: ConsoleServices,
                    throttle: Throttle | None = None) -> None:
    """``throttle`` counts failed logins (default: in this process only)."""
    security.configure(app, services.session_key, services.trusted_proxies)
    app.extensions["console"] = services
    app.extensions["console_throttle"] = throttle or LoginThrottle()
    app.register_blueprint(bp)
