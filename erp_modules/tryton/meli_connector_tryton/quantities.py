"""The free quantity the module reports: on hand in the warehouse (done moves up to today)
minus every outgoing move not yet done and not cancelled (staging, draft, assigned).

A processed sale creates its draft outgoing moves in the transaction that processes it, so
the figure drops in the same transaction that lets the module call ``order_accounted``.
Incoming moves count only once done: stock that is not on the shelf is never offered."""

import math
from collections import defaultdict

from trytond.pool import Pool
from trytond.transaction import Transaction

OPEN_OUTGOING_STATES = ("staging", "draft", "assigned")


def free_quantities(product_ids, warehouses):
    """``{(product_id, warehouse_id): whole units >= 0}`` for every pair asked."""
    pool = Pool()
    Product = pool.get("product.product")
    Move = pool.get("stock.move")
    Date = pool.get("ir.date")
    product_ids = list(product_ids)
    if not product_ids or not warehouses:
        return {}
    with Transaction().set_context(stock_date_end=Date.today(), forecast=False,
                                   stock_assign=False, stock_skip_warehouse=False):
        on_hand = Product.products_by_location(
            [w.id for w in warehouses], with_childs=True, grouping_filter=(product_ids,))
    result = {}
    for warehouse in warehouses:
        outgoing = defaultdict(float)
        for move in Move.search([
                ("product", "in", product_ids),
                ("state", "in", OPEN_OUTGOING_STATES),
                ("from_location", "child_of", [warehouse.id], "parent"),
                ("to_location", "not child_of", [warehouse.id], "parent"),
                ]):
            outgoing[move.product.id] += move.internal_quantity or 0
        for product_id in product_ids:
            free = on_hand.get((warehouse.id, product_id), 0) - outgoing[product_id]
            result[(product_id, warehouse.id)] = max(0, math.floor(free + 1e-9))
    return result
