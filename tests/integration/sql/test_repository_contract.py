"""The repository ports' contracts, run against the in-memory fake AND the SQL unit of work
on SQLite and PostgreSQL, so the fake stays honest and the adapter keeps the contracts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.sql.admin import apply_admin_tables
from adapters.sql.engine import make_session_factory
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from connector_core.domain.accounts import Account
from connector_core.domain.audit import AuditEntry, AuditOutcome
from connector_core.domain.commands import Command, ProcessNotification, PushItem, SyncOrder
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.notifications import Notification
from connector_core.domain.orders import ErpEvent, ErpEventType, Order, OrderLine, OrderRecord
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import PricingPolicy, PricingRule, Strategy
from connector_core.domain.stock import Hold, StockReport
from connector_core.ports.unit_of_work import UnitOfWork
from tests.fakes import FakeUnitOfWork, FixedClock
from tests.integration.sql.conftest import KINDS, Databases, clean_engine

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MAIN = Account(name="main", user_id=111, site_id="MLA", warehouses=frozenset({"w1", "w2"}))
OTHER = Account(name="other", user_id=222, site_id="MLB")


class Harness:
    """A unit of work plus the admin-side helpers each backend seeds and inspects with."""

    def __init__(self, kind: str, uow: Any) -> None:
        self.kind = kind
        self.uow = uow

    def seed(self, *, accounts: tuple[Account, ...] = (), table: MappingTable | None = None,
             policy: PricingPolicy | None = None) -> None:
        table = table or MappingTable([])
        if isinstance(self.uow, FakeUnitOfWork):
            self.uow.store.accounts.update({a.name: a for a in accounts})
            self.uow.store.table = table
            if policy is not None:
                self.uow.store.policy = policy
            return
        with self.uow:
            apply_admin_tables(self.uow.session, table, policy=policy, accounts=accounts)
            self.uow.commit()

    def add_competitor(self, listing: Listing, price: Decimal) -> None:
        if isinstance(self.uow, FakeUnitOfWork):
            self.uow.store.competitor[listing] = price
            return
        with self.uow:
            self.uow.prices.save_competitor_price(listing, price)
            self.uow.commit()

    def audit(self) -> list[AuditEntry]:
        if isinstance(self.uow, FakeUnitOfWork):
            return list(self.uow.store.audit)
        with self.uow:
            return list(reversed(self.uow.audit.entries()))

    def waiting_jobs(self) -> list[Command]:
        if isinstance(self.uow, FakeUnitOfWork):
            return list(self.uow.store.jobs)
        with self.uow:
            return [job.command for job in self.uow.jobs.waiting()]


@pytest.fixture(params=("fake", *KINDS))
def backend(request: pytest.FixtureRequest, databases: Databases) -> Harness:
    clock = FixedClock(T0)
    if request.param == "fake":
        return Harness("fake", FakeUnitOfWork())
    engine = clean_engine(databases, request.param)
    return Harness(request.param, SqlAlchemyUnitOfWork(make_session_factory(engine),
                                                       clock=clock))


def table() -> MappingTable:
    rows = [
        MappingRow("A", Listing("main", "MLA1")),
        MappingRow("A", Listing("other", "MLB9"), safety_stock=2, max_quantity=10),
        MappingRow("B", Listing("main", "MLA2", 501)),
        MappingRow("C", Listing("main", "MLA2", 502), active=False),
        MappingRow("KIT", Listing("main", "MLA3")),
    ]
    return MappingTable(rows, [Kit("KIT", {"A": 2, "B": 1})])


def order(order_id: int = 7, status: str = "paid", minutes: int = 0) -> Order:
    return Order(id=order_id, account="main", status=status,
                 last_updated=T0 + timedelta(minutes=minutes),
                 lines=[OrderLine("MLA2", 501, "B", 2, Decimal("10.50"), "ARS")],
                 total_amount=Decimal("21.00"), currency_id="ARS", buyer_id=9,
                 date_created=T0)


class TestAccounts:
    def test_get_by_name_and_user_id_and_list_sorted(self, backend: Harness) -> None:
        backend.seed(accounts=(OTHER, MAIN))
        uow: UnitOfWork = backend.uow
        with uow:
            assert uow.accounts.get("main") == MAIN
            assert uow.accounts.get("nobody") is None
            assert uow.accounts.by_user_id(222) == OTHER
            assert uow.accounts.by_user_id(5) is None
            assert uow.accounts.list() == [MAIN, OTHER]


class TestMappings:
    def test_lookups_by_sku_item_and_listing(self, backend: Harness) -> None:
        backend.seed(accounts=(MAIN, OTHER), table=table())
        uow: UnitOfWork = backend.uow
        with uow:
            assert sorted(r.listing for r in uow.mappings.rows_for_skus(["A"])) == [
                Listing("main", "MLA1"), Listing("other", "MLB9")]
            assert sorted(uow.mappings.rows_for_skus({"B", "C", "nope"}), key=str) == sorted(
                [MappingRow("B", Listing("main", "MLA2", 501)),
                 MappingRow("C", Listing("main", "MLA2", 502), active=False)], key=str)
            assert uow.mappings.rows_for_skus([]) == []
            assert {r.sku for r in uow.mappings.rows_for_item("main", "MLA2")} == {"B", "C"}
            assert uow.mappings.rows_for_item("main", "MLB9") == []
            assert uow.mappings.row_for_listing(Listing("other", "MLB9")) == MappingRow(
                "A", Listing("other", "MLB9"), safety_stock=2, max_quantity=10)
            assert uow.mappings.row_for_listing(Listing("main", "MLA2")) is None
            assert uow.mappings.items() == [("main", "MLA1"), ("main", "MLA2"),
                                            ("main", "MLA3"), ("other", "MLB9")]
            assert uow.mappings.items("other") == [("other", "MLB9")]
            kits = uow.mappings.kits()
            assert kits.get("KIT") == Kit("KIT", {"A": 2, "B": 1})
            assert kits.related_skus("A") == {"A", "KIT"}

    def test_kits_under_reads_down_through_nested_kits_only(self, backend: Harness) -> None:
        rows = [MappingRow(sku, Listing("main", f"MLA{n}"))
                for n, sku in enumerate(["A", "B", "C", "D", "KIT", "BOX", "CRATE", "OTHER"])]
        kits = [Kit("KIT", {"A": 2, "B": 1}), Kit("BOX", {"KIT": 3, "C": 1}),
                Kit("CRATE", {"BOX": 2, "D": 1}), Kit("OTHER", {"A": 1, "D": 4})]
        backend.seed(accounts=(MAIN,), table=MappingTable(rows, kits))
        uow: UnitOfWork = backend.uow
        with uow:
            everything = uow.mappings.kits()
            for skus in (["CRATE"], ["BOX", "A"], ["KIT", "OTHER"], ["A", "D"], [],
                         ["nope"]):
                under = uow.mappings.kits_under(skus)
                assert sorted(under, key=str) == sorted(everything.under(skus), key=str), skus
            crate = uow.mappings.kits_under(["CRATE"])
            assert [crate.get(k) for k in ("CRATE", "BOX", "KIT")] == kits[2::-1]
            assert crate.get("OTHER") is None  # a kit that only shares a component
            assert crate.leaf_units("CRATE") == everything.leaf_units("CRATE")
            assert uow.mappings.kits_under(["A", "D"]).get("OTHER") is None


class TestStock:
    def test_only_a_strictly_newer_report_replaces_the_stored_one(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            assert uow.stock.save_report_if_newer(StockReport("A", "w1", 5, T0))
            assert not uow.stock.save_report_if_newer(StockReport("A", "w1", 9, T0))
            assert not uow.stock.save_report_if_newer(
                StockReport("A", "w1", 9, T0 - timedelta(seconds=1)))
            assert uow.stock.save_report_if_newer(
                StockReport("A", "w1", -3, T0 + timedelta(microseconds=1)))
            assert uow.stock.save_report_if_newer(StockReport("A", "w2", 4, T0))
            assert uow.stock.save_report_if_newer(StockReport("B", "w1", 1, T0))
            uow.commit()
        with uow:
            assert sorted(uow.stock.reports_for(["A"]), key=lambda r: r.warehouse) == [
                StockReport("A", "w1", -3, T0 + timedelta(microseconds=1)),
                StockReport("A", "w2", 4, T0)]
            assert uow.stock.reports_for(["Z"]) == []

    def test_times_in_other_zones_compare_as_instants(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        minus3 = T0.astimezone(__import__("datetime").timezone(timedelta(hours=-3)))
        with uow:
            assert uow.stock.save_report_if_newer(StockReport("A", "w1", 5, T0))
            assert not uow.stock.save_report_if_newer(StockReport("A", "w1", 6, minus3))
            [stored] = uow.stock.reports_for(["A"])
            assert stored.as_of == T0 and stored.quantity == 5

    def test_holds_insert_replace_and_delete_by_key(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        h1 = Hold(7, "MLA2/501", "B", 2)
        h2 = Hold(7, "MLA3/-", "A", 4)
        h3 = Hold(8, "MLA1/-", "A", 1, accounted_at=T0)
        with uow:
            uow.stock.put_holds([h1, h2, h3])
            uow.commit()
        with uow:
            uow.stock.put_holds([Hold(7, "MLA2/501", "B", 3, accounted_at=T0)])
            uow.stock.delete_holds([h2.key, (99, "x", "y")])
            uow.commit()
        with uow:
            assert sorted(uow.stock.holds_for_order(7), key=lambda h: h.key) == [
                Hold(7, "MLA2/501", "B", 3, accounted_at=T0)]
            assert uow.stock.holds_for_skus(["A"]) == [h3]
            assert uow.stock.holds_for_skus([]) == []


class TestOrders:
    def test_an_unknown_order_reads_as_none_even_after_get_locked_it(
            self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            assert uow.orders.get(7) is None
            uow.commit()
        with uow:
            assert uow.orders.get(7) is None

    def test_records_round_trip(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        full = OrderRecord(order_id=7, order=order(), accounted_at=T0,
                           emitted=frozenset({ErpEventType.CREATED, ErpEventType.PAID}))
        accounted_only = OrderRecord(order_id=8, accounted_at=T0)
        with uow:
            uow.orders.save(full)
            uow.orders.save(accounted_only)
            uow.commit()
        with uow:
            assert uow.orders.get(7) == full
            assert uow.orders.get(8) == accounted_only
            newer = OrderRecord(order_id=7, order=order(status="cancelled", minutes=5),
                                accounted_at=T0, emitted=frozenset(ErpEventType))
            uow.orders.save(newer)
            uow.commit()
        with uow:
            assert uow.orders.get(7) == newer


class TestPrices:
    def test_erp_prices_round_trip(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        price = ErpPrice(sku="A", cost=Decimal("100.125"), cost_as_of=T0,
                         list_price=Decimal("180"), list_price_as_of=T0)
        with uow:
            uow.prices.save_erp_price(price)
            uow.prices.save_erp_price(ErpPrice(sku="B", cost=Decimal("1")))
            uow.commit()
        with uow:
            assert uow.prices.erp_prices(["A", "Z"]) == {"A": price}
            assert uow.prices.erp_prices({"B"}) == {"B": ErpPrice(sku="B", cost=Decimal("1"))}
            merged = ErpPrice(sku="A", cost=Decimal("90"), cost_as_of=T0 + timedelta(hours=1),
                              list_price=Decimal("180"), list_price_as_of=T0)
            uow.prices.save_erp_price(merged)
            uow.commit()
        with uow:
            assert uow.prices.erp_prices(["A"]) == {"A": merged}

    def test_policy_and_competitor_prices(self, backend: Harness) -> None:
        policy = PricingPolicy(
            default=PricingRule(min_markup=Decimal("0.1"), fee_rate=Decimal("0.13"),
                                target_markup=Decimal("0.3")),
            by_sku={"A": PricingRule(max_price=Decimal("500"), min_change=Decimal("1"))},
            by_listing={Listing("main", "MLA2", 501): PricingRule(
                undercut=Decimal("0.5"), strategy=Strategy.COMPETITIVE, max_markup=2)})
        backend.seed(accounts=(MAIN, OTHER), table=table(), policy=policy)
        backend.add_competitor(Listing("main", "MLA2", 501), Decimal("99.90"))
        uow: UnitOfWork = backend.uow
        with uow:
            assert uow.prices.policy() == policy
            assert uow.prices.competitor_prices(
                [Listing("main", "MLA2", 501), Listing("main", "MLA1")]) == {
                Listing("main", "MLA2", 501): Decimal("99.90")}

    def test_default_policy_when_none_configured(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            assert uow.prices.policy() == PricingPolicy()


class TestErpFeed:
    def test_cursor_increases_and_read_pages(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            uow.erp_feed.append(ErpEvent(ErpEventType.CREATED, order(7)))
            uow.erp_feed.append(ErpEvent(ErpEventType.PAID, order(7)))
            uow.commit()
        with uow:
            uow.erp_feed.append(ErpEvent(ErpEventType.CREATED, order(8)))
            uow.commit()
        with uow:
            uow.erp_feed.append(ErpEvent(ErpEventType.CREATED, order(9)))  # rolled back
        with uow:
            events = uow.erp_feed.read(0, 10)
            assert [(e.type, e.order_id) for e in events] == [
                (ErpEventType.CREATED, 7), (ErpEventType.PAID, 7), (ErpEventType.CREATED, 8)]
            assert events[0].order == order(7)
            ids = [e.id for e in events if e.id is not None]
            assert len(ids) == 3 and ids == sorted(set(ids))
            assert uow.erp_feed.read(ids[0], 1) == [events[1]]
            assert uow.erp_feed.read(ids[-1], 10) == []


class TestAudit:
    def test_entries_keep_what_why_before_after_and_answer(self, backend: Harness) -> None:
        entry = AuditEntry(at=T0, account="main", item_id="MLA1", action="push",
                           outcome=AuditOutcome.SENT, reason="stock 3 -> 2",
                           before={"available_quantity": 3, "price": "10.5"},
                           after={"available_quantity": 2},
                           response={"id": "MLA1", "status": "active"})
        with backend.uow:
            backend.uow.audit.record(entry)
            backend.uow.commit()
        assert backend.audit() == [entry]


class TestJobOutbox:
    def test_a_waiting_command_absorbs_one_with_the_same_key(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            assert uow.jobs.add(PushItem("main", "MLA1"))
            assert not uow.jobs.add(PushItem("main", "MLA1"))
            assert uow.jobs.add(PushItem("main", "MLA2"))
            uow.commit()
        with uow:
            assert not uow.jobs.add(PushItem("main", "MLA1"))
            assert uow.jobs.add(SyncOrder("main", 7))
            uow.commit()
        with uow:
            assert uow.jobs.add(PushItem("main", "MLA9"))  # rolled back
        assert backend.waiting_jobs() == [PushItem("main", "MLA1"), PushItem("main", "MLA2"),
                                          SyncOrder("main", 7)]

    def test_pending_names_the_keys_still_waiting_or_running(self, backend: Harness) -> None:
        ledger: Any = backend.uow  # the runtime's side: claim, complete, pending
        with ledger:
            for item in ("MLA1", "MLA2", "MLA3"):
                ledger.jobs.add(PushItem("main", item))
            ledger.commit()
        with ledger:
            ledger.jobs.claim(dedup_key="push-main-MLA2")  # running
            done = ledger.jobs.claim(dedup_key="push-main-MLA3")
            ledger.jobs.complete(done.id)
            ledger.commit()
        keys = [PushItem("main", item).dedup_key for item in ("MLA1", "MLA2", "MLA3", "MLA4")]
        with ledger:
            assert ledger.jobs.pending(keys) == {"push-main-MLA1", "push-main-MLA2"}
            assert ledger.jobs.pending([]) == set()


def note(resource: str, ml_id: str | None = None, topic: str = "orders_v2") -> Notification:
    return Notification(topic=topic, resource=resource, user_id=111, application_id=5,
                        attempts=1, sent=T0, received=T0, ml_id=ml_id)


def receive(uow: UnitOfWork, notification: Notification, raw: dict[str, Any],
            at: datetime) -> tuple[int, bool]:
    """What the webhook does (``receive_notification``): the entry, and its job if new."""
    entry_id, new = uow.inbox.add(notification, raw, at)
    if new:
        uow.jobs.add(ProcessNotification(entry_id))
    return entry_id, new


class TestInbox:
    def test_duplicates_join_the_waiting_entry_until_it_is_processed(
            self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            first, new = receive(uow, note("/orders/1"), {"resource": "/orders/1"}, T0)
            assert new
            assert receive(uow, note("/orders/1"), {}, T0 + timedelta(seconds=1)) == (
                first, False)
            other, new_other = receive(uow, note("/orders/1", topic="items"), {}, T0)
            assert new_other and other != first
            uow.commit()
        with uow:
            entry = uow.inbox.get(first)
            assert entry is not None
            assert entry.duplicates == 1 and entry.raw == {"resource": "/orders/1"}
            assert entry.notification == note("/orders/1") and entry.received_at == T0
            uow.inbox.mark_processed(first, "synced", T0 + timedelta(minutes=1))
            uow.commit()
        with uow:
            again, new_again = receive(uow, note("/orders/1"), {}, T0 + timedelta(minutes=2))
            assert new_again and again not in (first, other)
            done = uow.inbox.get(first)
            assert done is not None and done.outcome == "synced"
            assert done.processed_at == T0 + timedelta(minutes=1)
            assert uow.inbox.get(10_000) is None

    def test_an_entry_whose_job_cannot_run_absorbs_nothing(self, backend: Harness) -> None:
        """An entry without a waiting job (its job is gone, or running) would swallow every
        later notification for its resource: the next one retires it and takes over."""
        uow: UnitOfWork = backend.uow
        with uow:
            orphan, _ = uow.inbox.add(note("/orders/1"), {}, T0)  # no job
            uow.commit()
        with uow:
            entry_id, new = receive(uow, note("/orders/1"), {}, T0 + timedelta(seconds=5))
            assert new and entry_id != orphan
            assert receive(uow, note("/orders/1"), {}, T0 + timedelta(seconds=6)) == (
                entry_id, False)
            retired = uow.inbox.get(orphan)
            assert retired is not None and retired.outcome.startswith("retired")
            assert retired.processed_at == T0 + timedelta(seconds=5)
            uow.commit()
        assert ProcessNotification(entry_id) in backend.waiting_jobs()

    def test_the_same_ml_id_is_always_a_duplicate(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            first, _ = uow.inbox.add(note("/orders/1", ml_id="abc"), {}, T0)
            uow.inbox.mark_processed(first, "synced", T0)
            assert uow.inbox.add(note("/orders/1", ml_id="abc"), {}, T0) == (first, False)
            _, new = uow.inbox.add(note("/orders/1", ml_id="def"), {}, T0)
            assert new

    def test_unprocessed_oldest_first_received_before(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            a, _ = uow.inbox.add(note("/orders/1"), {}, T0)
            b, _ = uow.inbox.add(note("/orders/2"), {}, T0 + timedelta(seconds=10))
            c, _ = uow.inbox.add(note("/orders/3"), {}, T0 + timedelta(seconds=20))
            uow.inbox.mark_processed(a, "done", T0)
            uow.commit()
        with uow:
            waiting = uow.inbox.unprocessed(T0 + timedelta(seconds=15), 10)
            assert [e.id for e in waiting] == [b]
            assert [e.id for e in uow.inbox.unprocessed(T0 + timedelta(hours=1), 1)] == [b]
            assert [e.id for e in uow.inbox.unprocessed(T0 + timedelta(hours=1), 5)] == [b, c]


class TestCheckpoints:
    def test_set_get_overwrite(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            assert uow.checkpoints.get("main", "orders") is None
            uow.checkpoints.set("main", "orders", T0)
            uow.checkpoints.set("main", "orders", T0 + timedelta(hours=1))
            uow.checkpoints.set("other", "orders", T0)
            uow.commit()
        with uow:
            assert uow.checkpoints.get("main", "orders") == T0 + timedelta(hours=1)
            assert uow.checkpoints.get("other", "orders") == T0
            assert uow.checkpoints.get("main", "missed") is None


class TestUnitOfWork:
    def test_leaving_without_commit_rolls_back(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            uow.stock.save_report_if_newer(StockReport("A", "w1", 5, T0))
            uow.checkpoints.set("main", "orders", T0)
        with uow:
            assert uow.stock.reports_for(["A"]) == []
            assert uow.checkpoints.get("main", "orders") is None

    def test_an_exception_rolls_back(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with pytest.raises(ZeroDivisionError), uow:
            uow.checkpoints.set("main", "orders", T0)
            _ = 1 / 0
        with uow:
            assert uow.checkpoints.get("main", "orders") is None

    def test_work_after_a_commit_needs_another_commit(self, backend: Harness) -> None:
        uow: UnitOfWork = backend.uow
        with uow:
            uow.checkpoints.set("main", "a", T0)
            uow.commit()
            uow.checkpoints.set("main", "b", T0)
        with uow:
            assert uow.checkpoints.get("main", "a") == T0
            assert uow.checkpoints.get("main", "b") is None
