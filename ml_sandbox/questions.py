"""Buyers' questions and the seller's answers (ml_api.md §7, ``api_version=4`` shape).

Statuses: ``UNANSWERED`` (answerable), ``ANSWERED``, ``UNDER_REVIEW`` (held by moderation),
``BANNED`` (text comes back ``""``), ``CLOSED_UNANSWERED`` (the listing closed first),
``DELETED``, ``DISABLED``. Only an ``UNANSWERED`` question takes an answer.
"""

import copy
from collections.abc import Callable
from typing import Any

from ml_sandbox.catalog import CatalogRules
from ml_sandbox.common import int_arg, is_number, ml_time
from ml_sandbox.errors import bad_request, forbidden, not_found

STATUSES = ("ANSWERED", "BANNED", "CLOSED_UNANSWERED", "DELETED", "DISABLED", "UNANSWERED",
            "UNDER_REVIEW")
MAX_TEXT = 2000
SORTS = {"item_id": "item_id", "from_id": "from", "date_created": "date_created",
         "seller_id": "seller_id"}
# what moderation (the control route) does: action -> (statuses it applies to, new status)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "ban": (("UNANSWERED", "UNDER_REVIEW", "ANSWERED"), "BANNED"),
    "review": (("UNANSWERED",), "UNDER_REVIEW"),
    "approve": (("UNDER_REVIEW",), "UNANSWERED"),
    "close": (("UNANSWERED",), "CLOSED_UNANSWERED"),
    "disable": (("UNANSWERED", "ANSWERED"), "DISABLED"),
    "delete": (STATUSES, "DELETED"),  # the buyer deletes it
}


def question_note(question: dict[str, Any]) -> dict[str, Any]:
    return {"topic": "questions", "resource": f"/questions/{question['id']}",
            "user_id": question["seller_id"]}


class QuestionRules(CatalogRules):
    def ask_question(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A buyer asks on a listing (``/_sandbox/questions``)."""
        with self.lock:
            item = self.items.get(str(spec.get("item_id")))
            if item is None:
                raise not_found(f"Item {spec.get('item_id')} not found")
            status = spec.get("status", "UNANSWERED")
            if status not in ("UNANSWERED", "UNDER_REVIEW"):
                raise bad_request("a new question is UNANSWERED or UNDER_REVIEW")
            text = _text(spec.get("text"))
            question = {
                "id": 13000000000 + self.new_number(), "item_id": item["id"],
                "seller_id": item["seller_id"], "status": status, "text": text,
                "date_created": ml_time(self.now()), "hold": status == "UNDER_REVIEW",
                "deleted_from_listing": False, "suspected_spam": False, "answer": None,
                "from": {"id": int(spec.get("buyer_id", 74425755))}}
            self.questions[question["id"]] = question
            return _view(question)

    def question_view(self, question_id: int, caller: int | None) -> dict[str, Any]:
        with self.lock:
            question = self.questions.get(question_id)
            hidden = question is not None and question["status"] in ("DELETED", "BANNED") \
                and caller != question["seller_id"]
            if question is None or hidden:  # ML: "question not found" to anybody else
                raise not_found("question not found")
            return _view(question)

    def search_questions(self, caller: int | None, args: dict[str, str]) -> dict[str, Any]:
        seller, item = args.get("seller_id"), args.get("item")
        if not seller and not item:
            raise bad_request("seller_id or item is required")
        if seller and (not is_number(seller) or int(seller) != caller):
            raise forbidden()
        offset, limit = int_arg(args, "offset", 0), int_arg(args, "limit", 50)
        if offset < 0 or not 0 < limit <= 50:
            raise bad_request("limit must be between 1 and 50 and offset at least 0")
        statuses = set(filter(None, args.get("status", "").upper().split(",")))
        fields = [f for f in args.get("sort_fields", "date_created").split(",") if f]
        types = [t.upper() for t in args.get("sort_types", "").split(",") if t]
        if any(f not in SORTS for f in fields) or any(t not in ("ASC", "DESC") for t in types):
            raise bad_request("sort_fields are item_id, from_id, date_created, seller_id and "
                              "sort_types ASC or DESC")
        with self.lock:
            found = [q for q in self.questions.values()
                     if (not seller or q["seller_id"] == int(seller))
                     and (not item or q["item_id"] == item)
                     and (not args.get("from") or str(q["from"]["id"]) == args["from"])
                     and (not statuses or q["status"] in statuses)]
            for n in reversed(range(len(fields))):  # stable sorts, last key first
                descending = (types[n] if n < len(types) else "ASC") == "DESC"
                found.sort(key=_sort_key(SORTS[fields[n]]), reverse=descending)
            page = [_view(q) for q in found[offset:offset + limit]]
        filters: dict[str, Any] = {"limit": limit, "offset": offset, "is_admin": "false",
                                   "sorts": fields, "caller": caller}
        filters.update({"seller": int(seller)} if seller else {"item": item})
        return {"total": len(found), "limit": limit, "questions": page, "filters": filters,
                "available_filters": AVAILABLE_FILTERS,
                "available_sorts": list(SORTS)}

    def answer_question(self, caller: int | None,
                        body: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """``POST /answers {question_id, text}``: the answered question, and the ``questions``
        notification when every change is notified."""
        if not isinstance(body, dict):
            raise bad_request("the body must be a JSON object {question_id, text}")
        question_id = body.get("question_id")
        if not isinstance(question_id, int) or isinstance(question_id, bool):
            raise bad_request("question_id must be a number")
        text = _text(body.get("text"))
        with self.lock:
            question = self.questions.get(question_id)
            if question is None:
                raise not_found("question not found")
            if caller != question["seller_id"]:
                raise forbidden()
            if question["status"] == "ANSWERED":
                raise bad_request(f"Question {question_id} is already answered")
            if question["status"] != "UNANSWERED":
                raise bad_request(f"Question {question_id} cannot be answered: its status is "
                                  f"{question['status']}")
            question["status"] = "ANSWERED"
            question["answer"] = {"text": text, "status": "ACTIVE",
                                  "date_created": ml_time(self.now())}
            notes = [question_note(question)] if self.wants("questions") else []
            return _view(question), notes

    def delete_question(self, question_id: int, caller: int | None) -> dict[str, Any]:
        """``DELETE /questions/{id}``: the seller removes a question from the listing."""
        with self.lock:
            question = self.questions.get(question_id)
            if question is None or question["status"] == "DELETED":
                raise not_found("question not found")
            if caller != question["seller_id"]:
                raise forbidden()
            question["status"] = "DELETED"
            question["deleted_from_listing"] = True
            return _view(question)

    def moderate_question(self, question_id: int, action: str) -> dict[str, Any]:
        """ML or the buyer acts on a question (``/_sandbox/questions/{id}/{action}``)."""
        if action not in ACTIONS:
            raise bad_request(f"unknown question action {action!r} "
                              f"({', '.join(ACTIONS)})")
        with self.lock:
            question = self.questions.get(question_id)
            if question is None:
                raise not_found("question not found")
            applies_to, status = ACTIONS[action]
            if question["status"] not in applies_to:
                raise bad_request(f"question {question_id} is {question['status']}: "
                                  f"{action!r} does not apply")
            question["status"] = status
            question["hold"] = status == "UNDER_REVIEW"
            if action == "ban" and question["answer"] is not None:
                question["answer"]["status"] = "BANNED"
            return _view(question)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request("text is required")
    if len(value) > MAX_TEXT:
        raise bad_request(f"text is longer than {MAX_TEXT} characters")
    return value


def _sort_key(key: str) -> Callable[[dict[str, Any]], Any]:
    if key == "from":
        return lambda question: question["from"]["id"]
    return lambda question: question[key]


def _view(question: dict[str, Any]) -> dict[str, Any]:
    view = copy.deepcopy(question)
    if view["status"] == "BANNED":  # ML returns banned text empty
        view["text"] = ""
    if view["answer"] is not None and view["answer"]["status"] == "BANNED":
        view["answer"]["text"] = ""
    return view


AVAILABLE_FILTERS: list[dict[str, Any]] = [
    {"id": "item", "name": "Item", "type": "text"},
    {"id": "from", "name": "From user id", "type": "number"},
    {"id": "totalDivisions", "name": "total divisions", "type": "number"},
    {"id": "division", "name": "Division", "type": "number"},
    {"id": "status", "name": "Status", "type": "text", "values": list(STATUSES)},
]
