"""Running and operating the flows: ``serve``, ``worker``, ``sync``, ``reconcile``, ``jobs``."""

import argparse
import json
import re
import sys
from datetime import datetime
from typing import Any

from connector_core.domain.errors import InvalidInput

# gunicorn's access log line: address, time, method, path (no query), status, size, duration
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


def _connector() -> Any:
    from config.commands.db import migrated_connector

    return migrated_connector()


def _connector_with_tokens() -> Any:
    from config.commands.db import connector_with_tokens

    return connector_with_tokens()


def _wait_in_process(connector: Any) -> None:
    from adapters.queues import InProcessTaskQueue

    queue = connector.queue
    if isinstance(queue, InProcessTaskQueue):
        queue.join()


def _serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from config import jobs
    from config.bootstrap import build
    from config.wsgi import make_app

    connector = _connector()
    settings = connector.settings
    if settings.secret_key:  # a wrong key is said now, not by every job that needs a token
        from config.commands.db import database_errors

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
                connector.sweep()
                connector.start_scheduler()
            return make_app(connector)

    print(f"serving on http://{args.host}:{args.port} ({workers} process(es); jobs "
          f"{'in-process' if in_process else 'on Redis: run `meli-connector worker`'})",
          file=sys.stderr, flush=True)
    Server().run()
    return 0


def _worker(args: argparse.Namespace) -> int:
    from rq import SimpleWorker

    connector = _connector_with_tokens()
    if connector.redis is None:
        raise InvalidInput("REDIS_URL is not set: without Redis, jobs run inside `serve` and "
                           "the CLI commands; there is no separate worker to start")
    queue = connector.queue.rq_queue
    connector.sweep()
    if not args.burst:
        connector.start_scheduler()
        connector.start_relay()
    worker = SimpleWorker([queue], connection=connector.redis, serializer="json")
    worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from connector_core.domain.commands import PushItem

    if not args.all and not args.sku:
        raise InvalidInput("give --sku SKU or --all")
    connector = _connector_with_tokens()
    with connector.uow as uow:
        if args.all:
            items = uow.mappings.items()
        else:
            kits = uow.mappings.kits()
            rows = uow.mappings.rows_for_skus(kits.related_skus(args.sku))
            if not rows:
                raise InvalidInput(f"SKU {args.sku!r} is not on any mapping row or kit")
            items = sorted({r.listing.item_key for r in rows if r.active})
        for account, item_id in items:
            uow.jobs.add(PushItem(account, item_id))
        uow.commit()
    connector.dispatch()
    _wait_in_process(connector)
    summary = {"what": args.what, "items": len(items)}
    print(json.dumps(summary) if args.json else
          f"queued a {args.what} push for {len(items)} item(s)")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"--since: expected an ISO-8601 time, got {args.since!r}") \
                from None
        if since.utcoffset() is None:
            raise InvalidInput(f"--since: {args.since!r} has no time zone")
    connector = _connector_with_tokens()
    lines = connector.reconcile(args.account, since)
    _wait_in_process(connector)
    print(json.dumps({"result": lines}) if args.json else "\n".join(lines))
    return 0


def _print_failed(rows: list[dict[str, Any]], as_json: bool) -> None:
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
    # re-running jobs calls ML: the key must decrypt the tokens; listing them needs no key
    connector = _connector_with_tokens() if args.action == "retry" else _connector()
    if connector.redis is None:
        return _jobs_in_process(connector, args)
    from rq.registry import FailedJobRegistry

    queue = connector.queue.rq_queue
    registry = FailedJobRegistry(queue=queue)
    if args.action == "failed":
        rows = []
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            if job is None:
                continue
            result = job.latest_result()
            error = ((result.exc_string if result else "") or "").strip()
            rows.append({"id": job_id, "what": job.description,
                         "failed_at": job.ended_at.isoformat() if job.ended_at else None,
                         "error": error.splitlines()[-1] if error else ""})
        _print_failed(rows, args.json)
        return 0
    if not args.all and not re.fullmatch(r"[A-Za-z0-9_-]{1,200}", args.id):  # ASCII only
        raise InvalidInput(f"job id: expected an id `jobs failed` lists, got {args.id!r}")
    ids = registry.get_job_ids() if args.all else [args.id]
    for job_id in ids:
        try:
            registry.requeue(job_id)
        except Exception as exc:
            raise InvalidInput(f"cannot retry job {job_id!r}: {exc}") from exc
    print(f"re-queued {len(ids)} job(s)")
    return 0


def _jobs_in_process(connector: Any, args: argparse.Namespace) -> int:
    from sqlalchemy import select, update

    from adapters.sql.rows import JobRow
    from config.bootstrap import MAX_ATTEMPTS

    dead = (JobRow.claimed_at.is_(None)) & (JobRow.attempts >= MAX_ATTEMPTS)
    with connector.uow as uow:
        rows = list(uow.session.scalars(select(JobRow).where(dead).order_by(JobRow.id)))
        if args.action == "failed":
            _print_failed([{"id": f"job-{r.id}", "what": r.dedup_key,
                            "failed_at": r.dispatched_at.isoformat() if r.dispatched_at
                            else None, "error": f"{r.attempts} attempts (see the logs)"}
                           for r in rows], args.json)
            return 0
        wanted = {r.id for r in rows} if args.all else {_row_id(args.id)}
        unknown = wanted - {r.id for r in rows}
        if unknown:
            raise InvalidInput(f"no failed job {args.id!r} (see `meli-connector jobs failed`)")
        uow.session.execute(update(JobRow).where(JobRow.id.in_(wanted))
                            .values(attempts=0, dispatched_at=None))
        uow.commit()
    connector.dispatch()
    _wait_in_process(connector)
    print(f"re-ran {len(wanted)} job(s)")
    return 0


def _row_id(text: str) -> int:
    digits = text.removeprefix("job-")
    if not re.fullmatch(r"[0-9]{1,18}", digits):  # ASCII digits: isdigit() also takes "²"
        raise InvalidInput(f"job id: expected an id `jobs failed` lists (job-N), got {text!r}")
    return int(digits)


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="the web app (notifications, OAuth, /erp, health)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="web processes (with Redis)")
    p.add_argument("--threads", type=int, default=4)
    p.set_defaults(handler=_serve)

    p = sub.add_parser("worker", help="an RQ worker for the connector's jobs (needs REDIS_URL)")
    p.add_argument("--burst", action="store_true", help="drain the queue and exit")
    p.set_defaults(handler=_worker)

    p = sub.add_parser("sync", help="push what the ERP's current state says, now")
    p.add_argument("what", choices=["stock", "prices"])
    p.add_argument("--sku")
    p.add_argument("--all", action="store_true")
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
