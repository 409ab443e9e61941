"""Item pushes waiting at the same time read their items together (CONTRACT rule 8).

Each push job reads its item before it writes (the variation ids go back in the PUT, rule 7;
nothing is sent when ML already shows the figures). Pushes of one account that wait together
run as one batch (:mod:`.job_batches`): one multiget (``GET /items?ids=``, 20 ids) reads
every item of the batch, then each push runs as it does alone, under its own item's lock,
with the item it was given standing in for its own ``GET``. Only the pushes whose figures
differ from ML's send a PUT, so N pushes of which C change cost about ``ceil(N/20) + C``
calls instead of ``2N``.

Rule 3 holds as for a push alone: the lock of every item in the batch is held from before
the multiget until that item's push is done, and each push computes rule 1's figures after
the read (:func:`~connector_core.services.push_item.push_item` plans after it reads), so a
sale held at any moment before a push plans is in the figure its PUT carries.

An entry the multiget could not read is not guessed at: a 404 is the item's answer (the
push records it, as a single read's 404), anything else (a 5xx or 429 entry, an unreadable
body) makes the push read the item on its own, with the transport's retries; if that fails
too, the job fails and is retried as any job.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from attrs import define

from connector_core.domain.accounts import Account
from connector_core.domain.commands import Command, PushItem
from connector_core.domain.errors import MarketplaceError, MarketplaceNotFound
from connector_core.domain.items import ItemUpdate, MarketItem
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import Order
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.job_batches import Batching, Handler

MULTIGET_IDS = 20  # ids per multiget call (ml_api.md §2.2): the batch's size


@define
class _PreRead:
    account: str
    item_id: str
    read: MarketItem | MarketplaceError
    used: bool = False


_pre_read: ContextVar[_PreRead | None] = ContextVar("connector_pre_read", default=None)


@contextmanager
def pre_read(account: str, item_id: str,
             read: MarketItem | MarketplaceError | None) -> Iterator[None]:
    """While the block runs (one push), the first ``get_item`` of ``item_id`` through a
    :class:`PreReadMarketplace` answers ``read`` instead of calling ML."""
    token = _pre_read.set(_PreRead(account, item_id, read) if read is not None else None)
    try:
        yield
    finally:
        _pre_read.reset(token)


class PreReadMarketplace:
    """A MarketplaceGateway that answers a push's ``get_item`` from the batch's multiget
    (once: a second read in the same push goes to ML), and is ``inner`` otherwise."""

    def __init__(self, inner: MarketplaceGateway) -> None:
        self.inner = inner

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        given = _pre_read.get()
        if (given is not None and not given.used and given.item_id == item_id
                and given.account == account.name):
            given.used = True
            if isinstance(given.read, MarketItem):
                return given.read
            if isinstance(given.read, MarketplaceNotFound):
                raise given.read
            # any other failed entry: read it alone, with the transport's retries
        return self.inner.get_item(account, item_id)

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        return self.inner.get_items(account, item_ids)

    def update_item(self, account: Account, update: ItemUpdate) -> MarketItem:
        return self.inner.update_item(account, update)

    def get_order(self, account: Account, order_id: int) -> Order:
        return self.inner.get_order(account, order_id)

    def search_orders(self, account: Account, updated_from: datetime,
                      updated_to: datetime | None = None) -> Iterator[Order]:
        return self.inner.search_orders(account, updated_from, updated_to)

    def list_item_ids(self, account: Account) -> Iterator[str]:
        return self.inner.list_item_ids(account)

    def missed_notifications(self, account: Account) -> list[Notification]:
        return self.inner.missed_notifications(account)


def push_batching(*, uow: UnitOfWork, marketplace: Callable[[], MarketplaceGateway],
                  run_push: Handler, size: int = MULTIGET_IDS) -> Batching:
    """The :class:`Batching` of item pushes: grouped by account; ``prepare`` reads the
    batch's items with one multiget; each push then runs ``run_push`` (the handler of a push
    alone, whose gateway must be a :class:`PreReadMarketplace`) with its item given."""

    def prepare(commands: Sequence[Command]) -> Handler:
        pushes = [c for c in commands if isinstance(c, PushItem)]
        reads: dict[str, MarketItem | MarketplaceError] = {}
        if len(pushes) > 1:
            with uow:
                account = uow.accounts.get(pushes[0].account)
            if account is not None:  # else each push fails as it would alone
                reads = marketplace().get_items(account, [p.item_id for p in pushes])

        def run(command: Command) -> str:
            assert isinstance(command, PushItem)
            with pre_read(command.account, command.item_id, reads.get(command.item_id)):
                return run_push(command)

        return run

    def group(command: Command) -> str:
        assert isinstance(command, PushItem)
        return command.account

    def key_prefix(command: Command) -> str:
        assert isinstance(command, PushItem)
        return PushItem(command.account, "").dedup_key

    return Batching(group=group, key_prefix=key_prefix, prepare=prepare, size=size)
