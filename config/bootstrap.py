"""The composition root: the only place that builds adapters and hands them to the core.

:class:`Connector` is built once per process from :class:`config.settings.Settings`; every
entry point (CLI, web app, RQ worker, demo, tests) goes through it. Everything is built
lazily, so a command that only reads the database never opens an HTTP client or a Redis
connection. Tests pass ready-made parts (a gateway on the sandbox, a clock) as overrides.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import httpx
from redis import Redis
from rq import Queue
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from adapters.ml_api.factory import MlApi, build_ml_api
from adapters.ml_api.oauth import authorization_url
from adapters.queues import RETRY_INTERVALS, InProcessTaskQueue, RqTaskQueue
from adapters.redis_locks import RedisLocks
from adapters.sql.engine import is_transient, make_engine, make_session_factory
from adapters.sql.intake import PostgresIntake
from adapters.sql.locks import SqlLocks
from adapters.sql.oauth_states import SqlOAuthStates
from adapters.sql.repositories import StoredJob
from adapters.sql.tokens import SqlTokenStore
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from config.after_sale_jobs import (
    after_sale_gateway,
    reconcile_account_after_sale,
    run_after_sale_job,
)
from config.settings import ML_API_URL, Settings
from connector_core.after_sale_ports import AfterSaleGateway
from connector_core.domain.accounts import Account
from connector_core.domain.commands import (
    Command,
    ProcessNotification,
    PushItem,
    Reconcile,
    SyncOrder,
    SyncQuestion,
    SyncShipment,
)
from connector_core.domain.errors import InvalidInput, UnknownAccount
from connector_core.ports import Clock, Locks, MarketplaceGateway, NotificationIntake, TaskQueue
from connector_core.services.notifications import (
    UnitOfWorkIntake,
    process_notification,
    sync_order,
)
from connector_core.services.push_item import push_item
from connector_core.services.reconcile import reconcile_orders, recover_missed_notifications
from connector_core.services.retention import (
    BATCH_SIZE,
    MAX_BATCHES,
    PurgeResult,
    Retention,
    purge_expired,
)
from erp_bridge import ErpBridge
from webhook_app.metrics import JOB_SECONDS, JOBS, ML_CALLS, PUSHES

log = logging.getLogger(__name__)



MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1  # then the job is a dead letter
DISPATCH_BATCH = 200
SWEEP_BATCH = 500  # lost jobs re-queued per sweep, oldest first
DISPATCH_GATHER_SECONDS = 0.02
RELAY_POLL_SECONDS = 0.05
PURGE_INTERVAL_SECONDS = 3600.0  # the retention purge's period (sooner while it catches up)
# rows per DELETE (each its own short transaction), and batches per table and tick (a bigger
# backlog goes on at the next tick): the use case's own defaults
PURGE_BATCH_SIZE, PURGE_MAX_BATCHES = BATCH_SIZE, MAX_BATCHES


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Connector:
    """The wired connector for one process."""

    def __init__(self, settings: Settings, *, gateway: MarketplaceGateway | None = None,
                 clock: Clock | None = None, queue: TaskQueue | None = None,
                 engine: Engine | None = None,
                 after_sale: AfterSaleGateway | None = None) -> None:
        self.settings = settings
        self._after_sale = after_sale
        self.clock: Clock = clock or SystemClock()
        self._gateway = gateway
        self._queue = queue
        self._engine = engine
        self._dispatch_lock = threading.Lock()
        self._dispatcher_guard = threading.Lock()
        self._wake = threading.Event()
        self._dispatcher: threading.Thread | None = None
        self._relay_poll: float | None = None  # None: the dispatcher waits to be woken
        self._last_purge: float | None = None  # None: purge at the first scheduler tick
        self.schema_checked = False  # set by the CLI once the schema is known to be current

    # --- storage ------------------------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        return self._engine or make_engine(self.settings.database_url)

    @cached_property
    def uow(self) -> SqlAlchemyUnitOfWork:
        """One unit of work shared by the process's threads (a session per ``with``)."""
        return SqlAlchemyUnitOfWork(make_session_factory(self.engine), clock=self.clock,
                                    max_attempts=MAX_ATTEMPTS)

    def uow_factory(self) -> SqlAlchemyUnitOfWork:
        return self.uow

    @cached_property
    def intake(self) -> NotificationIntake:
        """How the webhook stores a notification with its job: one autocommit statement on
        PostgreSQL, on a connection each web server thread keeps (the hot path of every web
        process), the unit of work elsewhere."""
        if self.engine.dialect.name != "postgresql":
            return UnitOfWorkIntake(self.uow, self.clock)
        engine = make_engine(self.engine.url.render_as_string(hide_password=False),
                             poolclass=NullPool, isolation_level="AUTOCOMMIT")
        return PostgresIntake(engine, self.clock, max_attempts=MAX_ATTEMPTS)

    @cached_property
    def redis(self) -> Redis | None:
        if not self.settings.redis_url:
            return None
        return Redis.from_url(self.settings.redis_url, socket_timeout=5,
                              socket_connect_timeout=2, health_check_interval=30)

    @cached_property
    def locks(self) -> Locks:
        return RedisLocks(self.redis) if self.redis is not None else SqlLocks(self.engine)

    @cached_property
    def tokens(self) -> SqlTokenStore:
        return SqlTokenStore(make_session_factory(self.engine),
                             self.settings.require_secret_key())

    # --- MercadoLibre ---------------------------------------------------------------------

    @cached_property
    def http(self) -> httpx.Client:
        def count(response: httpx.Response) -> None:
            ML_CALLS.labels(method=response.request.method,
                            status=str(response.status_code)).inc()

        return httpx.Client(base_url=self.settings.ml_api_url,
                            timeout=self.settings.ml_timeout_seconds,
                            headers={"Accept": "application/json",
                                     "User-Agent": "meli-erp-connector"},
                            event_hooks={"response": [count]})

    @cached_property
    def ml(self) -> MlApi:
        """OAuth, the shared rate limiter and the gateway (``adapters.ml_api.factory``)."""
        if not (self.settings.ml_client_id and self.settings.ml_client_secret):
            raise InvalidInput("ML_CLIENT_ID and ML_CLIENT_SECRET are not set: the connector "
                               "cannot talk to MercadoLibre without its ML application")
        return build_ml_api(
            self.http, client_id=self.settings.ml_client_id,
            client_secret=self.settings.ml_client_secret,
            redirect_uri=self.settings.ml_redirect_uri, tokens=self.tokens, locks=self.locks,
            rate_per_second=self.settings.rate_limit_per_second,
            redis_url=self.settings.redis_url or None,
            application_id=self.settings.application_id,
            timeout=self.settings.ml_timeout_seconds, clock=self.clock)

    @property
    def gateway(self) -> MarketplaceGateway:
        if self._gateway is None:
            self._gateway = self.ml.gateway
        return self._gateway

    # --- jobs -------------------------------------------------------------------------------

    @property
    def queue(self) -> TaskQueue:
        if self._queue is None:
            if self.redis is not None:
                self._queue = RqTaskQueue(
                    Queue(self.settings.queue_name, connection=self.redis, serializer="json"),
                    job_timeout=int(self.settings.job_timeout_seconds))
            else:
                self._queue = InProcessTaskQueue(self.run_job)
        return self._queue

    def _submit(self, jobs: list[StoredJob], *, replace: bool = False) -> list[int]:
        """Queue job rows under their stable key (``job-<row id>``); the ids it queued."""
        sent = []
        for job in jobs:
            try:
                self.queue.submit(job.command, dedup_key=f"job-{job.id}", replace=replace)
            except ConnectionError as exc:
                log.warning("could not queue %s (%s); the sweeper will", job.dedup_key, exc)
                break
            sent.append(job.id)
        return sent

    def dispatch(self) -> int:
        """Queue the jobs committed but never queued, now; never raises.

        Every process may call it at any time: each call takes its own jobs (see
        ``SqlJobOutbox.take_for_dispatch``), and within a process one batch runs at a time,
        so a caller that returns knows every job committed before its call is queued. When
        the queue is down the jobs stay marked and :meth:`sweep` queues them once it is back.
        """
        total = 0
        try:
            with self._dispatch_lock:
                while True:
                    with self.uow as uow:
                        jobs = uow.jobs.take_for_dispatch(limit=DISPATCH_BATCH)
                        uow.commit()
                    self.queue.submit_new([(job.command, f"job-{job.id}") for job in jobs])
                    total += len(jobs)
                    if len(jobs) < DISPATCH_BATCH:
                        return total
        except Exception as exc:
            log.warning("could not dispatch jobs now (%s); the sweeper will", exc)
            return total

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
        and the ERP's own process only write to the database (see :meth:`after_commit`).
        Several relays take disjoint jobs (``SqlJobOutbox.take_for_dispatch``)."""
        self._relay_poll = RELAY_POLL_SECONDS
        self.dispatch_soon()

    def after_commit(self) -> None:
        """Called by a web request or an ERP hook once it has committed jobs.

        With the in-process queue this process runs the jobs, so its dispatcher wakes. With
        RQ it does nothing: the workers' relays (:meth:`start_relay`) pick the jobs up within
        ``RELAY_POLL_SECONDS``, and turning rows into RQ jobs (about 0.3 ms of CPU each) is
        kept off the processes that must answer ML within 500 ms."""
        if not isinstance(self.queue, RqTaskQueue):
            self.dispatch_soon()

    def _dispatch_loop(self) -> None:
        timeout = self._relay_poll
        while True:
            if self._wake.wait(timeout):
                # Let the commits of the next few milliseconds join this batch: under a
                # burst, one batch per wake-up would cost a round of SQL and Redis per job.
                time.sleep(DISPATCH_GATHER_SECONDS)
            self._wake.clear()
            self.dispatch()
            timeout = self._relay_poll if self._relay_poll is not None else self._next_due_in()

    def _next_due_in(self) -> float | None:
        """Seconds until the earliest held-back job is due (None: none waits); the
        dispatcher sleeps that long unless woken."""
        try:
            with self.uow as uow:
                due = uow.jobs.next_due()
        except Exception as exc:
            log.warning("could not read the held-back jobs (%s); retrying in 1 s", exc)
            return 1.0
        if due is None:
            return None
        return max(0.0, (due - self.clock.now()).total_seconds()) + 0.001

    @property
    def _job_timeout(self) -> float:
        return self.settings.job_timeout_seconds

    def sweep(self) -> int:
        """Re-queue what was lost: jobs of dead runners, jobs never queued (the queue was down
        after their commit), and jobs the queue forgot (Redis restarted empty).

        Re-submitting a job the queue still has is absorbed (same key), so this is safe to
        run at any time, from any process. Jobs that failed their last attempt stay out: they
        are the dead-letter list (``meli-connector jobs failed``).
        """
        # A claim older than twice the job timeout belongs to a dead runner (a live one is
        # stopped by the queue at the timeout).
        with self.uow as uow:
            dead = uow.jobs.release_stale_claims(timedelta(seconds=2 * self._job_timeout))
            uow.commit()
        with self.uow as uow:  # not the dead letters (the unit of work has MAX_ATTEMPTS)
            due = uow.jobs.due(timedelta(seconds=self.settings.sweep_interval_seconds),
                               limit=SWEEP_BATCH)
        sent = self._submit(dead, replace=True) + self._submit(due)
        if sent:
            with self.uow as uow:
                uow.jobs.mark_dispatched(sent)
                uow.commit()
        return len(sent)

    def run_job(self, command: Command) -> str:
        """Claim the command's job row, run it, and complete (or release) it.

        A command whose row another runner already claimed (or completed) is skipped, so a
        job delivered twice runs once. Runs of the same dedup key are serialised by a lock:
        two pushes of one item never interleave their read and their PUT.
        """
        with self.uow as uow:
            stored = uow.jobs.claim(dedup_key=command.dedup_key)
            uow.commit()
        kind = type(command).__name__
        if stored is None:
            JOBS.labels(kind=kind, outcome="skipped").inc()
            return f"{command.dedup_key}: nothing to do (already claimed or done)"
        started = time.perf_counter()
        try:
            with self.locks.hold(f"job:{command.dedup_key}", ttl=self._job_timeout,
                                 wait=self._job_timeout):
                outcome = self._handle_retrying_transient(stored.command)
        except BaseException:
            JOBS.labels(kind=kind, outcome="failed").inc()
            self._release(stored.id)  # back to waiting: rq's Retry or the sweeper runs it again
            raise
        finally:
            JOB_SECONDS.labels(kind=kind).observe(time.perf_counter() - started)
        JOBS.labels(kind=kind, outcome="done").inc()
        with self.uow as uow:
            uow.jobs.complete(stored.id)
            uow.commit()
        self.dispatch()
        return f"{command.dedup_key}: {outcome}"

    def _release(self, job_id: int) -> None:
        """Put a failed job back to waiting for its retry (rq's Retry on Redis, the sweeper
        in-process), marked as just queued so the sweeper leaves it alone meanwhile."""
        with self.uow as uow:
            uow.jobs.release(job_id, dispatched_at=self.clock.now())
            uow.commit()

    def _handle_retrying_transient(self, command: Command, attempts: int = 3) -> str:
        """Run the command again at once when the database picked it as a deadlock or
        serialisation victim (each use case is one transaction, so nothing half-applied)."""
        for attempt in range(1, attempts + 1):
            try:
                return self.handle(command)
            except Exception as exc:
                if attempt == attempts or not is_transient(exc):
                    raise
                log.info("%s: transient database error (%s), running it again",
                         command.dedup_key, type(exc).__name__)
        raise AssertionError("unreachable")

    def handle(self, command: Command) -> str:
        """Run one command's use case (no claiming: see :meth:`run_job`)."""
        if isinstance(command, PushItem):
            result = push_item(command, uow=self.uow, marketplace=self.gateway,
                               clock=self.clock)
            outcome = result.outcome.value if result.outcome else "no change"
            PUSHES.labels(outcome=outcome).inc()
            return outcome
        if isinstance(command, SyncOrder):
            seen = sync_order(command, uow=self.uow, marketplace=self.gateway,
                              clock=self.clock)
            if seen.not_found:
                log.warning("%s: %s", command.dedup_key, seen.not_found)
                return seen.not_found
            return "applied" if seen.applied else "not newer"
        if isinstance(command, ProcessNotification):
            routing = process_notification(command, uow=self.uow, clock=self.clock)
            return routing.ignored or f"queued {type(routing.command).__name__}"
        if isinstance(command, Reconcile):
            found = reconcile_orders(command.account, uow=self.uow, marketplace=self.gateway,
                                      clock=self.clock, since=command.since)
            after_sale = reconcile_account_after_sale(self, command.account)
            return f"{found.orders_seen} orders seen, {len(found.orders_queued)} queued; " \
                   f"{after_sale}"
        if isinstance(command, SyncShipment | SyncQuestion):
            return run_after_sale_job(self, command)
        raise TypeError(f"unknown command {command!r}")

    def scheduled(self, last_reconcile: float, now: float) -> float:
        """One tick of the worker's scheduler: sweep, queue reconciliation when due, and
        purge the rows past their retention when due (hourly, see :meth:`_purge_if_due`).

        Every worker runs this; a shared lock makes one of them do it per tick. Returns the
        (possibly updated) time of the last reconciliation.
        """
        try:
            with self.locks.hold("scheduler", ttl=self.settings.sweep_interval_seconds,
                                 wait=0.1):
                swept = self.sweep()
                if swept:
                    log.info("sweeper re-dispatched %d job(s)", swept)
                interval = self.settings.reconcile_interval_minutes * 60
                if now - last_reconcile >= interval:
                    with self.uow as uow:
                        for account in uow.accounts.list():
                            uow.jobs.add(Reconcile(account.name))
                        uow.commit()
                    self._recover_missed()
                    self.dispatch()
                    last_reconcile = now
                self._purge_if_due(now)
        except TimeoutError:
            log.debug("another worker holds the scheduler lock this tick")
        except Exception:
            log.exception("scheduled sweep/reconciliation failed; next tick tries again")
        return last_reconcile

    @property
    def retention(self) -> Retention:
        return Retention(inbox_days=self.settings.inbox_retention_days,
                         audit_days=self.settings.audit_retention_days,
                         erp_events_days=self.settings.erp_events_retention_days)

    def purge(self) -> PurgeResult:
        """Delete the rows older than their retention (one bounded run), and log it."""
        retention = self.retention
        result = purge_expired(retention, uow=self.uow, clock=self.clock,
                               batch_size=PURGE_BATCH_SIZE, max_batches=PURGE_MAX_BATCHES)
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
        """Part of a scheduler tick: the retention purge every ``PURGE_INTERVAL_SECONDS``,
        or at the next tick while a backlog remains. Its failure does not fail the tick."""
        if self._last_purge is not None and now - self._last_purge < PURGE_INTERVAL_SECONDS:
            return
        try:
            result = self.purge()
        except Exception:
            log.exception("retention purge failed; the next tick tries again")
            return
        if result.complete:
            self._last_purge = now

    def start_scheduler(self) -> threading.Thread:
        """Sweep every ``sweep_interval_seconds``, reconcile every
        ``reconcile_interval_minutes`` and purge old rows every hour (``retention``) on a
        daemon thread of this process. Every worker (or
        the in-process web server) runs one; the shared lock in :meth:`scheduled` makes one
        of them do the work per tick."""
        def loop() -> None:
            last = time.time()
            while True:
                time.sleep(self.settings.sweep_interval_seconds)
                last = self.scheduled(last, time.time())

        thread = threading.Thread(target=loop, daemon=True, name="connector-scheduler")
        thread.start()
        return thread

    def reconcile(self, account: str | None = None, since: datetime | None = None
                  ) -> list[str]:
        """Reconcile one account (or all) now, then recover missed notifications."""
        with self.uow as uow:
            names = [account] if account else [a.name for a in uow.accounts.list()]
        lines = []
        for name in names:
            result = reconcile_orders(name, uow=self.uow, marketplace=self.gateway,
                                      clock=self.clock, since=since)
            lines.append(f"{name}: orders updated since {result.since.isoformat()}: "
                         f"{result.orders_seen} seen, {len(result.orders_queued)} to apply")
            lines.append(f"{name}: {reconcile_account_after_sale(self, name)}")
        missed = self._recover_missed()
        lines.append("missed notifications: skipped ([connector] application_id is not set)"
                     if missed is None else f"missed notifications recovered: {missed}")
        self.dispatch()
        return lines

    def _recover_missed(self) -> int | None:
        """Store ``/missed_feeds`` in the inbox; None when no application id is configured
        (the feed is per application)."""
        if self.settings.application_id is None:
            return None
        return recover_missed_notifications(uow=self.uow, marketplace=self.gateway,
                                            clock=self.clock)

    # --- OAuth: connecting an account -------------------------------------------------------

    @cached_property
    def oauth_states(self) -> SqlOAuthStates:
        return SqlOAuthStates(make_session_factory(self.engine))

    def _account(self, name: str) -> Account:
        with self.uow as uow:
            account = uow.accounts.get(name)
        if account is None:
            raise UnknownAccount(f"unknown account {name!r} (add it to connector.toml and "
                                 f"apply, or `meli-connector accounts add`)")
        return account

    def authorization_url(self, name: str) -> str:
        """A link for the seller to authorise the application; the state names the account.

        Points at ML's authorization host for the account's site (MLB: mercadolivre.com.br),
        or at ``ML_API_URL`` itself when that is not ML (the sandbox)."""
        account = self._account(name)
        if not (self.settings.ml_client_id and self.settings.ml_redirect_uri):
            raise InvalidInput("ML_CLIENT_ID and ML_REDIRECT_URI must be set: ML sends the "
                               "seller back to the redirect URI registered for the app")
        state = self.oauth_states.issue(account.name, self.clock.now())
        auth_base = None if self.settings.ml_api_url == ML_API_URL else self.settings.ml_api_url
        return authorization_url(account.site_id, self.settings.ml_client_id,
                                 self.settings.ml_redirect_uri, state, auth_base=auth_base)

    def connect(self, name: str, code: str) -> str:
        """Exchange ``code`` for the account's tokens and store them (encrypted).

        The tokens are checked to belong to the account's ML user *before* they are stored,
        always by ``GET /users/me`` with the new token (the token answer's ``user_id`` may be
        missing, and must agree when present): a seller logged in as someone else gets an
        error, and the account keeps its tokens.
        """
        account = self._account(name)
        tokens = self.ml.oauth.exchange_code(code.strip())
        user = self.ml.oauth.user(tokens.access_token)
        for owner in (user.id, tokens.user_id):
            if owner is not None and owner != account.user_id:
                raise InvalidInput(f"that code belongs to ML user {owner}, but account "
                                   f"{name!r} is ML user {account.user_id}: log in to "
                                   f"MercadoLibre as that seller and connect again")
        self.tokens.save(name, tokens)
        self.tokens.set_nickname(name, user.nickname)
        return f"account {name} connected: ML user {user.id} ({user.nickname or 'no nickname'})"

    def oauth_callback(self, code: str, state: str) -> str:
        """``GET /auth/callback``: only a state issued by :meth:`authorization_url` counts."""
        return self.connect(self.oauth_states.take(state, self.clock.now()), code)

    # --- ERP and web ------------------------------------------------------------------------

    @cached_property
    def bridge(self) -> ErpBridge:
        return ErpBridge(self.uow_factory, self.clock, after_commit=self.after_commit,
                         push_delay_seconds=self.settings.push_delay_seconds,
                         after_sale=lambda: after_sale_gateway(self))

    def health(self) -> Mapping[str, tuple[bool, str]]:
        checks: dict[str, tuple[bool, str]] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = (True, self.engine.dialect.name)
        except Exception as exc:
            checks["database"] = (False, type(exc).__name__)
        if self.redis is None:
            checks["redis"] = (True, "not configured: jobs run in-process")
        else:
            try:
                self.redis.ping()
                checks["redis"] = (True, "ok")
            except Exception as exc:
                checks["redis"] = (False, type(exc).__name__)
        return checks

    def close(self) -> None:
        if "http" in self.__dict__:
            self.http.close()
        if "redis" in self.__dict__ and self.redis is not None:
            self.redis.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "intake" in self.__dict__ and isinstance(self.intake, PostgresIntake):
            self.intake.dispose()


def build(settings: Settings | None = None, **overrides: Any) -> Connector:
    return Connector(settings or Settings.load(), **overrides)


Factory = Callable[[], Connector]
