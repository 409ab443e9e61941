"""The ERP's cost and list price per SKU, each with the instant it was true."""

from datetime import datetime
from decimal import Decimal

from attrs import evolve, field, frozen

from connector_core.domain._validators import aware_or_none


@frozen(kw_only=True)
class ErpPrice:
    """Cost and list price of a SKU; each field moves only forward in time (rule 4)."""

    sku: str
    cost: Decimal | None = None
    cost_as_of: datetime | None = field(default=None, validator=aware_or_none)
    list_price: Decimal | None = None
    list_price_as_of: datetime | None = field(default=None, validator=aware_or_none)

    def merged_into(self, stored: "ErpPrice | None") -> "ErpPrice":
        """``stored`` updated with every field of this report that is newer than it."""
        if stored is None:
            return self
        result = stored
        if self.cost is not None and (stored.cost_as_of is None or self.cost_as_of is None
                                      or self.cost_as_of > stored.cost_as_of):
            result = evolve(result, cost=self.cost, cost_as_of=self.cost_as_of)
        if self.list_price is not None and (
                stored.list_price_as_of is None or self.list_price_as_of is None
                or self.list_price_as_of > stored.list_price_as_of):
            result = evolve(result, list_price=self.list_price,
                            list_price_as_of=self.list_price_as_of)
        return result
