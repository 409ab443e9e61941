"""The unit of work: one transaction over every repository."""

from typing import Protocol, Self

from connector_core.ports.accounts import AccountRepository
from connector_core.ports.after_sale import QuestionRepository, ShipmentRepository
from connector_core.ports.audit import AuditLog
from connector_core.ports.checkpoints import CheckpointRepository
from connector_core.ports.erp_feed import ErpFeedRepository
from connector_core.ports.inbox import InboxRepository
from connector_core.ports.jobs import JobOutbox
from connector_core.ports.mappings import MappingRepository
from connector_core.ports.orders import OrderRepository
from connector_core.ports.prices import PriceRepository
from connector_core.ports.stock import StockRepository
from connector_core.ports.user_products import UserProductRepository


class UnitOfWork(Protocol):
    """One transaction over every repository. Leaving without ``commit`` rolls back."""

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def mappings(self) -> MappingRepository: ...

    @property
    def stock(self) -> StockRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def prices(self) -> PriceRepository: ...

    @property
    def erp_feed(self) -> ErpFeedRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def jobs(self) -> JobOutbox: ...

    @property
    def inbox(self) -> InboxRepository: ...

    @property
    def checkpoints(self) -> CheckpointRepository: ...

    @property
    def shipments(self) -> ShipmentRepository: ...

    @property
    def questions(self) -> QuestionRepository: ...

    @property
    def user_products(self) -> UserProductRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...
