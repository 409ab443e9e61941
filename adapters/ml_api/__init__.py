"""The MercadoLibre adapter: OAuth, rate limit, and the MarketplaceGateway over httpx.

The composition root builds, once per process::

    client = ml_http_client(settings.ml_api_url, settings.ml_timeout_seconds)
    ml = build_ml_api(client, client_id=settings.ml_client_id, client_secret=...,
                      redirect_uri=settings.ml_redirect_uri, tokens=token_store, locks=locks,
                      rate_per_second=settings.rate_limit_per_second,
                      redis_url=settings.redis_url, application_id=settings.application_id,
                      timeout=settings.ml_timeout_seconds)
    ml.gateway   # the MarketplaceGateway port
    ml.oauth     # tokens: the code exchange, refresh under the account's lock

and closes ``client`` at exit.
"""

from adapters.ml_api.converter import MlPayloadError, parse_item, parse_notification, parse_order
from adapters.ml_api.factory import MlApi, build_ml_api
from adapters.ml_api.gateway import HttpxMercadoLibreGateway
from adapters.ml_api.items import serialize_update
from adapters.ml_api.oauth import AUTH_HOSTS, MlOAuth, authorization_url
from adapters.ml_api.ratelimit import SharedRateLimiter

__all__ = [
    "AUTH_HOSTS",
    "HttpxMercadoLibreGateway",
    "MlApi",
    "MlOAuth",
    "MlPayloadError",
    "SharedRateLimiter",
    "authorization_url",
    "build_ml_api",
    "parse_item",
    "parse_notification",
    "parse_order",
    "serialize_update",
]
