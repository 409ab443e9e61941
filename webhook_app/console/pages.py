"""The console's pages (GET): login, overview, listings, a listing's story, orders, jobs."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from flask import request

from webhook_app.console.blueprint import bp, page, services
from webhook_app.console.chart import minutes_chart

SEARCH_LIMIT = 100
AUDIT_LIMIT = 50
ORDERS_LIMIT = 50
CHART_MINUTES = 60
TOPICS_HOURS = 24
ML_ID = re.compile(r"[A-Z]{3}[0-9]{1,20}")
ACCOUNT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ORDER_ID = re.compile(r"[0-9]{1,18}")


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a console path only (never another site)."""
    if target and target.startswith("/console") and not urlsplit(target).netloc \
            and "\\" not in target:
        return target
    return "/console/"


@bp.get("/login")
def login_form() -> tuple[str, int]:
    return page("login.html", next=safe_next(request.args.get("next")))


@bp.get("/")
def overview() -> tuple[str, int]:
    console = services()
    now = console.now()
    minutes = console.reads.minutes(now - timedelta(minutes=CHART_MINUTES - 1))
    recent = minutes[-5:]
    return page(
        "overview.html", accounts=console.reads.accounts(), health=console.health(),
        jobs=console.reads.job_counts(), jobs_by_account=console.reads.job_counts_by_account(),
        chart=minutes_chart(minutes),
        recent_calls=sum(m.calls for m in recent),
        recent_throttled=sum(m.throttled for m in recent),
        token_failures=sum(m.token_failures for m in minutes),
        capacity=console.calls_per_minute * len(recent),
        topics=console.reads.topics(now - timedelta(hours=TOPICS_HOURS)),
        topics_hours=TOPICS_HOURS, actions=console.reads.operator_actions(10), now=now)


@bp.get("/listings")
def listings() -> tuple[str, int]:
    query = request.args.get("q", "")[:200]
    hits = services().reads.search(query, SEARCH_LIMIT) if query.strip() else []
    return page("listings.html", query=query, hits=hits, limit=SEARCH_LIMIT)


@bp.get("/listings/<account>/<item_id>")
def listing(account: str, item_id: str) -> tuple[str, int]:
    if not ACCOUNT.fullmatch(account) or not ML_ID.fullmatch(item_id):
        return page("refused.html", 404, reason=f"{account}/{item_id} is not a listing")
    console = services()
    story = console.explain(account, item_id)
    if story is None:
        return page("refused.html", 404,
                    reason=f"{item_id} of account {account} is not on the mapping table")
    return page("listing.html", story=story,
                audit=console.reads.audit_trail(account, item_id, AUDIT_LIMIT))


@bp.get("/orders")
def orders() -> tuple[str, int]:
    wanted = request.args.get("order", "").strip()
    if wanted and not ORDER_ID.fullmatch(wanted):
        return page("refused.html", 400, reason=f"order id {wanted[:40]!r} is not a number")
    found = services().reads.orders(ORDERS_LIMIT, int(wanted) if wanted else None)
    return page("orders.html", orders=found, wanted=wanted)


@bp.get("/jobs")
def jobs() -> tuple[str, int]:
    console = services()
    return page("jobs.html", counts=console.reads.job_counts(), dead=console.dead_letters())


@bp.get("/verify")
def verify_form() -> tuple[str, int]:
    return page("verify.html", outcome=None)
