"""``/erp/shipments/labels`` and ``/erp/questions/<id>/answer`` (CONTRACT §5): the after-sale
routes over :class:`erp_bridge.ErpBridge`, behind the same bearer token as ``/erp/*``.

Both wait for ML. Their answers: 400 a bad request (the field named); 404 a shipment or
question the connector never announced, or that ML does not have; 409 ML refused (a label
not printable, each such shipment named in ``shipments``; a question already answered,
under review, banned or deleted); 503 ML unreachable or the account needing reconnection
(worth retrying later).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request

from connector_core.domain.errors import (
    AuthRevoked,
    InvalidInput,
    MarketplaceNotFound,
    MarketplaceRejected,
    MarketplaceUnavailable,
)
from connector_core.ports.after_sale import LabelsNotPrintable, NotAnnounced
from webhook_app.erp import _json_body, _services, authorised
from webhook_app.errors import error

bp = Blueprint("erp_after_sale", __name__, url_prefix="/erp")
Handler = Callable[..., tuple[Response, int] | Response]
MAX_IDS_TEXT = 20_000


def ml_answers(view: Handler) -> Handler:
    """ML's and the connector's refusals as the 4xx/503 above (inside ``authorised``)."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[Response, int] | Response:
        try:
            return view(*args, **kwargs)
        except LabelsNotPrintable as exc:
            response = jsonify({"error": "not_printable", "message": str(exc), "shipments": [
                {"id": r.shipment_id, "status": r.status, "substatus": r.substatus,
                 "cause": r.cause, "message": r.message, "retry": r.retry}
                for r in exc.refusals]})
            return response, 409
        except NotAnnounced as exc:
            return error(404, "not_found", str(exc))
        except MarketplaceNotFound as exc:
            return error(404, "not_found", f"ML does not have it: {exc}")
        except MarketplaceRejected as exc:
            return error(409, "refused_by_ml", str(exc))
        except (MarketplaceUnavailable, AuthRevoked) as exc:
            return error(503, "ml_unavailable", f"{exc}; try again later")
    return wrapper


@bp.get("/shipments/labels")
@authorised
@ml_answers
def labels() -> Response:
    raw = ",".join(request.args.getlist("ids"))
    if len(raw) > MAX_IDS_TEXT:
        raise InvalidInput(f"ids: longer than {MAX_IDS_TEXT} characters")
    wanted = [part.strip() for part in raw.split(",") if part.strip()]
    label_format = request.args.get("format", "pdf")
    found = _services().bridge.shipment_labels(wanted, label_format)
    response = Response(found.content, mimetype=found.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response


@bp.post("/questions/<question_id>/answer")
@authorised
@ml_answers
def answer(question_id: str) -> tuple[Response, int]:
    body = _json_body()
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object {\"text\": ...}")
    extra = sorted(set(body) - {"text"})
    if extra:
        raise InvalidInput(f"unknown field(s): {', '.join(extra)}")
    text: Any = body.get("text")  # checked by the hook
    question, events = _services().bridge.answer_question(question_id, text)
    return jsonify({"question_id": question.id, "status": question.status,
                    "events": [e.value for e in events]}), 200
