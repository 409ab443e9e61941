"""Running and operating the flows: ``serve``, ``worker``, ``sync``, ``reconcile``, ``jobs``."""

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from connector_core.domain.errors import InvalidInput


def _connector() -> Any:
    from config import jobs

    return jobs.connector()


def _wait_in_process(connector: Any) -> None:
    from adapters.queues import InProcessTaskQueue

    queue = connector.queue
    if isinstance(queue, InProcessTaskQueue):
        queue.join()


def _serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from config.wsgi import make_app

    connector = _connector()
    workers = args.workers if connector.redis is not None else 1

    class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("accesslog", "-")

        def load(self) -> Any:
            return make_app(connector)

    print(f"serving on http://{args.host}:{args.port} ({workers} process(es); jobs "
          f"{'on Redis' if connector.redis is not None else 'in-process'})", file=sys.stderr)
    Server().run()
    return 0


def _worker(args: argparse.Namespace) -> int:
    import threading
    import time

    from rq import SimpleWorker

    connector = _connector()
    if connector.redis is None:
        raise InvalidInput("REDIS_URL is not set: without Redis, jobs run inside `serve` and "
                           "the CLI commands; there is no separate worker to start")
    queue = connector.queue.rq_queue
    connector.sweep()
    if not args.burst:
        def schedule() -> None:
            # Sweeps every sweep_interval_seconds and reconciles every
            # reconcile_interval_minutes; a lock in Redis makes one worker do it per tick.
            last = time.time()
            while True:
                time.sleep(connector.settings.sweep_interval_seconds)
                last = connector.scheduled(last, time.time())

        threading.Thread(target=schedule, daemon=True, name="scheduler").start()
    worker = SimpleWorker([queue], connection=connector.redis, serializer="json")
    worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from connector_core.domain.commands import PushItem

    if not args.all and not args.sku:
        raise InvalidInput("give --sku SKU or --all")
    connector = _connector()
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
    connector = _connector()
    lines = connector.reconcile(args.account, since)
    _wait_in_process(connector)
    print(json.dumps({"result": lines}) if args.json else "\n".join(lines))
    return 0


def _jobs(args: argparse.Namespace) -> int:
    connector = _connector()
    if connector.redis is None:
        raise InvalidInput("the dead-letter list lives in Redis (REDIS_URL); in-process jobs "
                           "that fail stay in the job outbox and are retried by the sweeper")
    from rq.registry import FailedJobRegistry

    registry = FailedJobRegistry(queue=connector.queue.rq_queue)
    if args.action == "failed":
        rows = []
        for job_id in registry.get_job_ids():
            job = connector.queue.rq_queue.fetch_job(job_id)
            if job is None:
                continue
            error = (job.latest_result().exc_string if job.latest_result() else "") or ""
            rows.append({"id": job_id, "what": job.description,
                         "failed_at": job.ended_at.isoformat() if job.ended_at else None,
                         "error": error.strip().splitlines()[-1] if error.strip() else ""})
        if args.json:
            print(json.dumps(rows))
        else:
            for row in rows:
                print(f"{row['id']}  {row['what']}  {row['failed_at']}  {row['error']}")
            print(f"{len(rows)} failed job(s)")
        return 0
    ids = registry.get_job_ids() if args.all else [args.id]
    if not args.all and not args.id:
        raise InvalidInput("give a job ID or --all")
    for job_id in ids:
        try:
            registry.requeue(job_id)
        except Exception as exc:
            raise InvalidInput(f"cannot retry job {job_id!r}: {exc}") from exc
    print(f"re-queued {len(ids)} job(s)")
    return 0


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
