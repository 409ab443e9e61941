"""The jobs of the User Products flows: pushes routed per UP, and refreshes of what the
connector knows of an account's items (see :mod:`connector_core.services.up_model`)."""

from collections.abc import Callable, Mapping

from attrs import frozen

from connector_core.domain.accounts import Account
from connector_core.domain.audit import AuditOutcome
from connector_core.domain.commands import (
    Command,
    PushItem,
    PushUserProduct,
    RefreshUserProducts,
)
from connector_core.domain.errors import UnknownAccount
from connector_core.ports.clock import Clock
from connector_core.ports.locks import Locks
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.metrics import JobMetrics
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.ports.user_products import KnownItem, UserProductsGateway
from connector_core.services.jobs import Handler
from connector_core.services.push_item import push_item
from connector_core.services.up_model import (
    refresh_user_products,
    route_item_push,
    seller_model,
)
from connector_core.services.up_stock import push_user_product


@frozen
class UpJobs:
    uow: UnitOfWork
    marketplace: MarketplaceGateway
    ups: UserProductsGateway
    clock: Clock
    locks: Locks | None = None  # serialises a routed push with its UP's own jobs

    @staticmethod
    def handles(command: Command) -> bool:
        return isinstance(command, PushItem | PushUserProduct | RefreshUserProducts)

    def run(self, command: Command) -> tuple[str, AuditOutcome | None]:
        """Run one command this class :meth:`handles`: (what happened, the push outcome)."""
        if isinstance(command, RefreshUserProducts):
            found = refresh_user_products(self._account(command.account), uow=self.uow,
                                          marketplace=self.marketplace, ups=self.ups,
                                          clock=self.clock, family_id=command.family_id)
            return (f"{found.model.label}: {found.items} item(s) on {found.user_products} "
                    f"user product(s), {len(found.closed)} closed"), None
        if isinstance(command, PushItem):
            account = self._account(command.account)
            route = route_item_push(command, account, uow=self.uow,
                                    marketplace=self.marketplace, ups=self.ups,
                                    clock=self.clock)
            if route.push is None:
                return route.reason, None
            if isinstance(route.push, PushItem):
                return self._push_item(route.push)
            if self.locks is not None:
                with self.locks.hold(f"job:{route.push.dedup_key}"):
                    return self._push_up(route.push)
            command = route.push
        if not isinstance(command, PushUserProduct):
            raise TypeError(f"not a User Products job: {command!r}")
        return self._push_up(command)

    def _push_up(self, command: PushUserProduct) -> tuple[str, AuditOutcome | None]:
        result = push_user_product(command, uow=self.uow, marketplace=self.marketplace,
                                   ups=self.ups, clock=self.clock)
        return (result.outcome.value if result.outcome else "no change"), result.outcome

    def _push_item(self, command: PushItem) -> tuple[str, AuditOutcome | None]:
        result = push_item(command, uow=self.uow, marketplace=self.marketplace,
                           clock=self.clock)
        if result.problems == ("item is closed",):
            # closed under a classic seller: a UPtin migration, most likely; remember it
            # (no more pushes to it) and read the seller's model again
            account = self._account(command.account)
            with self.uow:
                self.uow.user_products.save_items(
                    account.name, [KnownItem(command.item_id, None, closed=True)],
                    self.clock.now())
                self.uow.commit()
            seller_model(account, uow=self.uow, ups=self.ups, clock=self.clock, refresh=True)
        return (result.outcome.value if result.outcome else "no change"), result.outcome

    def _account(self, name: str) -> Account:
        with self.uow:
            account = self.uow.accounts.get(name)
        if account is None:
            raise UnknownAccount(f"unknown account {name!r}")
        return account


def up_handlers(base: Mapping[type[Command], Handler], *, uow: UnitOfWork,
                marketplace: Callable[[], MarketplaceGateway],
                ups: Callable[[], UserProductsGateway | None], clock: Clock,
                metrics: JobMetrics, locks: Locks | None = None
                ) -> dict[type[Command], Handler]:
    """The handler table with the User Products jobs: pushes routed per UP, and refreshes.
    Without ML's UP endpoints (a test's own gateway) an item push runs as ``base`` says."""

    def run(command: Command) -> str:
        gateway = ups()
        if gateway is None:
            if isinstance(command, PushItem):
                return base[PushItem](command)
            return "skipped: the ML adapter in use has no User Products endpoints"
        said, pushed = UpJobs(uow, marketplace(), gateway, clock, locks).run(command)
        if not isinstance(command, RefreshUserProducts):
            metrics.pushed(pushed.value if pushed else "no change")
        return said

    return {**base, PushItem: run, PushUserProduct: run, RefreshUserProducts: run}
