"""``POST /notifications``: store, queue, answer 200 — well inside ML's 500 ms.

The body is validated just enough to store it: it must be JSON the inbox can hold
(:mod:`webhook_app.bodies`), and ``topic`` and ``resource`` must be strings (400 otherwise).
``user_id`` may arrive as a string and ``received`` misspelled ``recieved``; a ``sent`` or
``received`` outside the sane window (:mod:`connector_core.domain.inputs`) is stored as null
(it is ML's information, not ours to refuse). Unknown topics and sellers are stored and
answered 200 (the job records why they are not processed). When the queue is down the answer
is still 200: the notification is in the inbox and the sweeper queues it when the queue is
back.
"""

import json
import logging
import time
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request

from connector_core.domain.inputs import BadInstant, parse_instant, shown, text_problem
from connector_core.domain.limits import BIGINT_MAX
from connector_core.domain.notifications import Notification
from webhook_app.bodies import BadBody, parse_json
from webhook_app.errors import error
from webhook_app.metrics import ACK_SECONDS, NOTIFICATIONS, topic_label
from webhook_app.services import WebhookServices

bp = Blueprint("notifications", __name__)
log = logging.getLogger(__name__)


class BadNotification(BadBody):
    pass


# What the inbox can hold: longer text or larger numbers are refused with a 400 naming the
# field, not failed with a 500 that ML would retry for days.
MAX_LENGTHS = {"topic": 64, "resource": 512, "_id": 64}
INTEGER_MAX = 2**31 - 1


def _int(value: Any, name: str, maximum: int = BIGINT_MAX) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadNotification(f"{name} must be a number, got {shown(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise BadNotification(f"{name} must be a number, got {shown(value)}")
    if not 0 <= number <= maximum:
        raise BadNotification(f"{name} must be between 0 and {maximum}, got {number}")
    return number


def _text(value: str, name: str) -> str:
    if len(value) > MAX_LENGTHS[name]:
        raise BadNotification(f"`{name}` is longer than {MAX_LENGTHS[name]} characters")
    problem = text_problem(value)
    if problem:
        raise BadNotification(f"`{name}` {problem}")
    return value


def _instant(value: Any) -> datetime | None:
    """ML's ``sent``/``received``: None unless an ISO-8601 instant with a time zone inside
    the sane window (one outside it once made an inbox row PostgreSQL could store and
    Python could not read back)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value)
    except BadInstant:
        return None


def parse_notification(body: Any) -> Notification:
    if not isinstance(body, dict):
        raise BadNotification("the body must be a JSON object")
    topic, resource = body.get("topic"), body.get("resource")
    if not isinstance(topic, str) or not topic:
        raise BadNotification("`topic` is missing or not a string")
    if not isinstance(resource, str) or not resource:
        raise BadNotification("`resource` is missing or not a string")
    ml_id = body.get("_id", body.get("id"))
    return Notification(
        topic=_text(topic, "topic"), resource=_text(resource, "resource"),
        user_id=_int(body.get("user_id"), "user_id"),
        application_id=_int(body.get("application_id"), "application_id"),
        attempts=_int(body.get("attempts"), "attempts", INTEGER_MAX),
        sent=_instant(body.get("sent")),
        received=_instant(body.get("received", body.get("recieved"))),
        ml_id=_text(str(ml_id), "_id") if ml_id not in (None, "") else None)


@bp.post("/notifications")
def receive() -> tuple[Response, int] | Response:
    started = time.perf_counter()
    services: WebhookServices = current_app.extensions["connector"]
    try:
        body = parse_json(request.get_data(cache=False))
        notification = parse_notification(body)
    except BadBody as exc:
        NOTIFICATIONS.labels(topic="-", outcome="bad_request").inc()
        return error(400, "bad_request", str(exc))
    expected = services.settings.application_id
    topic = topic_label(notification.topic)
    if expected is not None and notification.application_id != expected:
        NOTIFICATIONS.labels(topic=topic, outcome="wrong_application").inc()
        return error(403, "forbidden",
                     f"application_id {notification.application_id} is not this application")
    entry_id, is_new = services.intake.receive(notification, body)
    if is_new:
        services.jobs_committed()
    NOTIFICATIONS.labels(topic=topic, outcome="stored" if is_new else "duplicate").inc()
    ACK_SECONDS.observe(time.perf_counter() - started)
    return Response(json.dumps({"id": entry_id, "duplicate": not is_new}), status=200,
                    mimetype="application/json")
