"""The console's blueprint and what every request goes through: who is logged in, the CSRF
check on every POST, and the headers of every answer."""

import logging
from datetime import UTC, datetime

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from webhook_app.console.security import csrf_ok, csrf_token, current_operator
from webhook_app.console.services import ConsoleServices

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

PUBLIC = frozenset({"console.login_form", "console.login"})
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@bp.app_template_filter("utc")
def utc(moment: datetime | None) -> str:
    """An instant as the console shows it: in UTC, to the second (``-`` for none)."""
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def services() -> ConsoleServices:
    found: ConsoleServices = current_app.extensions["console"]
    return found


def page(template: str, status: int = 200, **context: object) -> tuple[str, int]:
    return render_template(f"console/{template}", operator=g.get("operator"),
                           csrf=csrf_token(), **context), status


@bp.before_request
def guard() -> Response | tuple[str, int] | None:
    """No page without a logged-in operator; no POST without the session's CSRF token."""
    if request.method == "POST" and not csrf_ok():
        log.warning("console: %s %s refused: CSRF token missing or wrong", request.method,
                    request.path)
        return page("refused.html", 400, reason="The form's security token is missing or "
                    "stale. Go back, reload the page and try again.")
    if request.endpoint in PUBLIC:
        return None
    operator = current_operator(services().operators)
    if operator is None:
        if request.method == "GET":
            return redirect(url_for("console.login_form", next=request.full_path.rstrip("?")))
        return page("refused.html", 403, reason="Log in first.")
    g.operator = operator
    return None


@bp.after_request
def headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response
