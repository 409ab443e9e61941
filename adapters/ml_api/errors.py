"""ML error responses translated into the domain errors the core acts on.

ML's error body is ``{"message", "error", "status", "cause"}`` where ``cause`` is ``[]``,
``null``, a list of strings or a list of objects (``{code, message, cause_id, type, ...}``);
OAuth errors carry ``error_description`` instead of ``message``; 429s may have an empty body.
Causes reach the domain as plain strings.
"""

import email.utils
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from connector_core.domain.errors import (
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceRejected,
    MarketplaceUnavailable,
)

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def format_cause(cause: object) -> str:
    """One ML cause as a line of text: ``code: message`` for objects, the string otherwise."""
    if isinstance(cause, dict):
        code = cause.get("code") or cause.get("cause_id") or ""
        message = cause.get("message") or ""
        kind = cause.get("type")
        text = f"{code}: {message}" if code and message else str(code or message or cause)
        return f"[{kind}] {text}" if kind and kind != "error" else text
    return str(cause)


def causes_of(body: dict[str, Any]) -> list[str]:
    cause = body.get("cause")
    if cause is None:
        return []
    if isinstance(cause, list):
        return [format_cause(c) for c in cause]
    return [format_cause(cause)]


def retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or bad."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return max(0.0, (when - current).total_seconds())


def error_code(response: httpx.Response) -> str:
    return str(_body(response).get("error") or "")


def error_from_response(response: httpx.Response, what: str) -> MarketplaceError:
    """The domain error for a non-2xx ML response; ``what`` names the call (never a token)."""
    status = response.status_code
    body = _body(response)
    code = str(body.get("error") or "")
    message = str(body.get("message") or body.get("error_description") or
                  response.reason_phrase or "")
    text = f"{what}: HTTP {status} {code}".rstrip() + (f" ({message})" if message else "")
    if status in RETRYABLE_STATUSES or status >= 500:
        return MarketplaceUnavailable(text, retry_after=retry_after_seconds(response),
                                      status=status)
    if status == 404:
        return MarketplaceNotFound(text, error=code or "not_found")
    return MarketplaceRejected(text, status=status, error=code, causes=causes_of(body))


def transport_error(exc: httpx.TransportError, what: str) -> MarketplaceUnavailable:
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection error"
    return MarketplaceUnavailable(f"{what}: {kind} ({type(exc).__name__})")
