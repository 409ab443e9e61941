"""Static check (run by mypy in scripts/test): the fakes implement the core's ports."""

from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.clock import Clock
from connector_core.ports.jobs import JobLedgerSession
from connector_core.ports.locks import Locks
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.metrics import JobMetrics
from connector_core.ports.task_queue import TaskQueue
from connector_core.ports.tokens import TokenStore
from connector_core.ports.unit_of_work import UnitOfWork
from tests import fakes, fakes_after_sale


def _conforms() -> None:
    uow: UnitOfWork = fakes.FakeUnitOfWork()
    ledger: JobLedgerSession = fakes.FakeUnitOfWork()
    marketplace: MarketplaceGateway = fakes.FakeMarketplace()
    tokens: TokenStore = fakes.FakeTokenStore()
    locks: Locks = fakes.FakeLocks()
    queue: TaskQueue = fakes.InMemoryTaskQueue()
    clock: Clock = fakes.FixedClock()
    metrics: JobMetrics = fakes.CountingMetrics()
    after_sale: AfterSaleGateway = fakes_after_sale.FakeAfterSale()
    del uow, ledger, marketplace, tokens, locks, queue, clock, metrics, after_sale
