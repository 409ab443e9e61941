"""How the module reaches the connector: over HTTP (``/erp/*``, CONTRACT §5) or in the same
Python process (``erp_bridge.ErpBridge``, CONTRACT §6). Both clients offer the same four
calls and raise :class:`ConnectorError` with a one-line reason when the connector refuses or
cannot be reached. Nothing here imports Tryton."""

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
RETRY_DELAYS = (0.5, 2.0)  # then the call fails; the caller's next run sends again


class ConnectorError(Exception):
    """The connector refused the call or could not be reached."""


class Client(Protocol):
    def stock_changed(self, updates: list[dict[str, Any]]) -> None: ...

    def price_changed(self, updates: list[dict[str, Any]]) -> None: ...

    def order_accounted(self, order_id: str, as_of: str) -> None: ...

    def events(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int]: ...


class HttpClient:
    """``/erp/*`` with the bearer token; retries a refused connection or a 5xx twice."""

    def __init__(self, url: str, token: str) -> None:
        if not url or not token:
            raise ConnectorError("the account needs the connector's URL and its ERP token")
        self.url = url.rstrip("/")
        self.token = token

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                     "Content-Type": "application/json"})
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                    text = answer.read()
                    return json.loads(text) if text else None
            except urllib.error.HTTPError as exc:
                reason = _error_text(exc)
                if exc.code < 500 or delay is None:
                    raise ConnectorError(f"{method} {path}: {exc.code} {reason}") from None
                log.warning("connector answered %s %s (attempt %d), retrying in %.1fs",
                            exc.code, reason, attempt + 1, delay)
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if delay is None:
                    raise ConnectorError(f"{method} {path}: connector unreachable at "
                                         f"{self.url}: {reason}") from None
                log.warning("connector unreachable at %s (%s), retrying in %.1fs",
                            self.url, reason, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def stock_changed(self, updates: list[dict[str, Any]]) -> None:
        self._call("POST", "/erp/stock", {"updates": updates})

    def price_changed(self, updates: list[dict[str, Any]]) -> None:
        self._call("POST", "/erp/prices", {"updates": updates})

    def order_accounted(self, order_id: str, as_of: str) -> None:
        self._call("POST", f"/erp/orders/{urllib.parse.quote(order_id)}/accounted",
                   {"as_of": as_of})

    def events(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        page = self._call("GET", f"/erp/events?after={int(after)}&limit={int(limit)}")
        return list(page["events"]), int(page["next"])


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        return exc.reason or ""
    return str(body.get("message") or body.get("error") or exc.reason or "")


_bridge: Any = None


def use_bridge(bridge: Any) -> None:
    """Hand the module a ready ``erp_bridge.ErpBridge`` (``None``: build one on first use)."""
    global _bridge  # noqa: PLW0603 - one bridge per process, like the connector's own
    _bridge = bridge


def _in_process_bridge() -> Any:
    global _bridge  # noqa: PLW0603
    if _bridge is None:
        try:
            from config.bootstrap import build  # noqa: PLC0415 - the connector is optional
        except ImportError:
            raise ConnectorError("in-process mode needs the connector installed in Tryton's "
                                 "Python (pip install meli-erp-connector)") from None
        _bridge = build().bridge
    return _bridge


class InProcessClient:
    """The connector's ``erp_bridge`` in this process, built from its environment
    (``DATABASE_URL``, ``CONNECTOR_CONFIG``, ...) on first use."""

    def _bridge(self) -> Any:
        return _in_process_bridge()

    def _guard(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ConnectorError:
            raise
        except Exception as exc:  # the bridge's InvalidInput and storage errors
            raise ConnectorError(f"{what}: {type(exc).__name__}: {exc}") from exc

    def stock_changed(self, updates: list[dict[str, Any]]) -> None:
        self._guard("stock_changed", lambda: self._bridge().stock_changed(updates=updates))

    def price_changed(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            self._guard("price_changed", lambda u=update: self._bridge().price_changed(
                u["sku"], cost=u.get("cost"), price=u.get("price"), as_of=u.get("as_of")))

    def order_accounted(self, order_id: str, as_of: str) -> None:
        self._guard("order_accounted",
                    lambda: self._bridge().order_accounted(order_id, as_of=as_of))

    def events(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        page = self._guard("events", lambda: self._bridge().events(after=after, limit=limit))
        return [event_dict(e) for e in page.events], int(page.next)


def event_dict(event: Any) -> dict[str, Any]:
    """An event of the bridge's feed in the shape ``GET /erp/events`` answers: the
    connector's own JSON, for order, ``order.shipping`` and ``question.*`` events alike."""
    from erp_bridge.payloads import event_json  # noqa: PLC0415 - in-process mode only

    return event_json(event)


def client_for(mode: str, url: str | None, token: str | None) -> Client:
    if mode == "in_process":
        return InProcessClient()
    return HttpClient(url or "", token or "")
