import os
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests import processes

settings.register_profile(
    "default", max_examples=150, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fast", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE",
                                     "ci" if os.environ.get("CI") == "true" else "default"))


@pytest.fixture(autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """A test that starts a process stops and waits for it, also when it fails (issue 16
    item 10): one left running, or exited but never reaped, fails the test here and is
    ended, instead of a ResourceWarning in whichever test runs next."""
    before = set(processes.children())
    yield
    deadline = time.monotonic() + 2  # a process told to stop a moment ago may still be exiting
    while True:
        left = {pid: cmd for pid, cmd in processes.children().items() if pid not in before}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if left:
        processes.end(left)
        pytest.fail("the test left processes behind: " + "; ".join(
            f"{pid} {cmd[:120]}" for pid, cmd in sorted(left.items())), pytrace=False)
