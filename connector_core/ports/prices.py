"""ERP prices, the pricing policy and competitors' prices."""

from collections.abc import Collection
from decimal import Decimal
from typing import Protocol

from connector_core.domain.mapping import Listing
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import PricingPolicy


class PriceRepository(Protocol):
    def erp_prices(self, skus: Collection[str]) -> dict[str, ErpPrice]: ...

    def save_erp_price(self, price: ErpPrice) -> None: ...

    def policy(self) -> PricingPolicy: ...

    def competitor_prices(self, listings: Collection[Listing]) -> dict[Listing, Decimal]: ...
