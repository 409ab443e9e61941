"""``HttpxAfterSaleGateway``: the core's AfterSaleGateway (shipments, packs, labels,
questions) on ML's REST API, over the same transport as the items and orders
(:mod:`adapters.ml_api.transport`: rate limit, token, retries)."""

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx

from adapters.ml_api.after_sale_wire import (
    MlQuestionSearch,
    parse_pack_order_ids,
    parse_question,
    parse_shipment,
    parse_status_history,
)
from adapters.ml_api.converter import MlPayloadError, structure
from adapters.ml_api.errors import error_from_response
from adapters.ml_api.transport import MlTransport, response_json
from connector_core.domain import ids
from connector_core.domain.accounts import Account
from connector_core.domain.errors import MarketplaceRejected, MarketplaceUnavailable
from connector_core.domain.questions import Question
from connector_core.domain.shipments import Shipment
from connector_core.ports.after_sale import (
    LABEL_FORMATS,
    LABELS_PER_CALL,
    LabelRefusal,
    LabelsNotPrintable,
)

T = TypeVar("T")
QUESTIONS_PAGE = 50


def _numeric_path(kind: str, value: int) -> str:
    if not ids.is_numeric_id(value):
        raise MarketplaceRejected(f"{kind} id {value!r} refused by the connector: not an ML "
                                  f"id", status=400, error="connector.invalid_id")
    return f"/{kind}/{int(value)}"


def _parse(parse: Callable[[Any], T], data: Any, what: str) -> T:
    try:
        return parse(data)
    except MlPayloadError as exc:
        raise MarketplaceUnavailable(f"{what}: unusable answer ({exc})") from exc


def _refusals(body: Any) -> list[LabelRefusal]:
    """ML's ``failed_shipments`` of a refused ``/shipment_labels`` call."""
    entries = body.get("failed_shipments") if isinstance(body, dict) else None
    refusals = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not ids.is_numeric_id(entry.get("shipment_id")):
            continue
        refusals.append(LabelRefusal(
            shipment_id=int(entry["shipment_id"]), status=entry.get("status"),
            substatus=entry.get("substatus"), cause=str(entry.get("cause") or ""),
            message=str(entry.get("message") or "not printable"),
            retry=bool(entry.get("retry"))))
    return refusals


class HttpxAfterSaleGateway:
    def __init__(self, transport: MlTransport) -> None:
        self._http = transport

    def get_shipment(self, account: Account, shipment_id: int) -> Shipment:
        path = _numeric_path("shipments", shipment_id)
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what,
                                   headers={"x-format-new": "true"})
        return _parse(lambda d: parse_shipment(d, account.name),
                      response_json(response, what), what)

    def status_history(self, account: Account, shipment_id: int) -> dict[str, datetime]:
        path = _numeric_path("shipments", shipment_id)
        what = f"GET {path} (legacy shape, for its status_history)"
        response = self._http.call(account.name, "GET", path, what)
        return _parse(parse_status_history, response_json(response, what), what)

    def pack_order_ids(self, account: Account, pack_id: int) -> list[int]:
        path = _numeric_path("packs", pack_id)
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what)
        return _parse(parse_pack_order_ids, response_json(response, what), what)

    def shipment_labels(self, account: Account, shipment_ids: Sequence[int],
                        label_format: str) -> bytes:
        if label_format not in LABEL_FORMATS or not 0 < len(shipment_ids) <= LABELS_PER_CALL \
                or not all(ids.is_numeric_id(i) for i in shipment_ids):
            raise ValueError(f"one call takes 1..{LABELS_PER_CALL} shipment ids and a format "
                             f"in {LABEL_FORMATS}")
        what = f"GET /shipment_labels ({len(shipment_ids)} shipments, {label_format})"
        response = self._http.call(
            account.name, "GET", "/shipment_labels", what,
            params={"shipment_ids": ",".join(str(int(i)) for i in shipment_ids),
                    "response_type": label_format},
            headers={"Accept": "application/pdf, application/zip, application/json"},
            ok=(200, 400))
        if response.status_code == 200:
            return response.content
        body = _json_or_none(response)
        refusals = _refusals(body)
        if refusals:
            raise LabelsNotPrintable(refusals)
        raise error_from_response(response, what)

    def get_question(self, account: Account, question_id: int) -> Question:
        path = _numeric_path("questions", question_id)
        what = f"GET {path}"
        response = self._http.call(account.name, "GET", path, what,
                                   params={"api_version": 4})
        return _parse(lambda d: parse_question(d, account.name),
                      response_json(response, what), what)

    def answer_question(self, account: Account, question_id: int, text: str) -> Question:
        if not ids.is_numeric_id(question_id):
            raise ValueError(f"not a question id: {question_id!r}")
        what = f"POST /answers (question {question_id})"
        response = self._http.call(account.name, "POST", "/answers", what,
                                   json={"question_id": int(question_id), "text": text})
        return _parse(lambda d: parse_question(d, account.name),
                      response_json(response, what), what)

    def unanswered_questions(self, account: Account) -> Iterator[Question]:
        offset = 0
        while True:
            what = f"GET /questions/search (seller {account.user_id}, offset {offset})"
            response = self._http.call(
                account.name, "GET", "/questions/search", what,
                params={"seller_id": account.user_id, "status": "UNANSWERED",
                        "api_version": 4, "sort_fields": "date_created",
                        "sort_types": "ASC", "offset": offset, "limit": QUESTIONS_PAGE})
            page = _parse(lambda d: structure(d, MlQuestionSearch, "questions search"),
                          response_json(response, what), what)
            for raw in page.questions:
                yield _parse(lambda d: parse_question(d, account.name), raw, what)
            offset += len(page.questions)
            if not page.questions or offset >= page.total:
                return


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
