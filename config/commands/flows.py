"""Running and operating the flows: ``serve``, ``worker``, ``sync``, ``reconcile``, ``jobs``."""

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from connector_core.domain.errors import InvalidInput
from connector_core.domain.inputs import EARLIEST, LATEST, BadInstant, parse_instant

if TYPE_CHECKING:
    from config.bootstrap import Connector
    from connector_core.ports.dead_letters import DeadLetter

# gunicorn's access log line: address, time, method, path (no query), status, size, duration
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


def _connector() -> "Connector":
    from config.connecting import migrated_connector

    return migrated_connector()


def _connector_with_tokens() -> "Connector":
    from config.connecting import connector_with_tokens

    return connector_with_tokens()


def _serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from config import jobs
    from config.bootstrap import build
    from config.console import console_services
    from config.wsgi import make_app

    connector = _connector()
    settings = connector.settings
    console_services(connector)  # a bad CONSOLE_OPERATORS is said now, in one line
    if settings.secret_key:  # a wrong key is said now, not by every job that needs a token
        from config.connecting import database_errors

        with database_errors():
            connector.tokens.check_key()
    in_process = not settings.redis_url
    # Without Redis the jobs run on a thread of the web process: one process only.
    workers = 1 if in_process else args.workers

    class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("accesslog", "-")
            # No credential in the access log: not the user of a Basic header (%(u)s), not
            # the query string (the OAuth callback's code and state), not the referer.
            self.cfg.set("access_log_format", ACCESS_LOG_FORMAT)
            # gunicorn >= 25.1 opens a control socket at one path per user: several
            # `serve` processes on a host would share and delete each other's.
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            # Runs in each web process after gunicorn forks: its own connections and threads.
            connector = build(settings)
            jobs.use(connector)
            if in_process:
                connector.jobs.sweep()
                connector.runtime.start_scheduler()
            return make_app(connector)

    print(f"serving on http://{args.host}:{args.port} ({workers} process(es); jobs "
          f"{'in-process' if in_process else 'on Redis: run `meli-connector worker`'})",
          file=sys.stderr, flush=True)
    Server().run()
    return 0


def _worker(args: argparse.Namespace) -> int:
    from rq import SimpleWorker

    from adapters.rq_queue import RqTaskQueue

    connector = _connector_with_tokens()
    if connector.redis is None or not isinstance(connector.queue, RqTaskQueue):
        raise InvalidInput("REDIS_URL is not set: without Redis, jobs run inside `serve` and "
                           "the CLI commands; there is no separate worker to start")
    queues = connector.queue.rq_queues  # urgent first: RQ takes from the first with a job
    connector.jobs.sweep()
    if not args.burst:
        connector.runtime.start_scheduler()
        connector.runtime.start_relay()
    worker = SimpleWorker(queues, connection=connector.redis, serializer="json")
    if args.burst:
        # The ledger, not the queue, knows what is left to do: run it here and now, then let
        # rq empty its queue (copies of jobs already run, which it skips).
        ran, failed = connector.jobs.drain()
        print(f"drained: {ran} job(s) run, {failed} failed and wait for their retry"
              f"{' (meli-connector jobs failed lists dead letters)' if failed else ''}",
              file=sys.stderr, flush=True)
    worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    return 0


def _sync(args: argparse.Namespace) -> int:
    """Queue the pushes; in-process (no REDIS_URL) or with ``--wait``, follow them until they
    have run, with a progress bar (a plain line when stderr is not a terminal) for ``--all``
    or ``--wait``. stdout gets only the summary."""
    import time

    from config.progress import progress_line
    from connector_core.services.affected import queue_pushes_now
    from connector_core.services.sync_wait import wait_for_jobs

    if not args.all and not args.sku:
        raise InvalidInput("give --sku SKU or --all")
    connector = _connector_with_tokens()
    items = queue_pushes_now(connector.uow, None if args.all else args.sku)
    connector.jobs.dispatch()
    if args.wait and not connector.runtime.in_process:
        print(f"waiting for the workers to run {len(items)} push(es); Ctrl-C stops waiting "
              "(the pushes stay queued)", file=sys.stderr, flush=True)
    if connector.runtime.in_process or args.wait:
        with progress_line(f"sync {args.what}", "pushes") as show:
            wait_for_jobs(connector.uow, [push.dedup_key for push in items],
                          show if args.all or args.wait else None, sleep=time.sleep)
    connector.runtime.settle()
    summary = {"what": args.what, "items": len(items)}
    print(json.dumps(summary) if args.json else
          f"queued a {args.what} push for {len(items)} item(s)")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        try:
            since = parse_instant(args.since)
        except BadInstant as bad:
            if bad.reason == "zone":
                raise InvalidInput(f"--since: {args.since!r} has no time zone") from None
            if bad.reason == "window":
                raise InvalidInput(f"--since: {args.since!r} is outside "
                                   f"{EARLIEST.date()}..{LATEST.date()}") from None
            raise InvalidInput(f"--since: expected an ISO-8601 time, got {args.since!r}") \
                from None
    connector = _connector_with_tokens()
    lines = connector.scheduler.reconcile_now(args.account, since)
    connector.runtime.settle()
    print(json.dumps({"result": lines}) if args.json else "\n".join(lines))
    return 0


def _print_failed(letters: "list[DeadLetter]", as_json: bool) -> None:
    rows = [{"id": d.id, "what": d.what,
             "failed_at": d.failed_at.isoformat() if d.failed_at else None, "error": d.error}
            for d in letters]
    if as_json:
        print(json.dumps(rows))
        return
    for row in rows:
        print(f"{row['id']}  {row['what']}  failed {row['failed_at']}  {row['error']}")
    print(f"{len(rows)} failed job(s)")


def _jobs(args: argparse.Namespace) -> int:
    """Dead letters: on Redis, rq's failed-job registry (with the error); in-process, the job
    rows that used up their attempts."""
    if args.action == "retry" and not args.all and not args.id:
        raise InvalidInput("give a job ID or --all")
    if args.action == "retry" and args.id is not None:
        from connector_core.domain.jobs import job_row_id

        job_row_id(args.id)  # job-N on either queue: anything else is a one-line error
    # re-running jobs calls ML: the key must decrypt the tokens; listing them needs no key
    connector = _connector_with_tokens() if args.action == "retry" else _connector()
    if args.action == "failed":
        _print_failed(connector.dead_letters.failed(), args.json)
        return 0
    count = connector.dead_letters.retry(None if args.all else args.id)
    connector.runtime.settle()
    print(f"re-ran {count} job(s)" if connector.runtime.in_process
          else f"re-queued {count} job(s)")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="the web app (notifications, OAuth, /erp, health)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="web processes (with Redis)")
    p.add_argument("--threads", type=int, default=4)
    p.set_defaults(handler=_serve)

    p = sub.add_parser("worker", help="an RQ worker for the connector's jobs (needs REDIS_URL)")
    p.add_argument("--burst", action="store_true",
                   help="run every waiting job (also those held back by the push window) "
                        "and the jobs they create, urgent ones first, then exit")
    p.set_defaults(handler=_worker)

    p = sub.add_parser("sync", help="push what the ERP's current state says, now")
    p.add_argument("what", choices=["stock", "prices"])
    p.add_argument("--sku")
    p.add_argument("--all", action="store_true")
    p.add_argument("--wait", action="store_true",
                   help="with REDIS_URL, wait until the workers have run the pushes (a "
                        "progress bar on stderr); without it, sync always waits")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_sync)

    p = sub.add_parser("reconcile", help="recover orders and missed notifications now")
    p.add_argument("--account")
    p.add_argument("--since", help="ISO-8601 time (default: the last checkpoint)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_reconcile)

    p = sub.add_parser("jobs", help="the dead-letter list: failed jobs and re-runs")
    p.add_argument("action", choices=["failed", "retry"])
    p.add_argument("id", nargs="?")
    p.add_argument("--all", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_jobs)
