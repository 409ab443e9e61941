"""The WSGI application for gunicorn: ``gunicorn 'config.wsgi:app'``."""

from flask import Flask

from config import jobs
from config.bootstrap import Connector
from config.console import console_services, login_throttle
from webhook_app import WebhookServices, WebhookSettings, create_app
from webhook_app.console import install_console


def make_app(connector: Connector) -> Flask:
    settings = connector.settings
    services = WebhookServices(
        intake=connector.intake, bridge=connector.bridge,
        jobs_committed=connector.runtime.jobs_committed, health=connector.health,
        oauth_callback=connector.accounts.oauth_callback,
        settings=WebhookSettings(
            application_id=settings.application_id, erp_api_token=settings.erp_api_token,
            max_body_bytes=settings.max_body_bytes, allowed_ips=settings.allowed_ips,
            trusted_proxy_networks=settings.trusted_proxy_networks))
    app = create_app(services)
    console = console_services(connector)
    if console is not None:
        install_console(app, console, login_throttle(connector))
    return app


def __getattr__(name: str) -> Flask:
    # Built on first access so importing this module costs nothing (gunicorn reads `app`).
    if name == "app":
        application = make_app(jobs.connector())
        globals()["app"] = application
        return application
    raise AttributeError(name)
