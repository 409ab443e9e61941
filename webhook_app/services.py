"""What the web app needs from the rest of the connector, handed in by the composition root."""

from collections.abc import Callable, Mapping

from attrs import field, frozen

from connector_core.ports.inbox import NotificationIntake
from erp_bridge import ErpBridge

# ML's published notification source addresses (reference/ml_api.md §5).
ML_SOURCE_IPS = ("54.88.218.97", "18.215.140.160", "18.213.114.129", "18.206.34.84")


@frozen(kw_only=True)
class WebhookSettings:
    """``allowed_ips``: addresses or networks allowed to post notifications (None: any).
    ``trusted_proxy_networks``: the reverse proxies whose ``X-Forwarded-For`` is believed
    (:mod:`webhook_app.proxies`)."""

    application_id: int | None = None
    erp_api_token: str | None = field(default=None, repr=False)
    max_body_bytes: int = 64 * 1024
    allowed_ips: tuple[str, ...] | None = None
    trusted_proxy_networks: tuple[str, ...] = ()


@frozen(kw_only=True)
class WebhookServices:
    """``intake`` stores each notification with its job (one statement on PostgreSQL).
    ``jobs_committed`` is called after a write that committed jobs (it must not raise: a
    sweeper catches up with whatever it could not move). ``health`` returns
    ``{name: (ok, detail)}``.
    ``oauth_callback(code, state)`` completes an account connection and returns a message."""

    intake: NotificationIntake
    bridge: ErpBridge
    jobs_committed: Callable[[], object]
    health: Callable[[], Mapping[str, tuple[bool, str]]]
    oauth_callback: Callable[[str, str], str] | None = None
    settings: WebhookSettings = WebhookSettings()
