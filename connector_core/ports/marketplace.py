"""The outbound port to MercadoLibre."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceError
from connector_core.domain.items import ItemUpdate, MarketItem
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import Order


class MarketplaceGateway(Protocol):
    """Outbound port to MercadoLibre, one implementation serving every configured account.

    Errors: :class:`MarketplaceUnavailable` for what is worth retrying (timeout, connection
    error, 429, 5xx; after the adapter's own bounded retries), :class:`MarketplaceNotFound` and
    :class:`MarketplaceRejected` (with ML's causes) for what is not, :class:`AuthRevoked` when
    the account must be reconnected. Tokens, refresh and the shared rate limit are the
    adapter's business; reads return domain objects, never ML JSON.
    """

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        """``GET /items/{id}?include_attributes=all`` (SELLER_SKU and variations included)."""
        ...

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        """Multiget in chunks of 20; a per-entry failure is returned, not raised."""
        ...

    def update_item(self, account: Account, update: ItemUpdate) -> MarketItem:
        """One ``PUT /items/{id}`` with exactly the fields the update sets; ML's item after."""
        ...

    def get_order(self, account: Account, order_id: int) -> Order: ...

    def search_orders(self, account: Account, updated_from: datetime,
                      updated_to: datetime | None = None) -> Iterator[Order]:
        """Orders by ``order.date_last_updated`` (ML truncates to the hour: callers overlap)."""
        ...

    def list_item_ids(self, account: Account) -> Iterator[str]:
        """Every item id of the seller (switching to ``search_type=scan`` past 1000)."""
        ...

    def missed_notifications(self, account: Account) -> list[Notification]:
        """``/missed_feeds`` of the application, read with ``account``'s token: the
        notifications about that seller that ML could not deliver."""
        ...
