"""How the module reaches the connector: over HTTP (``/erp/*``, CONTRACT §5) or in the same
Python process (``erp_bridge.ErpBridge``, CONTRACT §6). Both clients offer the same calls
(stock, prices, accounting, the event feed, shipment labels, answers to questions) and raise
:class:`ConnectorError` with a one-line reason and, when the connector answered, its HTTP
status. Nothing here imports Tryton."""

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
    """The connector refused the call or could not be reached. ``status``: the connector's
    HTTP answer (400, 404, 409, 503...), None when it could not be reached; ``message``: its
    own words, fit to show a user."""

    def __init__(self, text: str, status: int | None = None, message: str = "") -> None:
        super().__init__(text)
        self.status = status
        self.message = message or text


class Label:
    """A label file as the connector answers it."""

    def __init__(self, content: bytes, content_type: str, filename: str) -> None:
        self.content = content
        self.content_type = content_type
        self.filename = filename


class Client(Protocol):
    def stock_changed(self, updates: list[dict[str, Any]]) -> None: ...

    def price_changed(self, updates: list[dict[str, Any]]) -> None: ...

    def order_accounted(self, order_id: str, as_of: str) -> None: ...

    def events(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int]: ...

    def shipment_labels(self, shipment_ids: list[str], label_format: str) -> Label: ...

    def answer_question(self, question_id: str, text: str) -> dict[str, Any]: ...


class HttpClient:
    """``/erp/*`` with the bearer token; retries a refused connection or a 5xx twice."""

    def __init__(self, url: str, token: str) -> None:
        if not url or not token:
            raise ConnectorError("the account needs the connector's URL and its ERP token")
        self.url = url.rstrip("/")
        self.token = token

    def _call(self, method: str, path: str, body: Any = None, retry: bool = True) -> Any:
        text, _headers = self._request(method, path, body, retry)
        return json.loads(text) if text else None

    def _request(self, method: str, path: str, body: Any = None,
                 retry: bool = True) -> tuple[bytes, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                     "Content-Type": "application/json"})
        delays = (*RETRY_DELAYS, None) if retry else (None,)
        for attempt, delay in enumerate(delays):
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                    return answer.read(), answer.headers
            except urllib.error.HTTPError as exc:
                reason = _error_text(exc)
                if exc.code < 500 or delay is None:
                    raise ConnectorError(f"{method} {path}: {exc.code} {reason}",
                                         status=exc.code, message=reason) from None
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

    def shipment_labels(self, shipment_ids: list[str], label_format: str) -> Label:
        query = urllib.parse.urlencode({"ids": ",".join(shipment_ids), "format": label_format})
        content, headers = self._request("GET", f"/erp/shipments/labels?{query}")
        filename = f"labels.{'pdf' if label_format == 'pdf' else 'zpl'}"
        disposition = headers.get("Content-Disposition") or ""
        if 'filename="' in disposition:
            filename = disposition.split('filename="', 1)[1].split('"', 1)[0] or filename
        return Label(content, headers.get_content_type(), filename)

    def answer_question(self, question_id: str, text: str) -> dict[str, Any]:
        # Not retried: a second answer after a lost first one would only meet ML's 409.
        answer: dict[str, Any] = self._call(
            "POST", f"/erp/questions/{urllib.parse.quote(question_id)}/answer",
            {"text": text}, retry=False)
        return answer


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
            raise ConnectorError(f"{what}: {type(exc).__name__}: {exc}",
                                 status=_bridge_status(exc), message=str(exc)) from exc

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

    def shipment_labels(self, shipment_ids: list[str], label_format: str) -> Label:
        found = self._guard("shipment_labels", lambda: self._bridge().shipment_labels(
            shipment_ids, label_format))
        return Label(found.content, found.content_type.split(";")[0], found.filename)

    def answer_question(self, question_id: str, text: str) -> dict[str, Any]:
        question, events = self._guard("answer_question", lambda: self._bridge()
                                       .answer_question(question_id, text))
        return {"question_id": question.id, "status": question.status,
                "events": [e.value for e in events]}


# The HTTP status the connector's routes give each error of the bridge (webhook_app).
BRIDGE_STATUS = {"LabelsNotPrintable": 409, "MarketplaceRejected": 409, "NotAnnounced": 404,
                 "MarketplaceNotFound": 404, "InvalidInput": 400,
                 "MarketplaceUnavailable": 503, "AuthRevoked": 503}


def _bridge_status(exc: Exception) -> int | None:
    for kind in type(exc).__mro__:
        if kind.__name__ in BRIDGE_STATUS:
            return BRIDGE_STATUS[kind.__name__]
    return None


def event_dict(event: Any) -> dict[str, Any]:
    """An event of the bridge's feed in the shape ``GET /erp/events`` answers: the
    connector's own JSON, for order, ``order.shipping`` and ``question.*`` events alike."""
    from erp_bridge.payloads import event_json  # noqa: PLC0415 - in-process mode only

    return event_json(event)


def client_for(mode: str, url: str | None, token: str | None) -> Client:
    if mode == "in_process":
        return InProcessClient()
    return HttpClient(url or "", token or "")
