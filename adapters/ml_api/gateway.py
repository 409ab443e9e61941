"""``HttpxMercadoLibreGateway``: the core's MarketplaceGateway over one long-lived httpx.Client.

The resources live in their own modules (:mod:`adapters.ml_api.items`: items, multiget,
search with scan, the ``PUT``; :mod:`adapters.ml_api.orders`: orders with hour-truncated
windows, missed feeds); how each request is sent (rate limit, token, timeout, retries) is
:mod:`adapters.ml_api.transport`'s business. This class puts them behind the one port.
"""

import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import httpx

from adapters.ml_api.items import MlItems
from adapters.ml_api.oauth import MlOAuth
from adapters.ml_api.orders import MlOrders
from adapters.ml_api.ratelimit import SharedRateLimiter
from adapters.ml_api.transport import MlTransport
from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceError
from connector_core.domain.items import ItemUpdate, MarketItem
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import Order


class HttpxMercadoLibreGateway:
    """The MarketplaceGateway port on ML's REST API.

    ``client`` has ``base_url`` = the ML API (or the sandbox) and is shared by the process;
    ``oauth`` hands out access tokens; ``limiter`` is shared by every process.
    """

    def __init__(self, client: httpx.Client, oauth: MlOAuth, limiter: SharedRateLimiter, *,
                 application_id: int | None = None,
                 timeout: float = 10.0, max_attempts: int = 6, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self._oauth = oauth
        self._limiter = limiter
        self._http = MlTransport(client, oauth, limiter, timeout=timeout,
                                 max_attempts=max_attempts, backoff_base=backoff_base,
                                 backoff_cap=backoff_cap, sleep=sleep, jitter=jitter)
        self._items = MlItems(self._http)
        self._orders = MlOrders(self._http, application_id)

    @property
    def transport(self) -> MlTransport:
        """How this gateway sends requests (shared by the UP endpoints' adapter)."""
        return self._http

    @property
    def retries(self) -> int:
        """Attempts retried so far (metrics, tests)."""
        return self._http.retries

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        return self._items.get_item(account, item_id)

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        return self._items.get_items(account, item_ids)

    def update_item(self, account: Account, update: ItemUpdate) -> MarketItem:
        return self._items.update_item(account, update)

    def list_item_ids(self, account: Account) -> Iterator[str]:
        return self._items.list_item_ids(account)

    def get_order(self, account: Account, order_id: int) -> Order:
        return self._orders.get_order(account, order_id)

    def search_orders(self, account: Account, updated_from: datetime,
                      updated_to: datetime | None = None) -> Iterator[Order]:
        return self._orders.search_orders(account, updated_from, updated_to)

    def missed_notifications(self, account: Account) -> list[Notification]:
        return self._orders.missed_notifications(account)
