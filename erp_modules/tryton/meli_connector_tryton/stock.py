"""Every change of a stock move (created, written, deleted: done, assigned, cancelled, the
draft moves a processed sale creates, inventories) queues a stock report of its products,
run after the transaction commits."""

from trytond.pool import Pool, PoolMeta

# A write that touches none of these cannot change a free quantity.
QUANTITY_FIELDS = {"state", "quantity", "unit", "product", "from_location", "to_location",
                   "effective_date", "planned_date", "internal_quantity", "company"}


class Move(metaclass=PoolMeta):
    __name__ = "stock.move"

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode == "write" and field_names is not None \
                and not QUANTITY_FIELDS & set(field_names):
            return
        Pool().get("meli.account").queue_stock({m.product.id for m in records})
