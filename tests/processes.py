"""Child processes of a test: stopped and waited for, also when the test fails.

:func:`stop` ends one (SIGTERM, then SIGKILL) and reaps it. The autouse fixture in
``tests/conftest.py`` uses :func:`children` to fail any test that leaves a process of its own
running (or unreaped) behind it, and ends those processes so the next test starts clean.
"""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

# Started once per process by multiprocessing's "spawn" context and kept on purpose.
_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def stop(process: "subprocess.Popen[bytes] | subprocess.Popen[str]",
         timeout: float = 10.0) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL and wait: never leaves it unreaped."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()  # reaped, or Popen.__del__ warns (ResourceWarning) in a later test


def children() -> dict[int, str]:
    """This process's children (pid -> command line), multiprocessing's helpers aside."""
    found: dict[int, str] = {}
    tasks = Path(f"/proc/{os.getpid()}/task")
    if not tasks.is_dir():
        return found
    for task in tasks.iterdir():
        try:
            pids = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in map(int, pids):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            text = cmdline.decode(errors="replace").strip()
            if not any(helper in text for helper in _HELPERS):
                found[pid] = text or "(exited, not reaped)"
    return found


def end(pids: dict[int, str], grace: float = 5.0) -> None:
    """Kill leftover processes found by :func:`children` and reap them."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                break
            if done:
                break
            time.sleep(0.05)
