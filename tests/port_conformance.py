"""Static check (run by mypy in scripts/test): the fakes implement the core's ports."""

from connector_core import after_sale_ports, ports
from tests import fakes, fakes_after_sale


def _conforms() -> None:
    uow: ports.UnitOfWork = fakes.FakeUnitOfWork()
    marketplace: ports.MarketplaceGateway = fakes.FakeMarketplace()
    tokens: ports.TokenStore = fakes.FakeTokenStore()
    locks: ports.Locks = fakes.FakeLocks()
    queue: ports.TaskQueue = fakes.InMemoryTaskQueue()
    clock: ports.Clock = fakes.FixedClock()
    after_sale: after_sale_ports.AfterSaleGateway = fakes_after_sale.FakeAfterSale()
    del uow, marketplace, tokens, locks, queue, clock, after_sale
