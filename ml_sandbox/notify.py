"""The sandbox posting notifications to a callback URL the way ML does (or dropping them)."""

import random
import time
from typing import Any

import httpx

from ml_sandbox.state import SandboxState

ACCEPT_WITHIN_MS = 500  # ML wants the 200 within 500 ms
MISSPELLED_TOPICS = frozenset({"public_candidates", "public_offers", "catalog_suggestions"})


def deliver(state: SandboxState, base: dict[str, Any],
            data: dict[str, Any]) -> list[dict[str, Any]]:
    """POST the notification (1 + duplicates times) or drop it into missed_feeds."""
    url = data.get("callback_url") or state.callback_url
    user_id: Any = int(base["user_id"])
    if data.get("user_id_as_string"):
        user_id = str(user_id)
    now = state.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    notification = {"_id": f"{random.getrandbits(64):016x}", "resource": base["resource"],
                    "user_id": user_id, "topic": base["topic"],
                    "application_id": state.application_id, "attempts": 1,
                    "sent": now, "received": now}
    if data.get("no_id"):  # the BR doc's shape
        del notification["_id"]
    if base["topic"] in MISSPELLED_TOPICS:
        notification["recieved"] = notification.pop("received")
    if data.get("drop") or not url:
        state.record_missed(notification, url or "", None, "", 0)
        return [{"dropped": True}]
    deliveries = []
    retries = int(data.get("retries", 0))  # ML: up to 8 tries within an hour; here at once
    for _copy in range(1 + int(data.get("duplicates", 0))):
        for attempt in range(1, retries + 2):
            notification["attempts"] = attempt
            started = time.monotonic()
            try:
                answer = httpx.post(url, json=notification, timeout=5.0,
                                    headers={"accept": "application/json"})
                code: int | None = answer.status_code
                text = answer.text[:200]
            except httpx.HTTPError as exc:
                code, text = None, type(exc).__name__
            elapsed = int((time.monotonic() - started) * 1000)
            accepted = code == 200 and elapsed <= ACCEPT_WITHIN_MS  # a slow 200 is re-sent
            deliveries.append({"status": code, "ms": elapsed, "attempt": attempt,
                               "accepted": accepted})
            if accepted:
                break
        else:
            if code != 200:
                state.record_missed(dict(notification), url, code, text, elapsed)
    return deliveries
