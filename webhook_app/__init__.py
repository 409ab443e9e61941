"""The HTTP face of the connector (CONTRACT §5): ML notifications, the OAuth callback, the
ERP routes, health and metrics. Build it with :func:`create_app`; the composition root
(``config.wsgi``) hands it its services, so this package never imports adapters or config."""

from webhook_app.app import create_app
from webhook_app.services import WebhookServices, WebhookSettings

__all__ = ["WebhookServices", "WebhookSettings", "create_app"]
