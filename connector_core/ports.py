"""Ports: what the core needs from the outside world, as ``typing.Protocol``s.

Adapters (``adapters/``) implement them against ML, SQL and Redis; ``tests/fakes.py`` implements
them in memory. Every contract an adapter must keep is in the docstrings here.
"""

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, Self

from connector_core.after_sale_ports import QuestionRepository, ShipmentRepository
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.audit import AuditEntry
from connector_core.domain.commands import Command
from connector_core.domain.errors import MarketplaceError
from connector_core.domain.feed import FeedEvent
from connector_core.domain.items import ItemUpdate, MarketItem
from connector_core.domain.mapping import KitCatalog, Listing, MappingRow
from connector_core.domain.notifications import InboxEntry, Notification
from connector_core.domain.orders import Order, OrderRecord
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import PricingPolicy
from connector_core.domain.stock import Hold, StockReport


class Clock(Protocol):
    """The current time, always timezone-aware (UTC)."""

    def now(self) -> datetime: ...


class MarketplaceGateway(Protocol):
    """Outbound port to MercadoLibre, one implementation serving every configured account.

    Errors: :class:`MarketplaceUnavailable` for what is worth retrying (timeout, connection
    error, 429, 5xx; after the adapter's own bounded retries), :class:`MarketplaceNotFound` and
    :class:`MarketplaceRejected` (with ML's causes) for what is not, :class:`AuthRevoked` when
    the account must be reconnected. Tokens, refresh and the shared rate limit are the
    adapter's business; reads return domain objects, never ML JSON.
    """

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        """``GET /items/{id}?include_attributes=all`` (SELLER_SKU and variations included)."""
        ...

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        """Multiget in chunks of 20; a per-entry failure is returned, not raised."""
        ...

    def update_item(self, account: Account, update: ItemUpdate) -> MarketItem:
        """One ``PUT /items/{id}`` with exactly the fields the update sets; ML's item after."""
        ...

    def get_order(self, account: Account, order_id: int) -> Order: ...

    def search_orders(self, account: Account, updated_from: datetime,
                      updated_to: datetime | None = None) -> Iterator[Order]:
        """Orders by ``order.date_last_updated`` (ML truncates to the hour: callers overlap)."""
        ...

    def list_item_ids(self, account: Account) -> Iterator[str]:
        """Every item id of the seller (switching to ``search_type=scan`` past 1000)."""
        ...

    def missed_notifications(self, account: Account) -> list[Notification]:
        """``/missed_feeds`` of the application, read with ``account``'s token: the
        notifications about that seller that ML could not deliver."""
        ...


class TokenStore(Protocol):
    """Where each account's OAuth tokens live (encrypted at rest by the SQL adapter).

    ``save`` is durable when it returns: a rotated refresh token must be stored before the
    new access token is used (refresh tokens are single use).
    """

    def load(self, account: str) -> TokenSet | None: ...

    def save(self, account: str, tokens: TokenSet) -> None: ...

    def mark_revoked(self, account: str, reason: str) -> None:
        """The grant is gone (``invalid_grant``); the account shows as needing reconnection."""
        ...


class Locks(Protocol):
    """Named mutual exclusion across every process of the deployment.

    ``hold`` blocks up to ``wait`` seconds (raising ``TimeoutError``) and keeps the lock at most
    ``ttl`` seconds, so a killed holder cannot block the others for ever.
    """

    def hold(self, name: str, *, ttl: float = 60.0,
             wait: float = 30.0) -> AbstractContextManager[None]: ...


class TaskQueue(Protocol):
    """Where dispatched commands run (RQ on Redis, or in-process on a laptop).

    ``submit`` returns once the command is safely queued or raises ``ConnectionError``. With a
    ``dedup_key``, a job the queue still knows under that key (waiting, running, scheduled for
    a retry, or failed) absorbs the new one, so re-submitting is always safe; ``replace``
    discards that job first (its runner died).
    """

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False) -> None: ...

    def submit_new(self, jobs: Sequence[tuple[Command, str]]) -> None:
        """Queue ``(command, key)`` pairs that were never queued before, all or none (one
        round trip where the queue allows it): the dispatcher's fast path. Raises
        ``ConnectionError`` when nothing was queued."""
        ...


# --- repositories (all reached through the unit of work) -------------------------------


class AccountRepository(Protocol):
    def get(self, name: str) -> Account | None: ...

    def by_user_id(self, user_id: int) -> Account | None: ...

    def list(self) -> list[Account]: ...


class MappingRepository(Protocol):
    """The applied mapping table, read by SKU or listing without scanning the table."""

    def kits(self) -> KitCatalog: ...

    def rows_for_skus(self, skus: Collection[str]) -> list[MappingRow]: ...

    def rows_for_item(self, account: str, item_id: str) -> list[MappingRow]: ...

    def row_for_listing(self, listing: Listing) -> MappingRow | None: ...

    def items(self, account: str | None = None) -> list[tuple[str, str]]:
        """Every mapped ``(account, item_id)``, for pushing everything."""
        ...


class StockRepository(Protocol):
    """ERP stock reports and the holds of ML orders.

    ``save_report_if_newer`` is atomic: of two concurrent reports for the same (sku, warehouse)
    the newer ``as_of`` wins whatever order they commit in. Hold writes for an order happen
    only while its order row is locked (see :class:`OrderRepository`), so holds are never
    written twice for the same order concurrently.
    """

    def save_report_if_newer(self, report: StockReport) -> bool: ...

    def reports_for(self, skus: Collection[str]) -> list[StockReport]: ...

    def holds_for_skus(self, skus: Collection[str]) -> list[Hold]: ...

    def holds_for_order(self, order_id: int) -> list[Hold]: ...

    def put_holds(self, holds: Iterable[Hold]) -> None:
        """Insert or replace by ``(order_id, line, sku)``."""
        ...

    def delete_holds(self, keys: Iterable[tuple[int, str, str]]) -> None: ...


class OrderRepository(Protocol):
    def get(self, order_id: int) -> OrderRecord | None:
        """The stored record, locking it until the unit of work ends.

        Two units of work on the same order id are serialised (``SELECT ... FOR UPDATE``, or
        the first insert wins and the second re-reads), so an order is never applied twice.
        """
        ...

    def save(self, record: OrderRecord) -> None: ...


class PriceRepository(Protocol):
    def erp_prices(self, skus: Collection[str]) -> dict[str, ErpPrice]: ...

    def save_erp_price(self, price: ErpPrice) -> None: ...

    def policy(self) -> PricingPolicy: ...

    def competitor_prices(self, listings: Collection[Listing]) -> dict[Listing, Decimal]: ...


class OutboxRepository(Protocol):
    """The ERP event feed: ``append`` assigns a strictly increasing cursor at commit order."""

    def append(self, event: FeedEvent) -> None: ...

    def read(self, after: int, limit: int) -> list[FeedEvent]: ...

    def purge(self, created_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` events appended before ``created_before``, oldest first;
        how many were deleted (retention). Cursors are never reused: later events keep
        theirs, and a reader after a purged cursor just gets the events that remain."""
        ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None: ...

    def purge(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` entries whose ``at`` is before ``before``, oldest first;
        how many were deleted (retention)."""
        ...


class JobOutbox(Protocol):
    """Commands to run once the unit of work commits (the transactional outbox for jobs).

    ``add`` stores the command in the same transaction as the state change that caused it.
    While a command with the same dedup key is waiting (not yet claimed by a runner), a new
    one joins it and ``add`` returns False: this is how pushes to one item coalesce.

    ``not_before`` holds a job back until then (a coalescing window: changes arriving in it
    join the waiting job). A job added without it is due now, and a waiting job it joins
    becomes due now too; joining never pushes a waiting job later.

    A job that used up its attempts (a dead letter) is not waiting: a new command with its
    key replaces it and ``add`` returns True.
    """

    def add(self, command: Command, *, not_before: datetime | None = None) -> bool: ...


class InboxRepository(Protocol):
    """Notifications as ML posted them, stored durably before the webhook answers 200.

    ``add`` deduplicates on (topic, resource) among entries not yet processed: a duplicate
    joins the waiting entry (its ``duplicates`` count grows) and ``add`` returns that entry's
    id with ``False``. Once processed, a new notification for the same resource is new work,
    unless it carries an ML ``_id`` (``Notification.ml_id``) already stored: ML's retries and
    ``/missed_feeds`` repeat the same ``_id``, and those are always duplicates.
    """

    def add(self, notification: Notification, raw: dict[str, Any],
            received_at: datetime) -> tuple[int, bool]: ...

    def get(self, entry_id: int) -> InboxEntry | None: ...

    def mark_processed(self, entry_id: int, outcome: str, at: datetime) -> None: ...

    def unprocessed(self, received_before: datetime, limit: int) -> list[InboxEntry]:
        """Entries still waiting, oldest first (the sweeper re-dispatches these)."""
        ...

    def purge_processed(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` *processed* entries received and processed before
        ``before``, oldest first; how many were deleted (retention). A waiting entry is
        never deleted, however old: it is work not done yet (rule 5). Ids are never reused.

        Once an entry is gone, a later notification with its ML ``_id`` counts as new: it
        is processed again, which is harmless (the resource is re-read and applied
        idempotently) and happens only past ML's redelivery window (hours, not days)."""
        ...


class NotificationIntake(Protocol):
    """The webhook's one write before it answers 200: store a notification and queue its
    processing, atomically.

    Deduplicates exactly as :meth:`InboxRepository.add`; a new entry gets its
    ``ProcessNotification`` job in the same commit, a duplicate gets none. Returns
    ``(inbox_id, is_new)``. Durable when it returns. ``received_at`` is the receiver's clock.
    """

    def receive(self, notification: Notification, raw: dict[str, Any]) -> tuple[int, bool]: ...


class CheckpointRepository(Protocol):
    """Reconciliation checkpoints, e.g. ``("main", "orders")`` -> last window end."""

    def get(self, account: str, name: str) -> datetime | None: ...

    def set(self, account: str, name: str, at: datetime) -> None: ...


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
    def outbox(self) -> OutboxRepository: ...

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


    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...
