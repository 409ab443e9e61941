"""Static check (run by mypy in scripts/test): the fakes implement the core's ports."""

from connector_core import ports
from tests import fakes


def _conforms() -> None:
    uow: ports.UnitOfWork = fakes.FakeUnitOfWork()
    marketplace: ports.MarketplaceGateway = fakes.FakeMarketplace()
    tokens: ports.TokenStore = fakes.FakeTokenStore()
    locks: ports.Locks = fakes.FakeLocks()
    queue: ports.TaskQueue = fakes.InMemoryTaskQueue()
    clock: ports.Clock = fakes.FixedClock()
    del uow, marketplace, tokens, locks, queue, clock
