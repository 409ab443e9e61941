"""Progress of the long commands: a bar on a terminal, plain lines otherwise
(config/progress.py), and ``sync``'s wait for its pushes (services/sync_wait.py)."""

import io

from config.progress import ProgressLine
from connector_core.domain.commands import PushItem
from connector_core.services.sync_wait import wait_for_jobs
from tests.fakes import FakeUnitOfWork


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_not_a_terminal_a_line_per_tenth_and_one_at_the_end():
    out, clock = io.StringIO(), Clock()
    line = ProgressLine("verify", "items read", out, clock=clock)
    for done in range(0, 1001, 20):
        line(done, 1000)
    lines = out.getvalue().splitlines()
    assert lines == [f"verify: {n}/1000 items read ({n // 10}%)" for n in range(100, 1001, 100)]
    line(1000, 1000)  # finished: nothing more
    assert len(out.getvalue().splitlines()) == 10


def test_not_a_terminal_a_slow_run_still_says_something_every_few_seconds():
    out, clock = io.StringIO(), Clock()
    line = ProgressLine("sync stock", "pushes", out, every_seconds=5, clock=clock)
    line(1, 1000)
    clock.now = 4.9
    line(2, 1000)
    assert out.getvalue() == ""
    clock.now = 5.0
    line(3, 1000)
    assert out.getvalue() == "sync stock: 3/1000 pushes (0%)\n"


def test_nothing_to_do_is_one_final_line():
    out = io.StringIO()
    ProgressLine("sync stock", "pushes", out)(0, 0)
    assert out.getvalue() == "sync stock: 0/0 pushes (100%)\n"


def test_a_terminal_gets_a_bar_redrawn_in_place():
    out = Terminal()
    line = ProgressLine("discover", "items read", out)
    line(20, 100)
    line(100, 100)
    shown = out.getvalue()
    assert "\r" in shown and "discover" in shown and "100/100" in shown
    assert "discover: 20/100" not in shown  # no plain lines on a terminal
    assert shown.endswith("\n")  # closed at the end: the prompt starts on its own line


def test_wait_for_jobs_follows_the_ledger_until_its_jobs_ran():
    uow = FakeUnitOfWork(max_attempts=2)
    with uow:
        for n in range(4):
            uow.jobs.add(PushItem("main", f"MLA{n}"))
        uow.jobs.add(PushItem("main", "OTHER"))  # not ours: never waited for
        uow.commit()
    seen: list[tuple[int, int]] = []
    rounds = iter([["MLA0", "MLA1"], ["MLA2"], ["MLA3"]])

    def runners_work(_seconds: float) -> None:  # what the workers do between two looks
        with uow:
            for key in next(rounds):
                job = uow.jobs.claim(dedup_key=f"push-main-{key}")
                assert job is not None
                if key == "MLA3":  # fails for good: a dead letter, no longer pending
                    uow.jobs.release(job.id)
                    job = uow.jobs.claim(dedup_key=f"push-main-{key}")
                    assert job is not None
                    uow.jobs.release(job.id)
                else:
                    uow.jobs.complete(job.id)
            uow.commit()

    keys = [PushItem("main", f"MLA{n}").dedup_key for n in range(4)]
    assert wait_for_jobs(uow, keys, lambda d, t: seen.append((d, t)),
                         sleep=runners_work) == 4
    assert seen == [(0, 4), (2, 4), (3, 4), (4, 4)]


def test_wait_for_nothing_returns_at_once():
    seen: list[tuple[int, int]] = []
    assert wait_for_jobs(FakeUnitOfWork(), [], lambda d, t: seen.append((d, t)),
                         sleep=lambda _s: (_ for _ in ()).throw(AssertionError("slept"))) == 0
    assert seen == [(0, 0)]
