"""The composition root's second layer: MercadoLibre (the HTTP client and its call counters,
OAuth, the rate limiter, the gateways) and the linking of accounts, on
:class:`config.storage.StorageParts`.

Nothing here opens a connection before a part is used: ``ML_CLIENT_ID`` and
``ML_CLIENT_SECRET`` are needed by the first call to ML, not by the process."""

from functools import cached_property

import httpx
from sqlalchemy.engine import Engine

from adapters.metrics import count_ml_call
from adapters.ml_api.factory import MlApi, build_ml_api, ml_http_client
from adapters.ml_api.gateway import HttpxMercadoLibreGateway
from adapters.ml_api.oauth import MlAuthorization
from adapters.ml_api.user_products import MlUserProducts
from adapters.sql.call_counts import SqlCallCounter
from adapters.sql.listing_titles import SqlListingTitles
from adapters.sql.oauth_states import SqlOAuthStates
from adapters.title_noting import TitleNotingGateway
from config.settings import Settings
from config.storage import StorageParts
from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.clock import Clock
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.user_products import UserProductsGateway
from connector_core.services.accounts import AccountLinking


class MlParts(StorageParts):
    """``gateway`` and ``after_sale`` override ML's (tests: a fake, or one on a sandbox)."""

    def __init__(self, settings: Settings, *, gateway: MarketplaceGateway | None = None,
                 after_sale: AfterSaleGateway | None = None, clock: Clock | None = None,
                 engine: Engine | None = None) -> None:
        super().__init__(settings, clock=clock, engine=engine)
        self._gateway = gateway
        self._after_sale = after_sale

    @cached_property
    def http(self) -> httpx.Client:
        return ml_http_client(self.settings.ml_api_url, self.settings.ml_timeout_seconds,
                              on_response=[count_ml_call, self._count_call])

    def _count_call(self, response: httpx.Response) -> None:
        self.call_counts.observe(response.request.url.path, response.status_code)

    @cached_property
    def call_counts(self) -> SqlCallCounter:
        """ML calls per minute, stored for the console's chart."""
        return SqlCallCounter(self.engine, self.clock.now)

    @cached_property
    def ml(self) -> MlApi:
        """OAuth, the shared rate limiter and the gateways (``adapters.ml_api.factory``)."""
        s = self.settings
        client_id, client_secret = s.require_ml_app()
        return build_ml_api(
            self.http, client_id=client_id, client_secret=client_secret,
            redirect_uri=s.ml_redirect_uri, tokens=self.tokens, locks=self.locks,
            rate_per_second=s.rate_limit_per_second, redis_url=s.redis_url or None,
            application_id=s.application_id, timeout=s.ml_timeout_seconds, clock=self.clock)

    @property
    def gateway(self) -> MarketplaceGateway:
        if self._gateway is None:  # noting titles for the console's search
            self._gateway = TitleNotingGateway(self.ml.gateway,
                                               SqlListingTitles(self.engine, self.clock.now))
        return self._gateway

    @property
    def user_products(self) -> UserProductsGateway | None:
        """ML's User Products endpoints (None with a gateway given by a test: classic only)."""
        if self._gateway is None or isinstance(self._gateway, HttpxMercadoLibreGateway
                                               | TitleNotingGateway):
            return MlUserProducts(self.ml.gateway.transport)
        return None

    @property
    def after_sale(self) -> AfterSaleGateway:
        """ML's shipments and questions (or the gateway a test gave)."""
        return self._after_sale if self._after_sale is not None else self.ml.after_sale

    def _authorization(self) -> MlAuthorization:
        client_id, redirect_uri = self.settings.require_redirect()
        return MlAuthorization(lambda: self.ml.oauth, client_id=client_id,
                               redirect_uri=redirect_uri, auth_base=self.settings.auth_base)

    @cached_property
    def accounts(self) -> AccountLinking:
        return AccountLinking(uow=self.uow, clock=self.clock,
                              states=SqlOAuthStates(self.session_factory),
                              tokens=lambda: self.tokens, authorization=self._authorization)

    def close(self) -> None:
        if "call_counts" in self.__dict__:
            self.call_counts.flush()
        if "http" in self.__dict__:
            self.http.close()
        super().close()
