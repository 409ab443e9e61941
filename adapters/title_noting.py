"""A marketplace gateway that notes every item's title it reads, for the console's search.

Wraps the real gateway (``Connector.gateway``); every call is passed through unchanged."""

from collections.abc import Iterator, Sequence
from datetime import datetime

from adapters.sql.listing_titles import SqlListingTitles
from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceError
from connector_core.domain.items import ItemUpdate, MarketItem
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import Order
from connector_core.ports.marketplace import MarketplaceGateway


class TitleNotingGateway:
    def __init__(self, inner: MarketplaceGateway, titles: SqlListingTitles) -> None:
        self._inner = inner
        self._titles = titles

    def _seen(self, account: Account, item: MarketItem) -> MarketItem:
        self._titles.remember(account.name, item.id, item.title)
        return item

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        return self._seen(account, self._inner.get_item(account, item_id))

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        found = self._inner.get_items(account, item_ids)
        for value in found.values():
            if isinstance(value, MarketItem):
                self._seen(account, value)
        return found

    def update_item(self, account: Account, update: ItemUpdate) -> MarketItem:
        return self._seen(account, self._inner.update_item(account, update))

    def get_order(self, account: Account, order_id: int) -> Order:
        return self._inner.get_order(account, order_id)

    def search_orders(self, account: Account, updated_from: datetime,
                      updated_to: datetime | None = None) -> Iterator[Order]:
        return self._inner.search_orders(account, updated_from, updated_to)

    def list_item_ids(self, account: Account) -> Iterator[str]:
        return self._inner.list_item_ids(account)

    def missed_notifications(self, account: Account) -> list[Notification]:
        return self._inner.missed_notifications(account)
