"""The scheduler's work: one tick sweeps lost jobs, queues reconciliation when it is due, and
purges the rows past their retention when that is due.

Every worker runs a scheduler thread (``config.runtime``); a shared lock makes one of them do
the work per tick.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.clock import Clock
from connector_core.ports.locks import Locks
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.after_sale_reconcile import reconcile_after_sale
from connector_core.services.jobs import JobRuntime
from connector_core.services.operator import queue_reconcile_all
from connector_core.services.reconcile import reconcile_orders, recover_missed_notifications
from connector_core.services.retention import (
    BATCH_SIZE,
    MAX_BATCHES,
    PurgeResult,
    Retention,
    purge_expired,
)

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 3600.0  # the retention purge's period (sooner while it catches up)


class Scheduler:
    """``marketplace`` (and ``after_sale``) are called only when ML is needed.
    ``application_id`` None: the missed-notification feed (per application) is not read."""

    def __init__(self, *, uow: UnitOfWork, jobs: JobRuntime, locks: Locks, clock: Clock,
                 marketplace: Callable[[], MarketplaceGateway], retention: Retention,
                 sweep_interval_seconds: float, reconcile_interval_minutes: float,
                 application_id: int | None,
                 after_sale: Callable[[], AfterSaleGateway] | None = None) -> None:
        self._uow = uow
        self._after_sale = after_sale
        self._jobs = jobs
        self._locks = locks
        self._clock = clock
        self._marketplace = marketplace
        self.retention = retention
        self.sweep_interval_seconds = sweep_interval_seconds
        self._reconcile_interval = reconcile_interval_minutes * 60
        self._application_id = application_id
        self._last_purge: float | None = None  # None: purge at the first tick

    def tick(self, last_reconcile: float, now: float) -> float:
        """Sweep, queue reconciliation when due, and purge when due, under the shared
        scheduler lock (another worker holding it does this tick). Returns the (possibly
        updated) time of the last reconciliation; never raises."""
        try:
            with self._locks.hold("scheduler", ttl=self.sweep_interval_seconds, wait=0.1):
                swept = self._jobs.sweep()
                if swept:
                    log.info("sweeper re-dispatched %d job(s)", swept)
                if now - last_reconcile >= self._reconcile_interval:
                    queue_reconcile_all(uow=self._uow)
                    self._recover_missed()
                    self._jobs.dispatch()
                    last_reconcile = now
                self._purge_if_due(now)
        except TimeoutError:
            log.debug("another worker holds the scheduler lock this tick")
        except Exception:
            log.exception("scheduled sweep/reconciliation failed; next tick tries again")
        return last_reconcile

    def reconcile_now(self, account: str | None = None,
                      since: datetime | None = None) -> list[str]:
        """Reconcile one account (or all) now, then recover missed notifications; one line
        per account and one for the missed notifications."""
        with self._uow as uow:
            names = [account] if account else [a.name for a in uow.accounts.list()]
        lines = []
        for name in names:
            result = reconcile_orders(name, uow=self._uow, marketplace=self._marketplace(),
                                      clock=self._clock, since=since)
            lines.append(f"{name}: orders updated since {result.since.isoformat()}: "
                         f"{result.orders_seen} seen, {len(result.orders_queued)} to apply")
            if self._after_sale is not None:
                lines.append(f"{name}: " + reconcile_after_sale(
                    name, uow=self._uow, gateway=self._after_sale(), clock=self._clock))
        missed = self._recover_missed()
        lines.append("missed notifications: skipped ([connector] application_id is not set)"
                     if missed is None else f"missed notifications recovered: {missed}")
        self._jobs.dispatch()
        return lines

    def _recover_missed(self) -> int | None:
        """Store ``/missed_feeds`` in the inbox; None when no application id is configured."""
        if self._application_id is None:
            return None
        return recover_missed_notifications(uow=self._uow, marketplace=self._marketplace(),
                                            clock=self._clock)

    def purge(self) -> PurgeResult:
        """Delete the rows older than their retention (one bounded run), and log it."""
        retention = self.retention
        result = purge_expired(retention, uow=self._uow, clock=self._clock,
                               batch_size=BATCH_SIZE, max_batches=MAX_BATCHES)
        if result.total:
            log.info("retention purge deleted %d processed notification(s) (older than %d "
                     "days), %d audit row(s) (%d days), %d ERP event(s) (%s)%s",
                     result.inbox, retention.inbox_days, result.audit, retention.audit_days,
                     result.erp_events,
                     f"{retention.erp_events_days} days" if retention.erp_events_days
                     else "kept", "" if result.complete else "; more next tick")
        else:
            log.debug("retention purge: nothing to delete")
        return result

    def _purge_if_due(self, now: float) -> None:
        """The retention purge every ``PURGE_INTERVAL_SECONDS``, or at the next tick while
        a backlog remains. Its failure does not fail the tick."""
        if self._last_purge is not None and now - self._last_purge < PURGE_INTERVAL_SECONDS:
            return
        try:
            result = self.purge()
        except Exception:
            log.exception("retention purge failed; the next tick tries again")
            return
        if result.complete:
            self._last_purge = now
