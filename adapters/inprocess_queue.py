"""The TaskQueue port in-process: a background thread runs the jobs (a laptop, the demo)."""

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from connector_core.domain.commands import Command

log = logging.getLogger(__name__)


class InProcessTaskQueue:
    """Runs submitted commands on one background thread, in order (the laptop's worker).

    ``run`` is the job entry point. A failing job is logged and left to the job ledger: its
    row is released by the runner and the sweeper dispatches it again later.
    """

    def __init__(self, run: Callable[[Command], Any], *, name: str = "connector-jobs") -> None:
        self._run = run
        self._queue: queue.Queue[Command] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False
        self._lock = threading.Lock()

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False) -> None:
        # Duplicates are harmless here: the runner claims the job row, a second run finds
        # nothing to claim.
        with self._lock:
            if not self._started:
                self._thread.start()
                self._started = True
        self._queue.put(command)

    def submit_new(self, jobs: Sequence[tuple[Command, str]]) -> None:
        for command, key in jobs:
            self.submit(command, dedup_key=key)

    def _loop(self) -> None:
        while True:
            command = self._queue.get()
            try:
                self._run(command)
            except Exception:
                log.exception("job %s failed; it stays in the job ledger for a retry",
                              command.dedup_key)
            finally:
                self._queue.task_done()

    def join(self) -> None:
        """Wait until every submitted command (and what they submitted) has run."""
        self._queue.join()
