"""Cost and list price changes queue a price report. Both live in value rows
(``product.cost_price``, ``product.list_price``), which is also where ``Move.do`` writes an
updated average cost, so watching the rows sees every change."""

from trytond.pool import Pool, PoolMeta


class CostPrice(metaclass=PoolMeta):
    __name__ = "product.cost_price"

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode != "delete":
            Pool().get("meli.account").queue_prices(
                {r.product.id for r in records if r.product})


class ListPrice(metaclass=PoolMeta):
    __name__ = "product.list_price"

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode != "delete":
            products = {r.product.id for r in records if r.product}
            products |= {p.id for r in records if r.template and not r.product
                         for p in r.template.products}
            Pool().get("meli.account").queue_prices(products)
