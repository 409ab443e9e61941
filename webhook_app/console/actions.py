"""The console's actions (POST, CSRF-checked by the blueprint): log in and out, retry dead
letters, push a listing, reconcile, verify the mappings. Every action is recorded with the
operator's name and its outcome (``console_actions``) and logged."""

import logging
from collections.abc import Callable
from math import ceil

from flask import current_app, flash, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from connector_core.domain.console import OperatorAction
from connector_core.domain.errors import ConnectorError
from webhook_app.console.blueprint import bp, page, services
from webhook_app.console.pages import ACCOUNT, ML_ID, safe_next
from webhook_app.console.passwords import check_password
from webhook_app.console.security import start_session
from webhook_app.console.throttle import Throttle

log = logging.getLogger(__name__)

MAX_NAME = 64


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    console = services()
    name = request.form.get("name", "")[:MAX_NAME]
    password = request.form.get("password", "")[:1024]
    keys = (f"name:{name}", f"address:{request.remote_addr}")
    throttle: Throttle = current_app.extensions["console_throttle"]
    wait = throttle.wait(*keys)
    if wait:
        log.warning("console: login for %r from %s refused: too many failures",
                    name, request.remote_addr)
        return page("login.html", 429, next=safe_next(request.form.get("next")),
                    error=f"Too many failed logins: try again in {ceil(wait)} s.")
    stored = console.operators.get(name)
    if not check_password(password, stored) or stored is None:
        throttle.failed(*keys)
        log.warning("console: failed login for %r from %s", name, request.remote_addr)
        return page("login.html", 401, next=safe_next(request.form.get("next")),
                    error="Wrong name or password.")
    throttle.succeeded(keys[0])
    start_session(name, stored)
    _record(name, "login", "-", "logged in")
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response:
    _record(g.operator, "logout", "-", "logged out")
    session.clear()
    return redirect(url_for("console.login_form"))


def _record(operator: str, action: str, target: str, outcome: str) -> None:
    console = services()
    log.info("console: %s %s %s: %s", operator, action, target, outcome)
    console.log.record(OperatorAction(at=console.now(), operator=operator, action=action,
                                      target=target, outcome=outcome))


def _act(action: str, target: str, run: Callable[[], str]) -> str:
    """Run an action, record it (also when it fails) and flash its outcome."""
    try:
        outcome = run()
    except ConnectorError as exc:
        outcome = f"failed: {exc}"
    _record(g.operator, action, target, outcome)
    flash(outcome)
    return outcome


@bp.post("/jobs/retry")
def retry() -> Response | tuple[str, int]:
    wanted = request.form.get("job", "all")[:40]
    job_id = None if wanted == "all" else wanted  # the id is checked by the retry itself
    _act("retry", "all dead letters" if job_id is None else job_id,
         lambda: services().retry(job_id))
    return redirect(url_for("console.jobs"))


@bp.post("/listings/<account>/<item_id>/push")
def push(account: str, item_id: str) -> Response | tuple[str, int]:
    if not ACCOUNT.fullmatch(account) or not ML_ID.fullmatch(item_id):
        return page("refused.html", 404, reason=f"{account}/{item_id} is not a listing")
    _act("push", f"{account}/{item_id}", lambda: services().push_now(account, item_id))
    return redirect(url_for("console.listing", account=account, item_id=item_id))


@bp.post("/reconcile")
def reconcile() -> Response:
    _act("reconcile", "all accounts", lambda: services().reconcile_now())
    return redirect(url_for("console.overview"))


@bp.post("/verify")
def verify() -> tuple[str, int]:
    try:
        outcome = services().verify()
    except ConnectorError as exc:
        _record(g.operator, "verify", "mappings", f"failed: {exc}")
        return page("verify.html", outcome=None, error=str(exc))
    _record(g.operator, "verify", "mappings", outcome.summary)
    return page("verify.html", outcome=outcome)
