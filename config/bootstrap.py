"""The composition root: the only place that builds adapters and hands them to the core.

:class:`Connector` is built once per process from :class:`config.settings.Settings`; every
entry point (CLI, web app, RQ worker, demo, tests, an ERP module through ``.bridge``) goes
through it. It stands on two layers, each built lazily, so a command that only reads the
database never opens an HTTP client or a Redis connection: :mod:`config.storage` (the
database, Redis, locks, tokens) and :mod:`config.ml_parts` (MercadoLibre and the linking of
accounts). This one adds the jobs, the scheduler and the ERP's hooks. Tests pass ready-made
parts (a gateway on the sandbox, a clock, a queue) as overrides.
"""

from collections.abc import Mapping
from functools import cached_property

from sqlalchemy.engine import Engine

from adapters import health
from adapters.inprocess_queue import InProcessTaskQueue
from adapters.metrics import PrometheusJobMetrics
from adapters.rq_queue import RqDeadLetters, RqTaskQueue, lane_queues
from adapters.sql.dead_letters import SqlDeadLetters
from adapters.sql.engine import is_transient
from config.job_handlers import job_handlers
from config.ml_parts import MlParts
from config.runtime import Runtime
from config.settings import Settings
from connector_core.domain.commands import Command, PushItem
from connector_core.domain.jobs import MAX_ATTEMPTS
from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.clock import Clock
from connector_core.ports.dead_letters import DeadLetters
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.task_queue import TaskQueue
from connector_core.services.dead_letters import DeadLetterList
from connector_core.services.jobs import JobRuntime
from connector_core.services.push_batch import push_batching
from connector_core.services.scheduler import Scheduler
from erp_bridge import ErpBridge


class Connector(MlParts):
    """The wired connector for one process."""

    def __init__(self, settings: Settings, *, gateway: MarketplaceGateway | None = None,
                 clock: Clock | None = None, queue: TaskQueue | None = None,
                 engine: Engine | None = None,
                 after_sale: AfterSaleGateway | None = None) -> None:
        super().__init__(settings, gateway=gateway, after_sale=after_sale, clock=clock,
                         engine=engine)
        self._queue = queue

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
        handlers = job_handlers(self, metrics)
        return JobRuntime(ledger=self.uow, queue=self.queue, locks=self.locks, clock=self.clock,
                          handlers=handlers, metrics=metrics,
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
                         marketplace=lambda: self.gateway, retention=s.retention,
                         sweep_interval_seconds=s.sweep_interval_seconds,
                         reconcile_interval_minutes=s.reconcile_interval_minutes,
                         application_id=s.application_id, after_sale=lambda: self.after_sale)

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
                         after_sale=lambda: self.after_sale)

    def health(self) -> Mapping[str, tuple[bool, str]]:
        return health.check(self.engine, self.redis)


def build(settings: Settings | None = None, *, gateway: MarketplaceGateway | None = None,
          clock: Clock | None = None, queue: TaskQueue | None = None,
          engine: Engine | None = None, after_sale: AfterSaleGateway | None = None) -> Connector:
    return Connector(settings or Settings.load(), gateway=gateway, clock=clock, queue=queue,
                     engine=engine, after_sale=after_sale)
