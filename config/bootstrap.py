"""The composition root: the only place that builds adapters and hands them to the core.

:class:`Connector` is built once per process from :class:`config.settings.Settings`; every
entry point (CLI, web app, RQ worker, demo, tests, an ERP module through ``.bridge``) goes
through it. Everything is built lazily, so a command that only reads the database never
opens an HTTP client or a Redis connection. Tests pass ready-made parts (a gateway on the
sandbox, a clock) as overrides.
"""

from collections.abc import Mapping
from functools import cached_property

import httpx
from redis import Redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from adapters import health
from adapters.clock import SystemClock
from adapters.inprocess_queue import InProcessTaskQueue
from adapters.metrics import PrometheusJobMetrics, count_ml_call
from adapters.ml_api.factory import MlApi, build_ml_api
from adapters.ml_api.gateway import HttpxMercadoLibreGateway
from adapters.ml_api.oauth import MlAuthorization
from adapters.ml_api.user_products import MlUserProducts
from adapters.redis_locks import RedisLocks
from adapters.rq_queue import RqDeadLetters, RqTaskQueue, lane_queues
from adapters.sql.admin import SqlAdminTables
from adapters.sql.call_counts import SqlCallCounter
from adapters.sql.dead_letters import SqlDeadLetters
from adapters.sql.engine import is_transient, make_engine, make_session_factory
from adapters.sql.listing_titles import SqlListingTitles
from adapters.sql.locks import SqlLocks
from adapters.sql.oauth_states import SqlOAuthStates
from adapters.sql.pg_intake import PostgresIntake
from adapters.sql.tokens import SqlTokenStore
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from config.after_sale_jobs import after_sale_gateway, answer_rules
from config.runtime import Runtime
from config.settings import ML_API_URL, Settings
from config.title_gateway import TitleNotingGateway
from connector_core.domain.commands import Command, PushItem
from connector_core.domain.errors import InvalidInput
from connector_core.domain.jobs import MAX_ATTEMPTS
from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.clock import Clock
from connector_core.ports.dead_letters import DeadLetters
from connector_core.ports.inbox import NotificationIntake
from connector_core.ports.locks import Locks
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.task_queue import TaskQueue
from connector_core.ports.user_products import UserProductsGateway
from connector_core.services.accounts import AccountLinking
from connector_core.services.after_sale_handlers import with_after_sale
from connector_core.services.dead_letters import DeadLetterList
from connector_core.services.handlers import handler_table
from connector_core.services.jobs import JobRuntime
from connector_core.services.notifications import UnitOfWorkIntake
from connector_core.services.push_batch import PreReadMarketplace, push_batching
from connector_core.services.retention import Retention
from connector_core.services.scheduler import Scheduler
from connector_core.services.up_jobs import up_handlers
from erp_bridge import ErpBridge


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
        self.schema_checked = False  # set by the CLI once the schema is known to be current

    # --- storage ------------------------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        return self._engine or make_engine(self.settings.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def uow(self) -> SqlAlchemyUnitOfWork:
        """One unit of work shared by the process's threads (a session per ``with``)."""
        return SqlAlchemyUnitOfWork(self.session_factory, clock=self.clock,
                                    max_attempts=MAX_ATTEMPTS)

    @cached_property
    def admin_tables(self) -> SqlAdminTables:
        return SqlAdminTables(self.uow)

    @cached_property
    def intake(self) -> NotificationIntake:
        """How the webhook stores a notification with its job: one autocommit statement on
        PostgreSQL, on a connection each web server thread keeps, the unit of work
        elsewhere."""
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
        return SqlTokenStore(self.session_factory, self.settings.require_secret_key())

    # --- MercadoLibre ---------------------------------------------------------------------

    @cached_property
    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.settings.ml_api_url,
                            timeout=self.settings.ml_timeout_seconds,
                            headers={"Accept": "application/json",
                                     "User-Agent": "meli-erp-connector"},
                            event_hooks={"response": [count_ml_call, self._count_call]})

    def _count_call(self, response: httpx.Response) -> None:
        self.call_counts.observe(response.request.url.path, response.status_code)

    @cached_property
    def call_counts(self) -> SqlCallCounter:
        """ML calls per minute, stored for the console's chart."""
        return SqlCallCounter(self.engine, self.clock.now)

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
        if self._gateway is None:  # noting titles for the console's search
            self._gateway = TitleNotingGateway(self.ml.gateway,
                                               SqlListingTitles(self.engine, self.clock.now))
        return self._gateway

    @property
    def user_products(self) -> UserProductsGateway | None:
        """ML's User Products endpoints (None with a gateway given by a test: classic only)."""
        if self._gateway is None or isinstance(self._gateway, HttpxMercadoLibreGateway
                                               | TitleNotingGateway):
            return MlUserProducts(self.ml.gateway.transport)
        return None

    def _authorization(self) -> MlAuthorization:
        if not (self.settings.ml_client_id and self.settings.ml_redirect_uri):
            raise InvalidInput("ML_CLIENT_ID and ML_REDIRECT_URI must be set: ML sends the "
                               "seller back to the redirect URI registered for the app")
        auth_base = None if self.settings.ml_api_url == ML_API_URL else self.settings.ml_api_url
        return MlAuthorization(lambda: self.ml.oauth, client_id=self.settings.ml_client_id,
                               redirect_uri=self.settings.ml_redirect_uri, auth_base=auth_base)

    @cached_property
    def accounts(self) -> AccountLinking:
        return AccountLinking(uow=self.uow, clock=self.clock,
                              states=SqlOAuthStates(self.session_factory),
                              tokens=lambda: self.tokens, authorization=self._authorization)

    # --- jobs -------------------------------------------------------------------------------

    @cached_property
    def queue(self) -> TaskQueue:
        if self._queue is not None:
            return self._queue
        if self.redis is not None:
            return RqTaskQueue(
                lane_queues(self.settings.queue_name, self.redis),
                job_timeout=int(self.settings.job_timeout_seconds))
        return InProcessTaskQueue(self._run_job)

    def _run_job(self, command: Command) -> str:
        return self.jobs.run(command)  # looked up at run time: the runtime holds the queue

    @cached_property
    def jobs(self) -> JobRuntime:
        metrics = PrometheusJobMetrics()

        def pushing() -> PreReadMarketplace:  # a push reads its item from its batch's multiget
            return PreReadMarketplace(self.gateway)

        handlers = with_after_sale(
            up_handlers(
                handler_table(uow=self.uow, marketplace=pushing, clock=self.clock,
                              metrics=metrics),
                uow=self.uow, marketplace=pushing, ups=lambda: self.user_products,
                clock=self.clock, metrics=metrics, locks=self.locks),
            uow=self.uow, marketplace=lambda: self.gateway,
            after_sale=lambda: after_sale_gateway(self), clock=self.clock,
            rules=answer_rules(self))
        return JobRuntime(ledger=self.uow, queue=self.queue, locks=self.locks,
                          clock=self.clock, handlers=handlers, metrics=metrics,
                          job_timeout_seconds=self.settings.job_timeout_seconds,
                          sweep_interval_seconds=self.settings.sweep_interval_seconds,
                          lease_seconds=self.settings.job_lease_seconds,
                          is_transient=is_transient,
                          batching={PushItem: push_batching(
                              uow=self.uow, marketplace=lambda: self.gateway,
                              run_push=handlers[PushItem])})

    @cached_property
    def scheduler(self) -> Scheduler:
        s = self.settings
        return Scheduler(uow=self.uow, jobs=self.jobs, locks=self.locks, clock=self.clock,
                         marketplace=lambda: self.gateway,
                         retention=Retention(inbox_days=s.inbox_retention_days,
                                             audit_days=s.audit_retention_days,
                                             erp_events_days=s.erp_events_retention_days),
                         sweep_interval_seconds=s.sweep_interval_seconds,
                         reconcile_interval_minutes=s.reconcile_interval_minutes,
                         application_id=s.application_id,
                         after_sale=lambda: after_sale_gateway(self))

    @cached_property
    def dead_letters(self) -> DeadLetterList:
        letters: DeadLetters = (RqDeadLetters(self.queue.rq_queues)
                                if isinstance(self.queue, RqTaskQueue)
                                else SqlDeadLetters(self.uow, MAX_ATTEMPTS))
        return DeadLetterList(letters, self.jobs)

    @cached_property
    def runtime(self) -> Runtime:
        return Runtime(self.jobs, self.scheduler)

    # --- ERP and web ------------------------------------------------------------------------

    @cached_property
    def bridge(self) -> ErpBridge:
        """The ERP's hooks (CONTRACT §6); an ERP module uses ``build(settings).bridge``."""
        return ErpBridge(lambda: self.uow, self.clock,
                         jobs_committed=self.runtime.jobs_committed,
                         push_delay_seconds=self.settings.push_delay_seconds,
                         after_sale=lambda: after_sale_gateway(self))

    def health(self) -> Mapping[str, tuple[bool, str]]:
        return health.check(self.engine, self.redis)

    def close(self) -> None:
        if "call_counts" in self.__dict__:
            self.call_counts.flush()
        if "http" in self.__dict__:
            self.http.close()
        if "redis" in self.__dict__ and self.redis is not None:
            self.redis.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "intake" in self.__dict__ and isinstance(self.intake, PostgresIntake):
            self.intake.dispose()


def build(settings: Settings | None = None, *, gateway: MarketplaceGateway | None = None,
          clock: Clock | None = None, queue: TaskQueue | None = None,
          engine: Engine | None = None, after_sale: AfterSaleGateway | None = None) -> Connector:
    return Connector(settings or Settings.load(), gateway=gateway, clock=clock, queue=queue,
                     engine=engine, after_sale=after_sale)
