"""Wires the operator's console (``webhook_app.console``) to the connector.

The console exists only when ``CONSOLE_OPERATORS`` names at least one operator:
``name:HASH`` pairs separated by commas, each hash from ``meli-connector console
hash-password``. It needs ``CONNECTOR_SECRET_KEY`` (the session key is derived from it).
"""

import os
from collections.abc import Mapping

from adapters.redis_throttle import RedisLoginThrottle
from adapters.sql.console_reads import SqlConsoleReads
from config.bootstrap import Connector
from connector_core.domain.errors import InvalidInput
from connector_core.domain.jobs import MAX_ATTEMPTS
from connector_core.services.catalog import verify
from connector_core.services.explain import ListingStory, explain_listing
from connector_core.services.operator import queue_push, queue_reconcile_all
from webhook_app.console import ConsoleServices, VerifyOutcome
from webhook_app.console.passwords import hash_problem
from webhook_app.console.security import session_key
from webhook_app.console.throttle import LIMIT, WINDOW, LoginThrottle, Throttle
from webhook_app.proxies import parse_networks

VARIABLE = "CONSOLE_OPERATORS"
# ``mappings verify`` reads 20 items per ML call: 2000 items take 100 calls, about 10 s at the
# default rate limit, well inside gunicorn's 30 s request timeout
VERIFY_MAX_ITEMS = 2000


def parse_operators(text: str) -> dict[str, str]:
    """``name:HASH[,name:HASH...]`` -> {name: hash}; :class:`InvalidInput` names a bad
    entry (by position and name, never its hash)."""
    operators: dict[str, str] = {}
    for position, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        name, _, hashed = entry.partition(":")
        name = name.strip()
        if not name or not name.isprintable() or len(name) > 64 or not hashed:
            raise InvalidInput(f"{VARIABLE}: entry {position} is not name:HASH")
        problem = hash_problem(hashed.strip())
        if problem:
            raise InvalidInput(f"{VARIABLE}: the hash of operator {name!r} is not valid: "
                               f"{problem}")
        if name in operators:
            raise InvalidInput(f"{VARIABLE}: operator {name!r} is named twice")
        operators[name] = hashed.strip()
    return operators


class ConsoleActions:
    """What the console's buttons do, through the connector's own job machinery."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    def explain(self, account: str, item_id: str) -> ListingStory | None:
        return explain_listing(account, item_id, uow=self.connector.uow,
                               marketplace=self.connector.gateway)

    def retry(self, job_id: str | None) -> str:
        """The CLI's ``jobs retry``: on Redis, rq's failed-job registry; in-process, the
        ledger's rows that used up their attempts."""
        count = self.connector.dead_letters.retry(job_id)
        return f"retrying {count} job(s)"

    def push_now(self, account: str, item_id: str) -> str:
        queue_push(account, item_id, uow=self.connector.uow)
        self.connector.runtime.jobs_committed()
        return f"push of {item_id} queued"

    def reconcile_now(self) -> str:
        names = queue_reconcile_all(uow=self.connector.uow)
        self.connector.runtime.jobs_committed()
        return f"reconciliation queued for {len(names)} account(s)"

    def verify_mappings(self) -> VerifyOutcome:
        stored = self.connector.admin_tables.stored()
        rows, accounts = stored.rows, {a.name: a for a in stored.accounts}
        items = len({r.listing.item_key for r in rows if r.active})
        if items > VERIFY_MAX_ITEMS:
            raise InvalidInput(f"{items} items are mapped: more than a web request may take "
                               f"to read (over {VERIFY_MAX_ITEMS}); run `meli-connector "
                               f"mappings verify` instead")
        report = verify(self.connector.gateway, accounts, rows)
        return VerifyOutcome(summary=report.summary(),
                             problems=tuple(f.line() for f in report.problems),
                             warnings=tuple(f.line() for f in report.warnings))


def console_services(connector: Connector,
                     environ: Mapping[str, str] | None = None) -> ConsoleServices | None:
    """The console's services, or None when no operator is configured (no console)."""
    operators = parse_operators((os.environ if environ is None else environ)
                                .get(VARIABLE, ""))
    if not operators:
        return None
    settings = connector.settings
    if not settings.secret_key:
        raise InvalidInput(f"{VARIABLE} is set but CONNECTOR_SECRET_KEY is not: the "
                           f"console's sessions are signed with a key derived from it")
    reads = SqlConsoleReads(connector.engine, connector.clock.now, max_attempts=MAX_ATTEMPTS)
    actions = ConsoleActions(connector)
    return ConsoleServices(
        operators=operators, session_key=session_key(settings.secret_key),
        trusted_proxies=parse_networks(settings.trusted_proxy_networks), reads=reads,
        log=reads, now=connector.clock.now, health=connector.health, explain=actions.explain,
        retry=actions.retry, push_now=actions.push_now, reconcile_now=actions.reconcile_now,
        verify=actions.verify_mappings, dead_letters=connector.dead_letters.failed,
        calls_per_minute=int(settings.rate_limit_per_second * 60))


def login_throttle(connector: Connector) -> Throttle:
    """Failed logins counted across every web process when Redis is configured (production),
    in this process otherwise (the laptop setup, one process)."""
    local = LoginThrottle(limit=LIMIT, window=WINDOW)
    if connector.redis is None:
        return local
    return RedisLoginThrottle(connector.redis, limit=LIMIT, window=WINDOW, fallback=local)
