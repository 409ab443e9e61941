"""The threads of a connector process: the relay that moves committed jobs to the queue, and
the scheduler. The work each does is the core's (:mod:`connector_core.services.jobs`,
:mod:`connector_core.services.scheduler`); this module only runs it on time."""

import logging
import threading
import time

from adapters.inprocess_queue import InProcessTaskQueue
from connector_core.services.jobs import JobRuntime
from connector_core.services.scheduler import Scheduler

log = logging.getLogger(__name__)

DISPATCH_GATHER_SECONDS = 0.02
RELAY_POLL_SECONDS = 0.05


class Runtime:
    def __init__(self, jobs: JobRuntime, scheduler: Scheduler) -> None:
        self._jobs = jobs
        self._scheduler = scheduler
        self._dispatcher_guard = threading.Lock()
        self._wake = threading.Event()
        self._dispatcher: threading.Thread | None = None
        self._relay_poll: float | None = None  # None: the dispatcher waits to be woken

    @property
    def in_process(self) -> bool:
        """Jobs run on a thread of this process (no Redis)."""
        return isinstance(self._jobs.queue, InProcessTaskQueue)

    def jobs_committed(self) -> None:
        """Called by a web request or an ERP hook once it has committed jobs.

        With the in-process queue this process runs the jobs, so its dispatcher wakes. With
        RQ it does nothing: the workers' relays (:meth:`start_relay`) pick the jobs up within
        ``RELAY_POLL_SECONDS``, and turning rows into RQ jobs is kept off the processes that
        must answer ML within 500 ms."""
        if self.in_process:
            self.dispatch_soon()

    def dispatch_soon(self) -> None:
        """Wake this process's dispatcher thread and return at once (starting it if need be).

        The caller's jobs are already committed, so it need not wait for the queue; the
        thread queues in batches whatever the last moments committed."""
        if self._dispatcher is None:
            with self._dispatcher_guard:
                if self._dispatcher is None:
                    self._dispatcher = threading.Thread(target=self._dispatch_loop,
                                                        daemon=True, name="connector-dispatch")
                    self._dispatcher.start()
        self._wake.set()

    def start_relay(self) -> None:
        """Move committed jobs to the queue from this process, all the time: each RQ worker
        runs this (a thread polling every ``RELAY_POLL_SECONDS``), so that the web processes
        and the ERP's own process only write to the database. Several relays take disjoint
        jobs."""
        self._relay_poll = RELAY_POLL_SECONDS
        self.dispatch_soon()

    def _dispatch_loop(self) -> None:
        timeout = self._relay_poll
        next_recovery = time.monotonic()
        while True:
            if self._wake.wait(timeout):
                # Let the commits of the next few milliseconds join this batch: under a
                # burst, one batch per wake-up would cost a round of SQL and Redis per job.
                time.sleep(DISPATCH_GATHER_SECONDS)
            self._wake.clear()
            self._jobs.dispatch()
            if self._relay_poll is not None and time.monotonic() >= next_recovery:
                # a relay also looks for dead runners' jobs, twice per lease
                next_recovery = time.monotonic() + self._jobs.lease_seconds / 2
                self._recover()
            timeout = (self._relay_poll if self._relay_poll is not None
                       else self._jobs.next_due_in())

    def _recover(self) -> None:
        try:
            self._jobs.recover_dead_runners()
        except Exception as exc:
            log.warning("could not look for dead runners' jobs now (%s); next round will", exc)

    def start_scheduler(self) -> threading.Thread:
        """Sweep every ``sweep_interval_seconds``, reconcile every
        ``reconcile_interval_minutes`` and purge old rows every hour, on a daemon thread of
        this process. Every worker (or the in-process web server) runs one; a shared lock
        makes one of them do the work per tick."""
        def loop() -> None:
            last = time.time()
            while True:
                time.sleep(self._scheduler.sweep_interval_seconds)
                last = self._scheduler.tick(last, time.time())

        thread = threading.Thread(target=loop, daemon=True, name="connector-scheduler")
        thread.start()
        return thread

    def settle(self) -> None:
        """With the in-process queue, wait until every job queued so far (and what those
        queue) has run; with RQ, return at once (the workers run them)."""
        queue = self._jobs.queue
        if isinstance(queue, InProcessTaskQueue):
            queue.join()
