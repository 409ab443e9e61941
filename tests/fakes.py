"""In-memory implementations of the core's ports, for unit tests.

They keep state (no call-recording mocks) and are transactional where the port is: a
:class:`FakeUnitOfWork` works on a copy of the store and publishes it only on ``commit``.
"""

import copy
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

from attrs import define, evolve, field

from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.audit import AuditEntry
from connector_core.domain.commands import Command, ProcessNotification
from connector_core.domain.errors import MarketplaceError, MarketplaceNotFound, MarketplaceRejected
from connector_core.domain.feed import FeedEvent
from connector_core.domain.items import ItemUpdate, MarketItem, MarketVariation
from connector_core.domain.jobs import StoredJob, is_dead_letter
from connector_core.domain.lanes import Lane, default_lane
from connector_core.domain.mapping import KitCatalog, Listing, MappingRow, MappingTable
from connector_core.domain.notifications import InboxEntry, Notification
from connector_core.domain.orders import Order, OrderRecord
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import PricingPolicy
from connector_core.domain.questions import QuestionRecord
from connector_core.domain.shipments import ShipmentRecord
from connector_core.domain.stock import Hold, StockReport
from connector_core.domain.user_products import SellerModel
from connector_core.ports.user_products import KnownItem
from tests.fakes_after_sale import FakeQuestions, FakeShipments


class FixedClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current


@define
class Store:
    """Everything a FakeUnitOfWork persists."""

    accounts: dict[str, Account] = field(factory=dict)
    table: MappingTable = field(factory=lambda: MappingTable([]))
    reports: dict[tuple[str, str], StockReport] = field(factory=dict)
    holds: dict[tuple[int, str, str], Hold] = field(factory=dict)
    orders: dict[int, OrderRecord] = field(factory=dict)
    erp_prices: dict[str, ErpPrice] = field(factory=dict)
    policy: PricingPolicy = field(factory=PricingPolicy)
    competitor: dict[Listing, Decimal] = field(factory=dict)
    events: list[FeedEvent] = field(factory=list)  # with their cursor (``id``) set
    event_times: dict[int, datetime] = field(factory=dict)  # cursor -> when appended
    last_cursor: int = 0  # cursors and inbox ids are never reused, even after a purge
    last_inbox_id: int = 0
    audit: list[AuditEntry] = field(factory=list)
    jobs: list[Command] = field(factory=list)  # waiting (not claimed), oldest first
    job_not_before: dict[str, datetime | None] = field(factory=dict)
    waiting_jobs: dict[str, StoredJob] = field(factory=dict)  # by key: the ledger's rows
    claimed_jobs: dict[int, StoredJob] = field(factory=dict)
    last_job_id: int = 0
    inbox: dict[int, InboxEntry] = field(factory=dict)
    checkpoints: dict[tuple[str, str], datetime] = field(factory=dict)
    shipments: dict[int, ShipmentRecord] = field(factory=dict)
    shipment_times: dict[int, datetime] = field(factory=dict)
    questions: dict[int, QuestionRecord] = field(factory=dict)
    seller_models: dict[str, SellerModel] = field(factory=dict)
    known_items: dict[tuple[str, str], KnownItem] = field(factory=dict)


class _Repo:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    @property
    def s(self) -> Store:
        assert self._uow.work is not None, "repository used outside `with uow:`"
        return self._uow.work


class FakeAccounts(_Repo):
    def get(self, name: str) -> Account | None:
        return self.s.accounts.get(name)

    def by_user_id(self, user_id: int) -> Account | None:
        return next((a for a in self.s.accounts.values() if a.user_id == user_id), None)

    def list(self) -> list[Account]:
        return sorted(self.s.accounts.values(), key=lambda a: a.name)


class FakeMappings(_Repo):
    def kits(self) -> KitCatalog:
        return self.s.table.kits

    def kits_under(self, skus: Collection[str]) -> KitCatalog:
        return self.s.table.kits.under(skus)

    def rows_for_skus(self, skus: Collection[str]) -> list[MappingRow]:
        return self.s.table.rows_for_skus(skus)

    def rows_for_item(self, account: str, item_id: str) -> list[MappingRow]:
        return self.s.table.rows_for_item(account, item_id)

    def row_for_listing(self, listing: Listing) -> MappingRow | None:
        return self.s.table.row_for(listing)

    def items(self, account: str | None = None) -> list[tuple[str, str]]:
        return sorted({r.listing.item_key for r in self.s.table.rows
                       if account is None or r.listing.account == account})


class FakeStock(_Repo):
    def save_report_if_newer(self, report: StockReport) -> bool:
        key = (report.sku, report.warehouse)
        if not report.supersedes(self.s.reports.get(key)):
            return False
        self.s.reports[key] = report
        return True

    def reports_for(self, skus: Collection[str]) -> list[StockReport]:
        return [r for (sku, _), r in self.s.reports.items() if sku in skus]

    def holds_for_skus(self, skus: Collection[str]) -> list[Hold]:
        return [h for h in self.s.holds.values() if h.sku in skus]

    def holds_for_order(self, order_id: int) -> list[Hold]:
        return [h for h in self.s.holds.values() if h.order_id == order_id]

    def put_holds(self, holds: Iterable[Hold]) -> None:
        for hold in holds:
            self.s.holds[hold.key] = hold

    def delete_holds(self, keys: Iterable[tuple[int, str, str]]) -> None:
        for key in keys:
            self.s.holds.pop(key, None)


class FakeOrders(_Repo):
    def get(self, order_id: int) -> OrderRecord | None:
        return self.s.orders.get(order_id)

    def save(self, record: OrderRecord) -> None:
        self.s.orders[record.order_id] = record


class FakePrices(_Repo):
    def erp_prices(self, skus: Collection[str]) -> dict[str, ErpPrice]:
        return {s: p for s, p in self.s.erp_prices.items() if s in skus}

    def save_erp_price(self, price: ErpPrice) -> None:
        self.s.erp_prices[price.sku] = price

    def policy(self) -> PricingPolicy:
        return self.s.policy

    def competitor_prices(self, listings: Collection[Listing]) -> dict[Listing, Decimal]:
        return {k: v for k, v in self.s.competitor.items() if k in listings}


class FakeErpFeed(_Repo):
    def append(self, event: FeedEvent) -> None:
        self.s.last_cursor += 1
        self.s.events.append(evolve(event, id=self.s.last_cursor))
        self.s.event_times[self.s.last_cursor] = self._uow.now()

    def read(self, after: int, limit: int) -> list[FeedEvent]:
        return [e for e in self.s.events if e.id is not None and e.id > after][:limit]

    def purge(self, created_before: datetime, limit: int) -> int:
        old = [e.id for e in self.s.events
               if e.id is not None and self.s.event_times[e.id] < created_before][:limit]
        gone = set(old)
        self.s.events = [e for e in self.s.events if e.id not in gone]
        for cursor in old:
            del self.s.event_times[cursor]
        return len(old)


class FakeAudit(_Repo):
    def record(self, entry: AuditEntry) -> None:
        self.s.audit.append(entry)

    def purge(self, before: datetime, limit: int) -> int:
        old = [i for i, e in enumerate(self.s.audit) if e.at < before][:limit]
        gone = set(old)
        self.s.audit = [e for i, e in enumerate(self.s.audit) if i not in gone]
        return len(old)


class FakeJobs(_Repo):
    """The job ledger: ``jobs`` lists the waiting commands, ``waiting_jobs`` their rows."""

    def add(self, command: Command, *, not_before: datetime | None = None,
            lane: Lane | None = None) -> bool:
        key = command.dedup_key
        lane = lane or default_lane(command)
        row = self.s.waiting_jobs.get(key)
        if row is not None and is_dead_letter(row.attempts, self._uow.max_attempts):
            self._drop_waiting(key)  # new work replaces a dead letter
        elif any(c.dedup_key == key for c in self.s.jobs):
            if lane is Lane.URGENT and row is not None:
                self._set(row, lane=lane, dispatched_at=None)
            if not_before is None or lane is Lane.URGENT:
                self.s.job_not_before[key] = None
            return False
        self.s.jobs.append(command)
        self.s.job_not_before[key] = not_before
        self.s.last_job_id += 1
        self.s.waiting_jobs[key] = StoredJob(
            id=self.s.last_job_id, dedup_key=key, command=command, created_at=self._uow.now(),
            dispatched_at=None, claimed_at=None, attempts=0, lane=lane)
        return True

    def _drop_waiting(self, key: str) -> None:
        self.s.jobs = [c for c in self.s.jobs if c.dedup_key != key]
        self.s.job_not_before.pop(key, None)
        self.s.waiting_jobs.pop(key, None)

    def _rows(self) -> list[StoredJob]:
        return sorted(self.s.waiting_jobs.values(), key=lambda j: j.id)

    def take_for_dispatch(self, limit: int = 100,
                          now: datetime | None = None) -> list[StoredJob]:
        at = now or self._uow.now()
        taken = []
        for row in self._rows():
            held = self.s.job_not_before.get(row.dedup_key)
            if row.dispatched_at is None and (held is None or held <= at):
                taken.append(self._set(row, dispatched_at=at))
                if len(taken) == limit:
                    break
        return taken

    def _set(self, row: StoredJob, **changes: Any) -> StoredJob:
        new = evolve(row, **changes)
        self.s.waiting_jobs[row.dedup_key] = new
        return new

    def next_due(self) -> datetime | None:
        held = [self.s.job_not_before.get(r.dedup_key) for r in self._rows()
                if r.dispatched_at is None]
        return min((h for h in held if h is not None), default=None)

    def due(self, older_than: timedelta, limit: int = 100,
            now: datetime | None = None) -> list[StoredJob]:
        cutoff = (now or self._uow.now()) - older_than
        found = []
        for row in self._rows():
            held = self.s.job_not_before.get(row.dedup_key)
            if (row.created_at < cutoff
                    and (row.dispatched_at is None or row.dispatched_at < cutoff)
                    and (held is None or held < cutoff)
                    and not is_dead_letter(row.attempts, self._uow.max_attempts)):
                found.append(row)
        return found[:limit]

    def mark_dispatched(self, ids: Sequence[int], at: datetime | None = None) -> None:
        for row in self._rows():
            if row.id in ids:
                self._set(row, dispatched_at=at or self._uow.now())

    def claim(self, *, job_id: int | None = None, dedup_key: str | None = None,
              at: datetime | None = None) -> StoredJob | None:
        for row in self._rows():
            if row.id == job_id or row.dedup_key == dedup_key:
                self._drop_waiting(row.dedup_key)
                claimed = evolve(row, claimed_at=at or self._uow.now(),
                                 attempts=row.attempts + 1)
                self.s.claimed_jobs[row.id] = claimed
                return claimed
        return None

    def claim_many(self, job_ids: Sequence[int],
                   at: datetime | None = None) -> list[StoredJob]:
        taken = [self.claim(job_id=job_id, at=at) for job_id in sorted(job_ids)]
        return [job for job in taken if job is not None]

    def complete(self, job_id: int) -> None:
        self.s.claimed_jobs.pop(job_id, None)

    def unclaim(self, job_id: int) -> bool:
        row = self.s.claimed_jobs.get(job_id)
        if row is None or not self.release(job_id):
            return False
        self._set(self.s.waiting_jobs[row.dedup_key], attempts=row.attempts - 1)
        return True

    def renew(self, job_id: int, at: datetime | None = None) -> bool:
        row = self.s.claimed_jobs.get(job_id)
        if row is None:
            return False
        self.s.claimed_jobs[job_id] = evolve(row, claimed_at=at or self._uow.now())
        return True

    def release(self, job_id: int, *, dispatched_at: datetime | None = None) -> bool:
        row = self.s.claimed_jobs.pop(job_id, None)
        if row is None:
            return False
        if row.dedup_key in self.s.waiting_jobs:  # a newer twin waits: it does the work
            return False
        self.s.waiting_jobs[row.dedup_key] = evolve(row, claimed_at=None,
                                                    dispatched_at=dispatched_at)
        self.s.job_not_before[row.dedup_key] = None
        self.s.jobs = [r.command for r in self._rows()]
        return True

    def release_stale_claims(self, older_than: timedelta,
                             now: datetime | None = None) -> list[StoredJob]:
        cutoff = (now or self._uow.now()) - older_than
        stale = sorted(j.id for j in self.s.claimed_jobs.values()
                       if j.claimed_at is not None and j.claimed_at < cutoff)
        released = [job_id for job_id in stale if self.release(job_id)]
        return [r for r in self._rows() if r.id in released]

    def waiting(self, limit: int = 1000) -> list[StoredJob]:
        return self._rows()[:limit]

    def pending(self, dedup_keys: Collection[str]) -> set[str]:
        rows = [*self.s.waiting_jobs.values(), *self.s.claimed_jobs.values()]
        return {r.dedup_key for r in rows if r.dedup_key in dedup_keys
                and not is_dead_letter(r.attempts, self._uow.max_attempts)}

    def batch_mates(self, of: StoredJob, *, key_prefix: str, limit: int,
                    due_by: datetime | None) -> list[StoredJob]:
        found = []
        for row in self._rows():
            held = self.s.job_not_before.get(row.dedup_key)
            if (row.id != of.id and row.attempts == 0 and row.lane is of.lane
                    and type(row.command) is type(of.command)
                    and row.dedup_key.startswith(key_prefix)
                    and (due_by is None or held is None or held <= due_by)):
                found.append(row)
        return found[:limit]


class FakeInbox(_Repo):
    def add(self, notification: Notification, raw: dict[str, Any],
            received_at: datetime) -> tuple[int, bool]:
        """As the SQL inbox: a notification joins a waiting entry only while that entry's
        job waits to run (here: is in ``jobs``, not taken); such an entry is retired."""
        for entry in list(self.s.inbox.values()):
            same_ml_id = (notification.ml_id is not None
                          and entry.notification.ml_id == notification.ml_id)
            waiting = (entry.processed_at is None
                       and entry.notification.dedup_key == notification.dedup_key)
            if waiting and not same_ml_id and ProcessNotification(entry.id) not in self.s.jobs:
                self.s.inbox[entry.id] = evolve(entry, processed_at=received_at,
                                                outcome="retired: its job could not run")
                continue
            if same_ml_id or waiting:
                self.s.inbox[entry.id] = evolve(entry, duplicates=entry.duplicates + 1)
                return entry.id, False
        entry_id = self.s.last_inbox_id = max(self.s.last_inbox_id, *self.s.inbox, 0) + 1
        self.s.inbox[entry_id] = InboxEntry(id=entry_id, notification=notification,
                                            received_at=received_at, raw=raw)
        return entry_id, True

    def get(self, entry_id: int) -> InboxEntry | None:
        return self.s.inbox.get(entry_id)

    def mark_processed(self, entry_id: int, outcome: str, at: datetime) -> None:
        self.s.inbox[entry_id] = evolve(self.s.inbox[entry_id], processed_at=at, outcome=outcome)

    def unprocessed(self, received_before: datetime, limit: int) -> list[InboxEntry]:
        waiting = [e for e in self.s.inbox.values()
                   if e.processed_at is None and e.received_at < received_before]
        return sorted(waiting, key=lambda e: e.id)[:limit]

    def purge_processed(self, before: datetime, limit: int) -> int:
        old = sorted((e for e in self.s.inbox.values()
                      if e.processed_at is not None and e.processed_at < before
                      and e.received_at < before), key=lambda e: (e.received_at, e.id))
        for entry in old[:limit]:
            del self.s.inbox[entry.id]
        return len(old[:limit])


class FakeCheckpoints(_Repo):
    def get(self, account: str, name: str) -> datetime | None:
        return self.s.checkpoints.get((account, name))

    def set(self, account: str, name: str, at: datetime) -> None:
        self.s.checkpoints[(account, name)] = at


class FakeUserProducts(_Repo):
    def seller_model(self, account: str) -> SellerModel | None:
        return self.s.seller_models.get(account)

    def save_seller_model(self, account: str, model: SellerModel) -> None:
        self.s.seller_models[account] = model

    def known_items(self, account: str, item_ids: Collection[str]) -> dict[str, KnownItem]:
        return {i: self.s.known_items[(account, i)] for i in item_ids
                if (account, i) in self.s.known_items}

    def items_of(self, account: str, user_product_id: str) -> list[str]:
        return sorted(i for (a, i), k in self.s.known_items.items()
                      if a == account and k.user_product_id == user_product_id)

    def save_items(self, account: str, items: Sequence[KnownItem], at: datetime) -> None:
        for item in items:
            self.s.known_items[(account, item.item_id)] = item

    def migrated_in(self, account: str, skus: Collection[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for (a, i), k in sorted(self.s.known_items.items()):
            if a == account and k.migrated_in and not k.closed and k.sku in skus:
                found.setdefault(k.sku or "", []).append(i)
        return found


class FakeUnitOfWork:
    def __init__(self, store: Store | None = None, *, clock: FixedClock | None = None,
                 max_attempts: int | None = None) -> None:
        self.store = store or Store()
        self.max_attempts = max_attempts  # of the job ledger: None, no dead letters
        self.clock = clock  # stamps the ERP events (the wall clock without one)
        self.work: Store | None = None
        self.commits = 0
        self.accounts = FakeAccounts(self)
        self.mappings = FakeMappings(self)
        self.stock = FakeStock(self)
        self.orders = FakeOrders(self)
        self.prices = FakePrices(self)
        self.erp_feed = FakeErpFeed(self)
        self.audit = FakeAudit(self)
        self.jobs = FakeJobs(self)
        self.inbox = FakeInbox(self)
        self.checkpoints = FakeCheckpoints(self)
        self.shipments = FakeShipments(self)
        self.questions = FakeQuestions(self)
        self.user_products = FakeUserProducts(self)

    @staticmethod
    def _copy(store: Store) -> Store:
        """A working copy whose collections can change without touching ``store``."""
        work = copy.copy(store)
        for name in ("accounts", "reports", "holds", "orders", "erp_prices", "competitor",
                     "inbox", "checkpoints", "event_times", "job_not_before", "waiting_jobs",
                     "claimed_jobs", "shipments", "shipment_times", "questions",
                     "seller_models", "known_items"):
            setattr(work, name, dict(getattr(store, name)))
        for name in ("events", "audit", "jobs"):
            setattr(work, name, list(getattr(store, name)))
        return work

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def __enter__(self) -> Self:
        assert self.work is None, "FakeUnitOfWork is not re-entrant"
        self.work = self._copy(self.store)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.work = None

    def commit(self) -> None:
        assert self.work is not None
        self.store = self.work
        self.work = self._copy(self.store)
        self.commits += 1

    # --- helpers for tests -------------------------------------------------------------
    def take_jobs(self) -> list[Command]:
        """Claim every waiting job, as a runner would."""
        jobs, self.store.jobs = self.store.jobs, []
        self.store.waiting_jobs = {}
        return jobs


class FakeMarketplace:
    """A stateful stand-in for ML that enforces the rules the real one enforces.

    A PUT with ``variations`` that omits an existing variation raises (ML would delete it),
    as do unequal variation prices. Records every update for assertions.
    """

    def __init__(self, items: Iterable[MarketItem] = (), orders: Iterable[Order] = ()) -> None:
        self.items = {i.id: i for i in items}
        self.orders = {o.id: o for o in orders}
        self.updates: list[ItemUpdate] = []
        self.reads = 0
        self.reject_next: MarketplaceRejected | None = None

    def get_item(self, account: Account, item_id: str) -> MarketItem:
        self.reads += 1
        if item_id not in self.items:
            raise MarketplaceNotFound(f"item {item_id} not found")
        return self.items[item_id]

    def get_items(self, account: Account,
                  item_ids: Sequence[str]) -> dict[str, MarketItem | MarketplaceError]:
        result: dict[str, MarketItem | MarketplaceError] = {}
        for item_id in item_ids:
            try:
                result[item_id] = self.get_item(account, item_id)
            except MarketplaceError as exc:
                result[item_id] = exc
        return result

    def update_item(self, account: Account, update: ItemUpdate) -> MarketItem:
        if self.reject_next is not None:
            error, self.reject_next = self.reject_next, None
            raise error
        item = self.items[update.item_id]
        self.updates.append(update)
        if update.variations is not None:
            sent = {v.id for v in update.variations}
            missing = {v.id for v in item.variations} - sent
            assert not missing, f"PUT would delete variations {missing}"
            prices = {v.price for v in update.variations if v.price is not None}
            assert len(prices) <= 1, "ML requires one price for all variations"
            changes = {v.id: v for v in update.variations}
            variations = []
            for v in item.variations:
                change = changes[v.id]
                variations.append(MarketVariation(
                    id=v.id,
                    available_quantity=(change.available_quantity
                                        if change.available_quantity is not None
                                        else v.available_quantity),
                    price=change.price if change.price is not None else v.price,
                    seller_sku=v.seller_sku))
            total = sum(v.available_quantity for v in variations)
            item = evolve(item, variations=tuple(variations), available_quantity=total,
                          price=max(v.price for v in variations))
        else:
            if update.available_quantity is not None:
                item = evolve(item, available_quantity=update.available_quantity)
            if update.price is not None:
                item = evolve(item, price=update.price)
        if update.status is not None:
            item = evolve(item, status=update.status)
        elif item.available_quantity == 0:  # ML pauses an item that runs out...
            item = evolve(item, status="paused")
        elif item.status == "paused" and "out_of_stock" in item.sub_status:
            item = evolve(item, status="active")  # ...and re-activates it when it has stock
        item = evolve(item, sub_status=("out_of_stock",) if item.available_quantity == 0
                      and item.status == "paused" else ())
        self.items[item.id] = item
        return item

    def get_order(self, account: Account, order_id: int) -> Order:
        if order_id not in self.orders:
            raise MarketplaceNotFound(f"order {order_id} not found", error="order_not_found")
        return self.orders[order_id]

    def search_orders(self, account: Account, updated_from: datetime,
                      updated_to: datetime | None = None) -> Iterator[Order]:
        for order in self.orders.values():
            if order.account == account.name and order.last_updated >= updated_from and (
                    updated_to is None or order.last_updated < updated_to):
                yield order

    def list_item_ids(self, account: Account) -> Iterator[str]:
        yield from sorted(i.id for i in self.items.values() if i.seller_id == account.user_id)

    def missed_notifications(self, account: Account) -> list[Notification]:
        return []


class FakeTokenStore:
    def __init__(self) -> None:
        self.tokens: dict[str, TokenSet] = {}
        self.revoked: dict[str, str] = {}
        self.nicknames: dict[str, str] = {}

    def load(self, account: str) -> TokenSet | None:
        return self.tokens.get(account)

    def save(self, account: str, tokens: TokenSet) -> None:
        self.tokens[account] = tokens
        self.revoked.pop(account, None)

    def mark_revoked(self, account: str, reason: str) -> None:
        self.revoked[account] = reason

    def set_nickname(self, account: str, nickname: str) -> None:
        self.nicknames[account] = nickname


class FakeLocks:
    def __init__(self) -> None:
        self.held: set[str] = set()
        self.renewed: list[str] = []

    @contextmanager
    def hold(self, name: str, *, ttl: float = 60.0,
             wait: float = 30.0) -> Iterator[Callable[[], None]]:
        if name in self.held:
            raise TimeoutError(f"lock {name} is held")
        self.held.add(name)
        try:
            yield lambda: self.renewed.append(name)
        finally:
            self.held.discard(name)


class InMemoryTaskQueue:
    def __init__(self) -> None:
        self.submitted: list[Command] = []
        self.lanes: dict[str, Lane] = {}  # dedup key -> the lane it was last queued in

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False, lane: Lane = Lane.BULK) -> None:
        self.lanes[command.dedup_key] = lane
        key = dedup_key or command.dedup_key
        if replace:
            self.submitted = [c for c in self.submitted if c.dedup_key != key]
        elif any(c.dedup_key == key for c in self.submitted):
            return
        self.submitted.append(command)

    def submit_new(self, jobs: Sequence[tuple[Command, str]], *,
                   lane: Lane = Lane.BULK) -> None:
        for command, key in jobs:
            self.submit(command, dedup_key=key, lane=lane)

    urgent: bool = False  # what urgent_waiting says (tests set it)

    def urgent_waiting(self) -> bool:
        return self.urgent


class CountingMetrics:
    """The job runtime's metrics, counted: ``jobs[(kind, outcome)]``, ``pushes[outcome]``."""

    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], int] = {}
        self.pushes: dict[str, int] = {}

    def job_finished(self, kind: str, outcome: str, seconds: float | None) -> None:
        self.jobs[(kind, outcome)] = self.jobs.get((kind, outcome), 0) + 1

    def pushed(self, outcome: str) -> None:
        self.pushes[outcome] = self.pushes.get(outcome, 0) + 1

