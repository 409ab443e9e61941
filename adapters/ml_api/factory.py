"""Wiring the ML adapter's parts together (called by the composition root and the demo).

The ``httpx.Client`` is made by the caller, once per process, and shared: the OAuth calls,
the API calls and the rate limiter then all go through the same pieces.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta

import httpx
from attrs import frozen

from adapters.ml_api.after_sale import HttpxAfterSaleGateway
from adapters.ml_api.gateway import HttpxMercadoLibreGateway
from adapters.ml_api.oauth import MlOAuth
from adapters.ml_api.ratelimit import SharedRateLimiter
from adapters.ml_api.transport import MlTransport
from connector_core.ports.clock import Clock
from connector_core.ports.locks import Locks
from connector_core.ports.tokens import TokenStore


def ml_http_client(base_url: str, timeout: float, *,
                   on_response: Sequence[Callable[[httpx.Response], None]] = ()
                   ) -> httpx.Client:
    """The process's one client to ML (``base_url``: the ML API, or a sandbox's URL);
    ``on_response`` hooks see every answer (the call counters)."""
    return httpx.Client(base_url=base_url, timeout=timeout,
                        headers={"Accept": "application/json",
                                 "User-Agent": "meli-erp-connector"},
                        event_hooks={"response": list(on_response)})


@frozen
class MlApi:
    oauth: MlOAuth
    gateway: HttpxMercadoLibreGateway
    limiter: SharedRateLimiter
    after_sale: HttpxAfterSaleGateway


def build_ml_api(client: httpx.Client, *, client_id: str, client_secret: str,
                 redirect_uri: str | None, tokens: TokenStore, locks: Locks,
                 rate_per_second: float, redis_url: str | None = None,
                 application_id: int | None = None,
                 timeout: float = 10.0, clock: Clock | None = None,
                 refresh_margin: timedelta = timedelta(minutes=5)) -> MlApi:
    """OAuth, the shared rate limiter and the gateway over one ``client``.

    ``client.base_url`` is the ML API (``settings.ml_api_url``, or a sandbox's URL);
    ``redis_url`` shares the rate limit between every process (None: this process only).
    """
    limiter = SharedRateLimiter(rate_per_second, storage_uri=redis_url)
    oauth = MlOAuth(client, client_id=client_id, client_secret=client_secret,
                    redirect_uri=redirect_uri, tokens=tokens, locks=locks, clock=clock,
                    limiter=limiter, timeout=timeout, refresh_margin=refresh_margin)
    gateway = HttpxMercadoLibreGateway(client, oauth, limiter, application_id=application_id,
                                       timeout=timeout)
    after_sale = HttpxAfterSaleGateway(MlTransport(client, oauth, limiter, timeout=timeout))
    return MlApi(oauth=oauth, gateway=gateway, limiter=limiter, after_sale=after_sale)
