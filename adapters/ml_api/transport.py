"""The one place requests to ML are sent.

Every call: takes a slot from the shared rate limiter, carries the account's bearer token
(refreshed ahead of expiry, and once on a 401), has a timeout, and is retried a bounded
number of times with exponential backoff and full jitter when ML answers 429/5xx, the network
fails or the token refresh does (``Retry-After`` honoured when ML sends it). What is not worth
retrying is raised at once as the domain error. Logs carry method, path and status, never a
token.
"""

import logging
import random
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import httpx

from adapters.ml_api.converter import MlPayloadError
from adapters.ml_api.errors import error_from_response, transport_error
from adapters.ml_api.oauth import MlOAuth
from adapters.ml_api.ratelimit import SharedRateLimiter
from connector_core.domain.errors import MarketplaceRejected, MarketplaceUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


def response_json(response: httpx.Response, what: str) -> Any:
    """The body as JSON; anything else on a 2xx (a proxy's HTML page) is worth a retry later."""
    try:
        return response.json()
    except ValueError as exc:
        raise MarketplaceUnavailable(f"{what}: HTTP {response.status_code} with a body that "
                                     f"is not JSON", status=response.status_code) from exc


def parse_answer(parse: Callable[[Any], T], data: Any, what: str) -> T:
    """``parse(data)``; a 2xx whose JSON has the wrong shape is rejected, naming the field."""
    try:
        return parse(data)
    except MlPayloadError as exc:
        raise MarketplaceRejected(f"{what}: unreadable answer: {exc}", status=200,
                                  error="unreadable_answer") from exc


def refused_id(what: str, value: object) -> MarketplaceRejected:
    """The error for an id that is not an ML id: no URL is built from it."""
    return MarketplaceRejected(
        f"{what} {value!r} refused by the connector: not an ML id, it would make the URL "
        f"another endpoint", status=400, error="connector.invalid_id")


class MlTransport:
    """Authenticated, rate-limited, retried requests over the process's ``httpx.Client``."""

    def __init__(self, client: httpx.Client, oauth: MlOAuth, limiter: SharedRateLimiter, *,
                 timeout: float = 10.0, max_attempts: int = 6, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self._client = client
        self._oauth = oauth
        self._limiter = limiter
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._jitter = jitter
        self.retries = 0  # retried attempts, for metrics and tests

    def call(self, account: str, method: str, path: str, what: str, *,
             params: Mapping[str, Any] | None = None, json: Any = None,
             headers: Mapping[str, str] | None = None,
             ok: Collection[int] = (200, 201, 206)) -> httpx.Response:
        """Send one request for ``account``; ``what`` names it in errors and logs. A status
        in ``ok`` is returned as it came (to read an error body the caller understands)."""
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                token = self._oauth.access_token(account)
                response = self._send(method, path, what, token, params=params, json=json,
                                      headers=headers)
                if response.status_code == 401 and not refreshed:
                    refreshed = True
                    attempt -= 1  # a refresh is not a failed attempt
                    self._oauth.refresh(account, stale=token)
                    continue
                if response.status_code in ok:
                    return response
                error = error_from_response(response, what)
                if not isinstance(error, MarketplaceUnavailable):
                    raise error
            except MarketplaceUnavailable as exc:  # ML, the network or the token refresh
                error = exc
            log.warning("%s: %s (attempt %d of %d)", what, error, attempt, self._max_attempts)
            if attempt >= self._max_attempts:
                raise error
            delay = self._delay(attempt, error.retry_after)
            if delay is None:
                raise error
            self.retries += 1
            self._sleep(delay)

    def _send(self, method: str, path: str, what: str, token: str, *,
              params: Mapping[str, Any] | None, json: Any,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        started = time.monotonic()
        try:
            with self._limiter.slot():  # the slot counts from the answer (see the limiter)
                response = self._client.request(
                    method, path, params=params, json=json, timeout=self._timeout,
                    headers={"Accept": "application/json", **(headers or {}),
                             "Authorization": f"Bearer {token}"})
        except httpx.TransportError as exc:
            raise transport_error(exc, what) from exc
        log.debug("%s -> %d in %.0f ms", what, response.status_code,
                  (time.monotonic() - started) * 1000)
        return response

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Full-jitter exponential backoff; ML's Retry-After when given (None: too long)."""
        if retry_after is not None:
            return retry_after if retry_after <= self._backoff_cap else None
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self._jitter())
