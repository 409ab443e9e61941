"""What only the SQL side has: migrations, the job dispatcher's API, tokens, locks, indexes."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select, text

from adapters.serialization import command_to_json
from adapters.sql.engine import make_engine, make_session_factory
from adapters.sql.locks import SqlLocks
from adapters.sql.migrate import current_revision, head_revision, upgrade
from adapters.sql.rows.accounts import AccountRow
from adapters.sql.rows.base import Base
from adapters.sql.tokens import SqlTokenStore
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.commands import PushItem, SyncOrder
from connector_core.domain.errors import InvalidInput, UnknownAccount
from connector_core.domain.lanes import Lane
from connector_core.domain.orders import OrderRecord
from connector_core.domain.prices import ErpPrice
from connector_core.domain.stock import StockReport
from tests.fakes import FixedClock

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class TestMigrations:
    def test_head_is_applied_and_matches_the_rows(self, engine: Engine) -> None:
        assert current_revision(engine) == head_revision()
        upgrade(engine)  # idempotent
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []


    def test_every_step_upgrades_a_database_in_use(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(engine, "0001")
        with engine.begin() as conn:  # a job written by the 0001 code (its columns only)
            conn.execute(text(
                "INSERT INTO jobs (dedup_key, kind, command, created_at, attempts) VALUES "
                "('push-main-MLA1', 'PushItem', :command, '2026-11-01 10:00:00', 0)"),
                {"command": json.dumps(command_to_json(PushItem("main", "MLA1")))})
        upgrade(engine)
        uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
        assert current_revision(engine) == head_revision()
        with uow:
            assert [j.command for j in uow.jobs.waiting()] == [PushItem("main", "MLA1")]
        engine.dispose()


class TestJobDispatcherApi:
    def test_claim_complete_and_coalescing_after_a_claim(self, sql_uow: SqlAlchemyUnitOfWork,
                                                         clock: FixedClock) -> None:
        uow = sql_uow
        with uow:
            uow.jobs.add(PushItem("main", "MLA1"))
            uow.jobs.add(SyncOrder("main", 7))
            uow.commit()
        with uow:
            waiting = uow.jobs.waiting()
            assert [j.command for j in waiting] == [PushItem("main", "MLA1"),
                                                    SyncOrder("main", 7)]
            claimed = uow.jobs.claim(dedup_key="push-main-MLA1")
            assert claimed is not None and claimed.attempts == 1
            assert uow.jobs.claim(job_id=claimed.id) is None  # already taken
            uow.commit()
        with uow:
            # claimed jobs no longer absorb new ones: the runner may have read old state
            assert uow.jobs.add(PushItem("main", "MLA1"))
            assert not uow.jobs.add(PushItem("main", "MLA1"))
            uow.jobs.complete(claimed.id)
            uow.commit()
        with uow:
            assert [j.dedup_key for j in uow.jobs.waiting()] == ["order-main-7",
                                                                 "push-main-MLA1"]

    def test_an_urgent_twin_promotes_a_waiting_bulk_job_back_to_the_relays(
            self, sql_uow: SqlAlchemyUnitOfWork, clock: FixedClock) -> None:
        uow = sql_uow
        later = clock.now() + timedelta(seconds=30)
        with uow:
            assert uow.jobs.add(PushItem("main", "MLA1"))  # a push: bulk by default
            assert uow.jobs.add(PushItem("main", "MLA2"), not_before=later)
            assert uow.jobs.add(SyncOrder("main", 7))  # reading an order: urgent
            uow.commit()
        with uow:
            taken = {j.dedup_key: j.lane for j in uow.jobs.take_for_dispatch()}
            uow.commit()
        assert taken == {"push-main-MLA1": Lane.BULK, "order-main-7": Lane.URGENT}
        with uow:  # a sale's pushes join both: urgent, due now, for the relays again
            assert not uow.jobs.add(PushItem("main", "MLA1"), lane=Lane.URGENT)
            assert not uow.jobs.add(PushItem("main", "MLA2"), lane=Lane.URGENT)
            assert not uow.jobs.add(PushItem("main", "MLA1"))  # bulk joining keeps it urgent
            uow.commit()
        with uow:
            again = {j.dedup_key: j.lane for j in uow.jobs.take_for_dispatch()}
            uow.commit()
        assert again == {"push-main-MLA1": Lane.URGENT, "push-main-MLA2": Lane.URGENT}
        with uow:
            claimed = uow.jobs.claim(dedup_key="push-main-MLA1")
            assert claimed is not None and claimed.lane is Lane.URGENT

    def test_due_lists_undispatched_or_long_dispatched_jobs(
            self, sql_uow: SqlAlchemyUnitOfWork, clock: FixedClock) -> None:
        uow = sql_uow
        with uow:
            uow.jobs.add(PushItem("main", "MLA1"))
            uow.jobs.add(PushItem("main", "MLA2"))
            uow.commit()
        with uow:
            assert uow.jobs.due(timedelta(seconds=30)) == []  # too young
        clock.advance(60)
        with uow:
            first, second = uow.jobs.waiting()
            uow.jobs.mark_dispatched([first.id])  # dispatched now; second was lost
            uow.commit()
        with uow:
            assert [j.id for j in uow.jobs.due(timedelta(seconds=30))] == [second.id]
        clock.advance(60)
        with uow:  # dispatched a minute ago and still unclaimed: the queue lost it
            assert [j.id for j in uow.jobs.due(timedelta(seconds=30))] == [first.id, second.id]

    def test_stale_claims_go_back_to_waiting_or_merge(self, sql_uow: SqlAlchemyUnitOfWork,
                                                      clock: FixedClock) -> None:
        uow = sql_uow
        with uow:
            uow.jobs.add(PushItem("main", "MLA1"))
            uow.jobs.add(PushItem("main", "MLA2"))
            uow.commit()
        with uow:
            assert uow.jobs.claim(dedup_key="push-main-MLA1") is not None
            assert uow.jobs.claim(dedup_key="push-main-MLA2") is not None
            uow.jobs.add(PushItem("main", "MLA2"))  # a new one waits behind the running one
            uow.commit()
        clock.advance(600)
        with uow:
            released = uow.jobs.release_stale_claims(timedelta(minutes=5))
            uow.commit()
        assert [j.dedup_key for j in released] == ["push-main-MLA1"]  # MLA2 merged
        with uow:
            assert sorted(j.dedup_key for j in uow.jobs.waiting()) == ["push-main-MLA1",
                                                                       "push-main-MLA2"]


def _account(engine: Engine) -> None:
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    with uow:
        uow.accounts.upsert(Account(name="main", user_id=111, site_id="MLA"))
        uow.commit()


class TestTokenStore:
    def test_tokens_are_encrypted_at_rest_and_round_trip(self, engine: Engine) -> None:
        _account(engine)
        key = Fernet.generate_key()
        store = SqlTokenStore(make_session_factory(engine), key)
        assert store.load("main") is None
        tokens = TokenSet(access_token="APP_USR-access-secret", refresh_token="TG-refresh-secret",
                          expires_at=T0, user_id=111, scope="offline_access")
        store.save("main", tokens)
        assert store.load("main") == tokens
        with engine.connect() as conn:
            raw = " ".join(str(v) for v in conn.execute(select(AccountRow.__table__)).one())
        assert "secret" not in raw
        assert "secret" not in repr(store) and "secret" not in repr(tokens)
        [status] = store.statuses()
        assert status.connected and not status.needs_reconnect
        store.mark_revoked("main", "invalid_grant")
        [status] = store.statuses()
        assert status.needs_reconnect and status.reason == "invalid_grant"
        store.save("main", tokens)
        assert not store.statuses()[0].needs_reconnect
        with pytest.raises(InvalidInput, match="does not decrypt"):
            SqlTokenStore(make_session_factory(engine), Fernet.generate_key()).load("main")

    def test_unknown_account_and_bad_key(self, engine: Engine) -> None:
        store = SqlTokenStore(make_session_factory(engine), Fernet.generate_key())
        with pytest.raises(UnknownAccount):
            store.save("ghost", TokenSet(access_token="a", refresh_token="r", expires_at=T0))
        with pytest.raises(InvalidInput, match="not a valid key"):
            SqlTokenStore(make_session_factory(engine), "short")
        with pytest.raises(InvalidInput, match=r"not a valid key \(key 2 of 2\)"):
            SqlTokenStore(make_session_factory(engine), f"{Fernet.generate_key().decode()},x")
        with pytest.raises(InvalidInput, match="empty entry"):
            SqlTokenStore(make_session_factory(engine), f"{Fernet.generate_key().decode()},")

    def test_keys_rotate_the_first_encrypts_all_decrypt(self, engine: Engine) -> None:
        _account(engine)
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        tokens = TokenSet(access_token="APP_USR-a", refresh_token="TG-r", expires_at=T0,
                          user_id=111)
        SqlTokenStore(make_session_factory(engine), old).save("main", tokens)
        both = SqlTokenStore(make_session_factory(engine), f"{new}, {old}")
        assert both.load("main") == tokens and both.check_key() == 2
        only_new = SqlTokenStore(make_session_factory(engine), new)
        with pytest.raises(InvalidInput, match="does not decrypt"):
            only_new.check_key()
        assert both.rekey() == 1
        assert only_new.load("main") == tokens and only_new.check_key() == 2
        with pytest.raises(InvalidInput, match="does not decrypt"):
            SqlTokenStore(make_session_factory(engine), old).load("main")

    def test_rekey_with_no_matching_key_changes_nothing(self, engine: Engine) -> None:
        _account(engine)
        key = Fernet.generate_key().decode()
        tokens = TokenSet(access_token="APP_USR-a", refresh_token="TG-r", expires_at=T0)
        SqlTokenStore(make_session_factory(engine), key).save("main", tokens)
        with pytest.raises(InvalidInput, match="account 'main': no key"):
            SqlTokenStore(make_session_factory(engine), Fernet.generate_key()).rekey()
        assert SqlTokenStore(make_session_factory(engine), key).load("main") == tokens


    def test_release_puts_a_failed_job_back_or_merges_it(
            self, sql_uow: SqlAlchemyUnitOfWork, clock: FixedClock) -> None:
        uow = sql_uow
        with uow:
            uow.jobs.add(PushItem("main", "MLA1"))
            uow.jobs.add(PushItem("main", "MLA2"))
            one = uow.jobs.claim(dedup_key="push-main-MLA1")
            two = uow.jobs.claim(dedup_key="push-main-MLA2")
            assert one is not None and two is not None
            uow.jobs.add(PushItem("main", "MLA2"))
            uow.commit()
        with uow:
            assert uow.jobs.release(one.id, dispatched_at=clock.now())
            assert not uow.jobs.release(two.id)  # a twin waits: this row goes
            assert not uow.jobs.release(one.id)  # not claimed any more
            uow.commit()
        with uow:
            waiting = uow.jobs.waiting()
        assert [(j.dedup_key, j.dispatched_at) for j in waiting] == [
            ("push-main-MLA1", clock.now()), ("push-main-MLA2", None)]
        assert two.id not in [j.id for j in waiting]


class TestLocks:
    def test_mutual_exclusion_and_timeout(self, engine: Engine) -> None:
        locks = SqlLocks(engine)
        entered = threading.Event()
        release = threading.Event()

        def holder() -> None:
            with locks.hold("refresh:main", ttl=30, wait=5):
                entered.set()
                release.wait(10)

        thread = threading.Thread(target=holder)
        thread.start()
        assert entered.wait(5)
        start = time.monotonic()
        with pytest.raises(TimeoutError), locks.hold("refresh:main", wait=0.3):
            pass
        assert time.monotonic() - start >= 0.3
        with locks.hold("refresh:other", wait=1):
            pass  # other names are independent
        release.set()
        thread.join()
        with locks.hold("refresh:main", wait=2):
            pass

    def test_a_hung_holders_lock_is_taken_over_after_its_ttl(self, engine: Engine) -> None:
        locks = SqlLocks(engine)
        hung = locks.hold("x", ttl=0.5, wait=1)
        hung.__enter__()  # a holder that never releases (its connection stays open)
        started = time.monotonic()
        with pytest.raises(TimeoutError), locks.hold("x", wait=0.2):
            pass  # before the ttl: still held
        with locks.hold("x", ttl=30, wait=5):
            taken_after = time.monotonic() - started
            hung.__exit__(None, None, None)  # the hung holder wakes: it frees only its own
            with pytest.raises(TimeoutError), locks.hold("x", wait=0.2):
                pass
        assert 0.4 <= taken_after < 2.0, taken_after


class TestInterleavings:
    """Deterministic interleavings of two transactions on PostgreSQL (SQLite runs one
    writing transaction at a time, so these cannot interleave there)."""

    def test_a_stale_read_cannot_undo_a_concurrent_price_update(self, pg_engine: Engine) -> None:
        first = SqlAlchemyUnitOfWork(make_session_factory(pg_engine))
        second = SqlAlchemyUnitOfWork(make_session_factory(pg_engine))
        with first:
            first.prices.save_erp_price(ErpPrice(sku="A", cost=Decimal(10), cost_as_of=T0,
                                                 list_price=Decimal(20), list_price_as_of=T0))
            first.commit()
        with first:
            stale = first.prices.erp_prices(["A"])["A"]  # read ...
            with second:  # ... meanwhile the list price moves and commits
                second.prices.save_erp_price(ErpPrice(
                    sku="A", list_price=Decimal(25), list_price_as_of=T0 + timedelta(hours=1)))
                second.commit()
            update = ErpPrice(sku="A", cost=Decimal(11), cost_as_of=T0 + timedelta(hours=2))
            first.prices.save_erp_price(update.merged_into(stale))  # ... write from the stale read
            first.commit()
        with first:
            assert first.prices.erp_prices(["A"])["A"] == ErpPrice(
                sku="A", cost=Decimal(11), cost_as_of=T0 + timedelta(hours=2),
                list_price=Decimal(25), list_price_as_of=T0 + timedelta(hours=1))

    @pytest.mark.parametrize("first_at,second_at", [(10, 5), (5, 10)],
                             ids=["newer commits first", "older commits first"])
    @pytest.mark.parametrize("existing", [False, True], ids=["new sku", "known sku"])
    def test_the_newer_report_wins_whatever_the_commit_order(
            self, pg_engine: Engine, first_at: int, second_at: int, existing: bool) -> None:
        first = SqlAlchemyUnitOfWork(make_session_factory(pg_engine))
        second = SqlAlchemyUnitOfWork(make_session_factory(pg_engine))
        if existing:
            with first:
                first.stock.save_report_if_newer(StockReport("A", "w1", 1, T0))
                first.commit()
        results: list[bool] = []

        def other() -> None:
            with second:  # blocks on the row until `first` commits
                results.append(second.stock.save_report_if_newer(
                    StockReport("A", "w1", second_at, T0 + timedelta(seconds=second_at))))
                second.commit()

        with first:
            assert first.stock.save_report_if_newer(
                StockReport("A", "w1", first_at, T0 + timedelta(seconds=first_at)))
            thread = threading.Thread(target=other)
            thread.start()
            time.sleep(0.3)
            first.commit()
        thread.join(5)
        assert results == [second_at > first_at]
        with first:
            [report] = first.stock.reports_for(["A"])
        assert report.quantity == max(first_at, second_at)

    @pytest.mark.parametrize("stored", [False, True], ids=["new order", "known order"])
    def test_a_second_delivery_of_an_order_waits_for_the_first(self, pg_engine: Engine,
                                                               stored: bool) -> None:
        first = SqlAlchemyUnitOfWork(make_session_factory(pg_engine))
        second = SqlAlchemyUnitOfWork(make_session_factory(pg_engine))
        if stored:
            with first:
                first.orders.save(OrderRecord(order_id=7, accounted_at=T0))
                first.commit()
        seen: list[OrderRecord | None] = []

        def other() -> None:
            with second:
                seen.append(second.orders.get(7))  # blocks until `first` commits

        with first:
            assert (first.orders.get(7) is not None) == stored
            thread = threading.Thread(target=other)
            thread.start()
            time.sleep(0.3)
            assert seen == []  # still waiting on the lock
            first.orders.save(OrderRecord(order_id=7, accounted_at=T0 + timedelta(hours=1)))
            first.commit()
        thread.join(5)
        assert seen == [OrderRecord(order_id=7, accounted_at=T0 + timedelta(hours=1))]


class TestIndexes:
    """Single-SKU and single-listing lookups use an index, never a scan of the table."""

    QUERIES: ClassVar[dict[str, str]] = {
        "mapping rows by sku": "SELECT * FROM mapping_rows WHERE sku = 'S1'",
        "mapping rows by listing": "SELECT * FROM mapping_rows WHERE account = 'a' "
                                   "AND item_id = 'MLA1' AND variation_id = 0",
        "holds by sku": "SELECT * FROM holds WHERE sku = 'S1'",
        "holds by order": "SELECT * FROM holds WHERE order_id = 7",
        "reports by sku": "SELECT * FROM stock_reports WHERE sku = 'S1'",
    }

    @pytest.mark.parametrize("query", sorted(QUERIES))
    def test_lookup_uses_an_index(self, engine: Engine, query: str) -> None:
        sql = self.QUERIES[query]
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {sql}"))
                assert "USING" in plan and "INDEX" in plan, plan
            else:
                conn.execute(text("SET LOCAL enable_seqscan = off"))
                plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))
                assert "Index" in plan and "Seq Scan" not in plan, plan
