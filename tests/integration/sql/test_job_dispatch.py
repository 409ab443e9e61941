"""Dispatching the job outbox: each job is taken once, however many processes dispatch."""

import threading
from datetime import timedelta

from sqlalchemy.engine import Engine

from adapters.sql.engine import make_session_factory
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from connector_core.domain.commands import PushItem
from connector_core.domain.lanes import Lane
from tests.fakes import FixedClock
from tests.integration.sql.plans import (
    database_without_statistics,
    explain,
    rows_read,
    shown,
    statements,
)


def add_jobs(uow: SqlAlchemyUnitOfWork, count: int) -> None:
    with uow:
        for n in range(count):
            uow.jobs.add(PushItem("main", f"MLA{n}"))
        uow.commit()


def test_jobs_are_taken_once_then_only_new_ones(sql_uow: SqlAlchemyUnitOfWork,
                                                 clock: FixedClock) -> None:
    add_jobs(sql_uow, 5)
    with sql_uow:
        first = sql_uow.jobs.take_for_dispatch(limit=3)
        second = sql_uow.jobs.take_for_dispatch(limit=10)
        sql_uow.commit()
    assert [j.command.item_id for j in first + second] == [f"MLA{n}" for n in range(5)]
    assert all(j.dispatched_at == clock.now() for j in first + second)
    with sql_uow:
        assert sql_uow.jobs.take_for_dispatch() == []
        claimed = sql_uow.jobs.claim(dedup_key="push-main-MLA0")
        sql_uow.commit()
    assert claimed is not None
    add_jobs(sql_uow, 1)  # MLA0 again, while its previous run is claimed: new work
    with sql_uow:
        again = sql_uow.jobs.take_for_dispatch()
    assert [j.command.item_id for j in again] == ["MLA0"]


def test_concurrent_dispatchers_take_disjoint_jobs(pg_engine: Engine) -> None:
    uow = SqlAlchemyUnitOfWork(make_session_factory(pg_engine), clock=FixedClock())
    add_jobs(uow, 40)
    first_holds = threading.Event()
    second_done = threading.Event()
    taken: dict[str, list[int]] = {}
    not_blocked: list[bool] = []

    def first() -> None:
        with uow:  # takes 10 and keeps its transaction open while the other one runs
            taken["first"] = [j.id for j in uow.jobs.take_for_dispatch(limit=10)]
            first_holds.set()
            not_blocked.append(second_done.wait(5))  # the other must not wait for us
            uow.commit()

    def second() -> None:
        first_holds.wait(10)
        with uow:
            taken["second"] = [j.id for j in uow.jobs.take_for_dispatch(limit=100)]
            uow.commit()
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not_blocked == [True], "the second dispatcher waited for the first's rows"
    assert len(taken["first"]) == 10 and len(taken["second"]) == 30
    assert not set(taken["first"]) & set(taken["second"])


def test_a_held_back_job_waits_for_its_time_and_an_urgent_twin_releases_it(
        sql_uow: SqlAlchemyUnitOfWork, clock: FixedClock) -> None:
    t0 = clock.now()
    window = t0 + timedelta(seconds=2)
    with sql_uow:
        assert sql_uow.jobs.add(PushItem("main", "MLA1"), not_before=window)
        # a later change joins it without moving the window
        assert not sql_uow.jobs.add(PushItem("main", "MLA1"),
                                    not_before=window + timedelta(seconds=1))
        assert sql_uow.jobs.add(PushItem("main", "MLA2"), not_before=window)
        sql_uow.commit()
    with sql_uow:
        assert sql_uow.jobs.take_for_dispatch(now=t0 + timedelta(seconds=1)) == []
        assert sql_uow.jobs.next_due() == window
        # the sweeper leaves it alone too, however old its row
        assert sql_uow.jobs.due(timedelta(seconds=30), now=t0 + timedelta(seconds=31)) == []
        assert not sql_uow.jobs.add(PushItem("main", "MLA2"))  # an order: due now
        taken = sql_uow.jobs.take_for_dispatch(now=t0 + timedelta(seconds=1))
        assert [j.command.item_id for j in taken] == ["MLA2"]
        later = sql_uow.jobs.take_for_dispatch(now=window)
        sql_uow.commit()
    assert [j.command.item_id for j in later] == ["MLA1"]
    with sql_uow:
        assert sql_uow.jobs.next_due() is None


def test_the_sweeper_takes_a_held_back_job_once_it_is_overdue(
        sql_uow: SqlAlchemyUnitOfWork, clock: FixedClock) -> None:
    t0 = clock.now()
    with sql_uow:
        sql_uow.jobs.add(PushItem("main", "MLA1"), not_before=t0 + timedelta(seconds=5))
        sql_uow.commit()
    with sql_uow:
        assert sql_uow.jobs.due(timedelta(seconds=30), now=t0 + timedelta(seconds=34)) == []
        overdue = sql_uow.jobs.due(timedelta(seconds=30), now=t0 + timedelta(seconds=36))
    assert [j.command.item_id for j in overdue] == ["MLA1"]


def test_new_work_replaces_a_dead_letter_and_joins_a_live_job(engine: Engine,
                                                              clock: FixedClock) -> None:
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock, max_attempts=3)
    add_jobs(uow, 2)
    # MLA0 fails three runs (a dead letter); MLA1 fails one and waits for its retry
    for key in ["push-main-MLA0"] * 3 + ["push-main-MLA1"]:
        with uow:
            job = uow.jobs.claim(dedup_key=key)
            assert job is not None
            assert uow.jobs.release(job.id, dispatched_at=clock.now())
            uow.commit()
    with uow:
        assert {j.dedup_key: j.attempts for j in uow.jobs.waiting()} == {
            "push-main-MLA0": 3, "push-main-MLA1": 1}
    clock.advance(60)
    with uow:
        assert uow.jobs.add(PushItem("main", "MLA0")), "a dead letter is replaced"
        assert not uow.jobs.add(PushItem("main", "MLA1")), "a live job is joined"
        uow.commit()
    with uow:
        waiting = {j.dedup_key: j for j in uow.jobs.waiting()}
        taken = uow.jobs.take_for_dispatch()
    assert waiting["push-main-MLA0"].attempts == 0
    assert waiting["push-main-MLA0"].created_at == clock.now()
    assert waiting["push-main-MLA1"].attempts == 1
    assert [j.dedup_key for j in taken] == ["push-main-MLA0"]  # MLA1 awaits its retry


def test_without_a_limit_a_job_is_never_a_dead_letter(sql_uow: SqlAlchemyUnitOfWork) -> None:
    add_jobs(sql_uow, 1)
    for _ in range(10):
        with sql_uow:
            job = sql_uow.jobs.claim(dedup_key="push-main-MLA0")
            assert job is not None
            sql_uow.jobs.release(job.id)
            sql_uow.commit()
    with sql_uow:
        assert not sql_uow.jobs.add(PushItem("main", "MLA0"))


def test_dead_letters_do_not_fill_the_sweepers_batch(engine: Engine, clock: FixedClock) -> None:
    """Dead letters are the oldest unclaimed rows: were they counted in the sweeper's batch,
    as many of them as the batch holds would hide every lost job behind them for ever."""
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock, max_attempts=2)
    add_jobs(uow, 3)
    for key in ["push-main-MLA0", "push-main-MLA1"] * 2:  # two dead letters
        with uow:
            job = uow.jobs.claim(dedup_key=key)
            assert job is not None
            uow.jobs.release(job.id, dispatched_at=clock.now())
            uow.commit()
    clock.advance(60)  # MLA2 was never dispatched: lost (the queue was down, say)
    with uow:
        due = uow.jobs.due(timedelta(seconds=30), limit=2)
    assert [j.command.item_id for j in due] == ["MLA2"]


_BUSY_QUEUE = """
    INSERT INTO jobs (dedup_key, kind, command, created_at, attempts, dispatched_at,
                      claimed_at, not_before)
    SELECT 'push-main-MLA' || g, 'PushItem',
           json_build_object('type', 'PushItem', 'account', 'main', 'item_id', 'MLA' || g),
           %(now)s, 0,
           CASE WHEN g BETWEEN 20001 AND 50000 THEN %(now)s END,  -- on the queue
           CASE WHEN g BETWEEN 40001 AND 50000 THEN %(now)s END,  -- running
           CASE WHEN g <= 20000 THEN %(now)s + interval '60 seconds'  -- held back
                WHEN g > 50050 THEN %(now)s - interval '1 second' END   -- held, now due
    FROM generate_series(1, 50055) AS g"""
# 20,000 pushes held back by the window (a catalogue re-sync), 20,000 on the queue, 10,000
# running, 50 ready and 5 whose window has just ended


def test_an_urgent_twin_finds_its_held_back_job_by_key_without_statistics() -> None:
    """A sale's push joins the ERP's push of the same item held back by the window, and
    makes it due now. With a busy queue and no statistics, PostgreSQL once found that row by
    walking every job not yet dispatched."""
    clock = FixedClock()
    with database_without_statistics("jobs", _BUSY_QUEUE, {"now": clock.now()}) as engine:
        uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock)
        with statements(engine, "UPDATE") as seen, uow:
            assert not uow.jobs.add(PushItem("main", "MLA12345"))  # joins the held one
            (statement, parameters), = seen
            plan = explain(uow.session, statement, parameters)
            uow.commit()
        with uow:
            due = uow.jobs.take_for_dispatch(limit=100)
    assert [j.command.item_id for j in due] == ["MLA12345"] + [
        f"MLA{n}" for n in range(50001, 50056)]
    assert rows_read(plan) <= 10, shown(plan)


def test_dispatch_reads_the_jobs_it_takes_not_those_held_back() -> None:
    """Every relay takes jobs every 50 ms, and asks when the next held-back one is due. With
    20,000 pushes held back by the window, both once read every one of them on each call
    (with statistics or without); now each reads about what it returns."""
    clock = FixedClock()
    with database_without_statistics("jobs", _BUSY_QUEUE, {"now": clock.now()}) as engine:
        uow = SqlAlchemyUnitOfWork(make_session_factory(engine), clock=clock)
        with statements(engine, "UPDATE") as taking, uow:  # not committed
            taken = uow.jobs.take_for_dispatch(limit=100)
        (statement, parameters), = taking
        with uow:  # the same statement explained, taking the same jobs
            take = explain(uow.session, statement, parameters)
        with statements(engine, "SELECT") as asking, uow:
            assert uow.jobs.next_due() == clock.now() - timedelta(seconds=1)
            (statement, parameters), = asking
            ask = explain(uow.session, statement, parameters)
    assert [j.command.item_id for j in taken] == [f"MLA{n}" for n in range(50001, 50056)]
    assert take["Actual Rows"] == 55, shown(take)  # it took them: the real work, explained
    assert rows_read(take) <= 2 * 100, shown(take)
    assert rows_read(ask) <= 10, shown(ask)


def test_batch_mates_are_the_waiting_untried_due_jobs_of_the_group_and_lane(
        sql_uow: SqlAlchemyUnitOfWork, clock: FixedClock) -> None:
    with sql_uow:
        for n in range(6):
            sql_uow.jobs.add(PushItem("main", f"MLA{n}"))
        sql_uow.jobs.add(PushItem("main", "MLA50"), not_before=clock.now() + timedelta(seconds=9))
        sql_uow.jobs.add(PushItem("main", "MLA60"), lane=Lane.URGENT)
        sql_uow.jobs.add(PushItem("ma_n", "MLA70"))  # "_" is no wildcard
        sql_uow.jobs.add(PushItem("main-b", "MLA80"))  # the caller tells accounts apart
        sql_uow.commit()
    with sql_uow:
        first = sql_uow.jobs.claim(dedup_key="push-main-MLA0")
        tried = sql_uow.jobs.claim(dedup_key="push-main-MLA1")
        assert first is not None and tried is not None
        assert sql_uow.jobs.release(tried.id)  # failed once: it runs alone from now on
        sql_uow.jobs.claim(dedup_key="push-main-MLA2")  # another runner's
        sql_uow.commit()
    with sql_uow:
        due = sql_uow.jobs.batch_mates(first, key_prefix="push-main-", limit=10,
                                       due_by=clock.now())
        held_too = sql_uow.jobs.batch_mates(first, key_prefix="push-main-", limit=10,
                                            due_by=None)
        two = sql_uow.jobs.batch_mates(first, key_prefix="push-main-", limit=2,
                                       due_by=clock.now())
        wild = sql_uow.jobs.batch_mates(first, key_prefix="push-ma_n-", limit=10,
                                        due_by=clock.now())
    assert [j.dedup_key for j in due] == ["push-main-MLA3", "push-main-MLA4",
                                          "push-main-MLA5", "push-main-b-MLA80"]
    assert [j.dedup_key for j in held_too] == ["push-main-MLA3", "push-main-MLA4",
                                               "push-main-MLA5", "push-main-MLA50",
                                               "push-main-b-MLA80"]
    assert [j.dedup_key for j in two] == ["push-main-MLA3", "push-main-MLA4"]
    assert [j.dedup_key for j in wild] == ["push-ma_n-MLA70"]


def test_claim_many_takes_those_still_unclaimed_in_one_go(sql_uow: SqlAlchemyUnitOfWork,
                                                          clock: FixedClock) -> None:
    add_jobs(sql_uow, 4)
    with sql_uow:
        ids = {j.dedup_key: j.id for j in sql_uow.jobs.waiting()}
        sql_uow.jobs.claim(dedup_key="push-main-MLA1")  # another runner's
        taken = sql_uow.jobs.claim_many([ids["push-main-MLA3"], ids["push-main-MLA1"],
                                         ids["push-main-MLA2"]])
        sql_uow.commit()
    assert [(j.dedup_key, j.attempts, j.claimed_at) for j in taken] == [
        ("push-main-MLA2", 1, clock.now()), ("push-main-MLA3", 1, clock.now())]
    with sql_uow:
        assert [j.dedup_key for j in sql_uow.jobs.waiting()] == ["push-main-MLA0"]
        assert sql_uow.jobs.claim_many([]) == []


def test_unclaim_gives_a_job_back_untried_or_drops_it_for_a_twin(
        sql_uow: SqlAlchemyUnitOfWork) -> None:
    add_jobs(sql_uow, 2)
    with sql_uow:
        first = sql_uow.jobs.claim(dedup_key="push-main-MLA0")
        second = sql_uow.jobs.claim(dedup_key="push-main-MLA1")
        assert first is not None and second is not None
        sql_uow.commit()
    add_jobs(sql_uow, 1)  # new work for MLA0 waits meanwhile
    with sql_uow:
        assert not sql_uow.jobs.unclaim(first.id)  # the twin does the work
        assert sql_uow.jobs.unclaim(second.id)
        sql_uow.commit()
    with sql_uow:
        rows = {j.dedup_key: j for j in sql_uow.jobs.waiting()}
    assert {k: (j.attempts, j.dispatched_at) for k, j in rows.items()} == {
        "push-main-MLA0": (0, None), "push-main-MLA1": (0, None)}
    assert rows["push-main-MLA1"].id == second.id and rows["push-main-MLA0"].id != first.id
