"""The MercadoLibre adapter: OAuth, rate limit, and the MarketplaceGateway over httpx.

The composition root builds, once per process::

    client = httpx.Client(base_url=settings.ml_api_url, timeout=settings.ml_timeout_seconds)
    limiter = SharedRateLimiter(settings.rate_limit_per_second, storage_uri=settings.redis_url)
    oauth = MlOAuth(client, client_id=..., client_secret=..., redirect_uri=...,
                    tokens=token_store, locks=locks, limiter=limiter)
    gateway = HttpxMercadoLibreGateway(client, oauth, limiter, application_id=...,
                                       feeds_account=...)
"""

from adapters.ml_api.converter import MlPayloadError, parse_item, parse_notification, parse_order
from adapters.ml_api.gateway import HttpxMercadoLibreGateway, serialize_update
from adapters.ml_api.oauth import AUTH_HOSTS, MlOAuth, SystemClock, authorization_url
from adapters.ml_api.ratelimit import SharedRateLimiter

__all__ = [
    "AUTH_HOSTS",
    "HttpxMercadoLibreGateway",
    "MlOAuth",
    "MlPayloadError",
    "SharedRateLimiter",
    "SystemClock",
    "authorization_url",
    "parse_item",
    "parse_notification",
    "parse_order",
    "serialize_update",
]
