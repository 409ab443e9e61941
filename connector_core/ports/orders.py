"""The orders the connector has applied."""

from typing import Protocol

from connector_core.domain.orders import OrderRecord


class OrderRepository(Protocol):
    def get(self, order_id: int) -> OrderRecord | None:
        """The stored record, locking it until the unit of work ends.

        Two units of work on the same order id are serialised (``SELECT ... FOR UPDATE``, or
        the first insert wins and the second re-reads), so an order is never applied twice.
        """
        ...

    def save(self, record: OrderRecord) -> None: ...
