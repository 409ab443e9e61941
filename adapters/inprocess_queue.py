"""The TaskQueue port in-process: a background thread runs the jobs (a laptop, the demo)."""

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from connector_core.domain.commands import Command
from connector_core.domain.lanes import LANES, Lane

log = logging.getLogger(__name__)


class InProcessTaskQueue:
    """Runs submitted commands on one background thread (the laptop's worker): urgent ones
    first, each lane in the order submitted.

    ``run`` is the job entry point. A failing job is logged and left to the job ledger: its
    row is released by the runner and the sweeper dispatches it again later.
    """

    def __init__(self, run: Callable[[Command], Any], *, name: str = "connector-jobs") -> None:
        self._run = run
        self._queue: queue.PriorityQueue[tuple[int, int, Command]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False
        self._lock = threading.Lock()

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False, lane: Lane = Lane.BULK) -> None:
        # Duplicates are harmless here: the runner claims the job row, a second run finds
        # nothing to claim.
        with self._lock:
            if not self._started:
                self._thread.start()
                self._started = True
        self._queue.put((LANES.index(lane), next(self._order), command))

    def submit_new(self, jobs: Sequence[tuple[Command, str]], *,
                   lane: Lane = Lane.BULK) -> None:
        for command, key in jobs:
            self.submit(command, dedup_key=key, lane=lane)

    def urgent_waiting(self) -> bool:
        urgent = LANES.index(Lane.URGENT)
        with self._queue.mutex:  # the heap's first entry is the most urgent
            return bool(self._queue.queue) and self._queue.queue[0][0] == urgent

    def _loop(self) -> None:
        while True:
            _, _, command = self._queue.get()
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
