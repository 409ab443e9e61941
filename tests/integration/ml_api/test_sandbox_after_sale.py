"""The sandbox emulates what follows a sale (ml_api.md §4, §7): shipments in both formats and
their statuses, labels (a real PDF, zipped ZPL, the 50-id limit), packs, and questions with
their answers and moderation; each control posts ML's notification."""

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ml_sandbox import DEMO_SEED, RunningSandbox
from tests.integration.ml_api.conftest import Callback, wait_until
from tests.ml_support import SELLER_ID

pytestmark = pytest.mark.integration

TOKENS = {t["user_id"]: t["access_token"] for t in DEMO_SEED["tokens"]}
OTHER = {"Authorization": f"Bearer {TOKENS[987654321]}"}  # the demo's other seller


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    sandbox.state.seed(DEMO_SEED)
    with httpx.Client(base_url=sandbox.url,
                      headers={"Authorization": f"Bearer {TOKENS[SELLER_ID]}"}) as client:
        yield client


NEW = {"x-format-new": "true"}


def sell(api: httpx.Client, **spec: Any) -> dict[str, Any]:
    answer = api.post("/_sandbox/orders", json={"item_id": "MLA1000000001", "status": "paid",
                                                **spec})
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["order"])


def move(api: httpx.Client, shipment_id: int, status: str, **extra: Any) -> httpx.Response:
    return api.post(f"/_sandbox/shipments/{shipment_id}/status",
                    json={"status": status, **extra})


def check_pdf(data: bytes, pages: int) -> None:
    """A structurally valid PDF: header, every xref offset pointing at its object,
    ``startxref`` at the table, the trailer's size, ``pages`` pages, ``%%EOF``."""
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    trailer = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    assert trailer is not None
    start = int(trailer.group(1))
    assert data[start:start + 4] == b"xref"
    header = re.match(rb"xref\n0 (\d+)\n", data[start:])
    assert header is not None
    count = int(header.group(1))
    table = data[start + header.end():].split(b"trailer")[0]
    entries = [table[n * 20:(n + 1) * 20] for n in range(count)]
    assert entries[0] == b"0000000000 65535 f \n"
    for number, entry in enumerate(entries[1:], 1):
        offset = int(entry[:10])
        assert entry.endswith(b" 00000 n \n")
        assert data[offset:].startswith(b"%d 0 obj" % number), number
    assert re.search(rb"/Size %d\b" % count, data)
    assert re.search(rb"/Count %d\b" % pages, data)
    assert len(re.findall(rb"/Type /Page\b", data)) == pages
    for length, body in re.findall(rb"/Length (\d+) >>\nstream\n(.*?)\nendstream", data,
                                   re.DOTALL):
        assert int(length) == len(body)


class TestShipments:
    def test_an_order_ships_through_its_states(self, api: httpx.Client,
                                               callback: Callback) -> None:
        order = sell(api, status="confirmed")
        sid = order["shipping"]["id"]
        assert api.get(f"/shipments/{sid}", headers=NEW).json()["status"] == "pending"
        api.post(f"/_sandbox/orders/{order['id']}/pay")
        shipment = api.get(f"/shipments/{sid}", headers=NEW).json()
        assert (shipment["status"], shipment["order_id"]) == ("handling", order["id"])
        assert shipment["tracking_number"] is None
        assert shipment["logistic"] == {"mode": "me2", "type": "drop_off",
                                        "direction": "forward"}
        api.post("/_sandbox/config", json={"callback_url": callback.url})
        ready = move(api, sid, "ready_to_ship", duplicates=1).json()["shipment"]
        assert (ready["status"], ready["substatus"]) == ("ready_to_ship", "ready_to_print")
        assert ready["tracking_number"]
        assert [(n["topic"], n["resource"]) for n in callback.wait_for(2)] == [
            ("shipments", f"/shipments/{sid}")] * 2
        assert callback.received[0]["user_id"] == SELLER_ID
        destination = ready["destination"]
        assert destination["receiver_name"] and destination["shipping_address"]["zip_code"]
        for status in ("shipped", "delivered"):
            assert move(api, sid, status).json()["shipment"]["status"] == status
        assert move(api, sid, "shipped").status_code == 400  # never backwards
        assert move(api, sid, "teleported").status_code == 400
        legacy = api.get(f"/shipments/{sid}").json()  # without x-format-new
        assert legacy["logistic_type"] == "drop_off" and "receiver_address" in legacy
        assert legacy["status_history"]["date_delivered"] and "logistic" not in legacy
        assert api.get(f"/shipments/{sid}", headers=OTHER).status_code == 403
        assert api.get("/shipments/1").status_code == 404

    def test_cancelled_orders_cancel_their_shipment(self, api: httpx.Client) -> None:
        order = sell(api)
        api.post(f"/_sandbox/orders/{order['id']}/cancel")
        sid = order["shipping"]["id"]
        assert api.get(f"/shipments/{sid}", headers=NEW).json()["status"] == "cancelled"
        assert move(api, sid, "ready_to_ship").status_code == 400

    @pytest.mark.parametrize("logistic", ["drop_off", "xd_drop_off", "cross_docking",
                                          "self_service", "fulfillment"])
    def test_logistic_types(self, api: httpx.Client, logistic: str) -> None:
        order = sell(api, logistic_type=logistic, receiver={"name": "Ana Gómez", "address": {
            "zip_code": "5000", "city": "Córdoba"}})
        shipment = api.get(f"/shipments/{order['shipping']['id']}", headers=NEW).json()
        assert shipment["logistic"]["type"] == logistic
        assert shipment["destination"]["receiver_name"] == "Ana Gómez"
        assert shipment["destination"]["shipping_address"]["city"]["name"] == "Córdoba"
        assert shipment["origin"]["type"] == (
            "fulfillment" if logistic == "fulfillment" else "selling_address")

    def test_unknown_logistic_type_is_refused(self, api: httpx.Client) -> None:
        answer = api.post("/_sandbox/orders", json={"item_id": "MLA1000000001",
                                                    "logistic_type": "pigeon"})
        assert answer.status_code == 400
        assert api.get("/items/MLA1000000001").json()["available_quantity"] == 25


class TestLabels:
    def ready(self, api: httpx.Client, **spec: Any) -> int:
        sid = int(sell(api, **spec)["shipping"]["id"])
        assert move(api, sid, "ready_to_ship").status_code == 200
        return sid

    def test_pdf_labels_are_real_pdfs_and_mark_the_shipment_printed(
            self, api: httpx.Client) -> None:
        first, second = self.ready(api), self.ready(api, item_id="MLA1000000004")
        answer = api.get("/shipment_labels", params={
            "shipment_ids": f"{first},{second}", "response_type": "pdf"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        check_pdf(answer.content, pages=2)
        assert len(answer.content) < 4000
        assert b"Envio %d" % first in answer.content
        shipment = api.get(f"/shipments/{first}", headers=NEW).json()
        assert (shipment["status"], shipment["substatus"]) == ("ready_to_ship", "printed")
        again = api.get("/shipment_labels", params={"shipment_ids": first})  # reprint, pdf
        check_pdf(again.content, pages=1)

    def test_zpl_labels_come_zipped(self, api: httpx.Client) -> None:
        sid = self.ready(api)
        answer = api.get("/shipment_labels", params={"shipment_ids": sid,
                                                     "response_type": "zpl2"})
        assert answer.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            (name,) = archive.namelist()
            zpl = archive.read(name).decode()
        assert name.endswith(".txt")
        tracking = api.get(f"/shipments/{sid}", headers=NEW).json()["tracking_number"]
        assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
        assert f"^FD{tracking}^FS" in zpl and f"Envio {sid}" in zpl

    def test_shipments_that_cannot_be_printed_are_named(self, api: httpx.Client) -> None:
        ready = self.ready(api)
        pending = int(sell(api, status="confirmed")["shipping"]["id"])
        full = self.ready(api, logistic_type="fulfillment")
        answer = api.get("/shipment_labels", params={
            "shipment_ids": f"{ready},{pending},{full}", "response_type": "pdf"})
        assert answer.status_code == 400
        body = answer.json()
        assert (body["error"], body["status"]) == ("not_printable_status", 400)
        assert [(f["shipment_id"], f["cause"], f["retry"]) for f in body["failed_shipments"]
                ] == [(pending, "NOT_PRINTABLE_STATUS", True),
                      (full, "INVALID_SHIPMENT_FF_PUBLIC", False)]
        assert str(pending) in body["message"] and "status is pending" in body["message"]
        assert api.get(f"/shipments/{ready}", headers=NEW).json()[
            "substatus"] == "ready_to_print"  # all or nothing: not printed
        other = api.get("/shipment_labels", params={"shipment_ids": ready},
                        headers=OTHER).json()
        assert other["failed_shipments"][0]["cause"] == "INVALID_SHIPMENT_CALLER"

    @pytest.mark.parametrize(("params", "fragment"), [
        ({"shipment_ids": ",".join(str(40000000000 + n) for n in range(51))},
         "maximum number of shipment_ids per request is 50"),
        ({}, "shipment_ids is required"),
        ({"shipment_ids": "12,abc"}, "comma-separated list of numbers"),
        ({"shipment_ids": "12", "response_type": "png"}, "pdf or zpl2"),
    ])
    def test_bad_label_requests(self, api: httpx.Client, params: dict[str, str],
                                fragment: str) -> None:
        answer = api.get("/shipment_labels", params=params)
        assert answer.status_code == 400 and fragment in answer.json()["message"]

    def test_fifty_labels_at_once(self, api: httpx.Client) -> None:
        api.post("/_sandbox/seed", json={"items": [{
            "id": "MLA9", "seller_id": SELLER_ID, "available_quantity": 60}]})
        ids = [self.ready(api, item_id="MLA9") for _ in range(50)]
        answer = api.get("/shipment_labels", params={"shipment_ids": ",".join(map(str, ids))})
        assert answer.status_code == 200
        check_pdf(answer.content, pages=50)


class TestPacks:
    def test_a_cart_of_two_orders_shares_a_pack_and_a_shipment(
            self, api: httpx.Client, callback: Callback) -> None:
        api.post("/_sandbox/config", json={"callback_url": callback.url})
        made = api.post("/_sandbox/packs", json={"buyer_id": 555, "status": "paid", "orders": [
            {"item_id": "MLA1000000001", "quantity": 2},
            {"item_id": "MLA1000000003", "variation_id": 180000000102}]}).json()
        pack, orders = made["pack"], made["orders"]
        assert {o["pack_id"] for o in orders} == {pack["id"]}
        assert all("pack_order" in o["tags"] for o in orders)
        assert {o["shipping"]["id"] for o in orders} == {pack["shipment"]["id"]}
        assert api.get(f"/packs/{pack['id']}").json() == {
            "id": pack["id"], "status": "released", "status_detail": None,
            "date_created": pack["date_created"], "last_updated": pack["last_updated"],
            "family_pack_id": None, "buyer": {"id": 555},
            "shipment": {"id": orders[0]["shipping"]["id"]},
            "orders": [{"id": orders[0]["id"]}, {"id": orders[1]["id"]}]}
        assert [n["resource"] for n in callback.wait_for(2)] == [
            f"/orders/{o['id']}" for o in orders]
        shipment = api.get(f"/shipments/{pack['shipment']['id']}", headers=NEW).json()
        assert shipment["declared_value"] == sum(o["total_amount"] for o in orders)
        assert api.get(f"/packs/{pack['id']}", headers=OTHER).status_code == 403
        assert api.get("/packs/1").status_code == 404

    def test_a_cart_that_cannot_be_made_leaves_nothing(self, api: httpx.Client) -> None:
        before = api.get("/_sandbox/state").json()
        answer = api.post("/_sandbox/packs", json={"orders": [
            {"item_id": "MLA1000000001", "quantity": 2},
            {"item_id": "MLA1000000004", "quantity": 41}]})
        assert answer.status_code == 400
        after = api.get("/_sandbox/state").json()
        assert (after["orders"], after["shipments"], after["packs"]) == ([], [], [])
        assert after["items"]["MLA1000000001"] == before["items"]["MLA1000000001"]
        assert api.post("/_sandbox/packs", json={"orders": [
            {"item_id": "MLA1000000001"}]}).status_code == 400

    def test_a_failed_cart_of_up_items_leaves_the_up_and_its_items_alone(
            self, api: httpx.Client) -> None:
        api.post("/_sandbox/config", json={"replication_delay": 0})
        before = api.get("/user-products/MLAU2000000001/stock", headers=OTHER)
        answer = api.post("/_sandbox/packs", json={"orders": [
            {"item_id": "MLA2000000001", "quantity": 2},
            {"item_id": "MLA2000000003", "quantity": 99}]})
        assert answer.status_code == 400
        after = api.get("/user-products/MLAU2000000001/stock", headers=OTHER)
        assert (after.json(), after.headers["x-version"]) == (
            before.json(), before.headers["x-version"])
        items = api.get("/_sandbox/state").json()["items"]
        assert [items[i]["available_quantity"] for i in ("MLA2000000001", "MLA2000000002")
                ] == [17, 17]


class TestQuestions:
    def ask(self, api: httpx.Client, **spec: Any) -> dict[str, Any]:
        answer = api.post("/_sandbox/questions", json={
            "item_id": "MLA1000000001", "text": "¿Es apta para microondas?", **spec})
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["question"])

    def test_a_question_is_notified_read_searched_and_answered(
            self, api: httpx.Client, callback: Callback) -> None:
        api.post("/_sandbox/config", json={"callback_url": callback.url})
        question = self.ask(api, duplicates=1, buyer_id=4242)
        assert [(n["topic"], n["resource"]) for n in callback.wait_for(2)] == [
            ("questions", f"/questions/{question['id']}")] * 2
        read = api.get(f"/questions/{question['id']}", params={"api_version": 4}).json()
        assert (read["status"], read["answer"], read["from"]) == (
            "UNANSWERED", None, {"id": 4242})
        by_item = api.get("/questions/search", params={"item": "MLA1000000001"}).json()
        by_seller = api.get("/questions/search", params={"seller_id": SELLER_ID,
                                                         "status": "UNANSWERED"}).json()
        assert [q["id"] for q in by_item["questions"]] == [question["id"]]
        assert by_seller["total"] == 1 and by_seller["filters"]["seller"] == SELLER_ID
        answered = api.post("/answers", json={"question_id": question["id"],
                                              "text": "Sí, es apta."})
        assert answered.status_code == 200, answered.text
        body = answered.json()
        assert body["status"] == "ANSWERED"
        assert (body["answer"]["text"], body["answer"]["status"]) == ("Sí, es apta.", "ACTIVE")
        twice = api.post("/answers", json={"question_id": question["id"], "text": "Otra"})
        assert twice.status_code == 400 and "already answered" in twice.json()["message"]
        assert api.get("/questions/search", params={
            "seller_id": SELLER_ID, "status": "UNANSWERED"}).json()["total"] == 0

    @pytest.mark.parametrize(("body", "status"), [
        ({"question_id": 1, "text": "x"}, 404),
        ({"text": "x"}, 400),
        ({"question_id": None, "text": "x"}, 400),
        ({"question_id": "QID-AS-TEXT", "text": "x"}, 400),
        ({"question_id": "QID", "text": ""}, 400),
        ({"question_id": "QID", "text": "a" * 2001}, 400),
        ({"question_id": "QID"}, 400),
    ])
    def test_bad_answers(self, api: httpx.Client, body: dict[str, Any], status: int) -> None:
        question = self.ask(api)
        if body.get("question_id") == "QID":
            body = {**body, "question_id": question["id"]}
        elif body.get("question_id") == "QID-AS-TEXT":  # ML's ids are numbers
            body = {**body, "question_id": str(question["id"])}
        answer = api.post("/answers", json=body)
        assert answer.status_code == status
        assert set(answer.json()) >= {"message", "error", "status", "cause"}
        assert api.get(f"/questions/{question['id']}").json()["status"] == "UNANSWERED"

    def test_only_the_seller_answers(self, api: httpx.Client) -> None:
        question = self.ask(api)
        answer = api.post("/answers", json={"question_id": question["id"], "text": "No"},
                          headers=OTHER)
        assert answer.status_code == 403
        assert api.get("/questions/search", params={"seller_id": SELLER_ID},
                       headers=OTHER).status_code == 403
        assert api.get("/questions/search").status_code == 400

    def test_moderation_and_deletion(self, api: httpx.Client, callback: Callback) -> None:
        banned, review, deleted = self.ask(api), self.ask(api), self.ask(api)
        api.post("/_sandbox/config", json={"callback_url": callback.url})
        result = api.post(f"/_sandbox/questions/{banned['id']}/ban").json()
        assert (result["question"]["status"], result["question"]["text"]) == ("BANNED", "")
        refused = api.post("/answers", json={"question_id": banned["id"], "text": "x"})
        assert refused.status_code == 400 and "BANNED" in refused.json()["message"]
        api.post(f"/_sandbox/questions/{review['id']}/review")
        assert api.post("/answers", json={"question_id": review["id"],
                                          "text": "x"}).status_code == 400
        api.post(f"/_sandbox/questions/{review['id']}/approve")
        assert api.post("/answers", json={"question_id": review["id"],
                                          "text": "x"}).status_code == 200
        api.post(f"/_sandbox/questions/{deleted['id']}/delete", json={"drop": True})
        assert api.get(f"/questions/{deleted['id']}").json()["status"] == "DELETED"
        assert api.get(f"/questions/{deleted['id']}",
                       headers=OTHER).status_code == 404
        assert [n["resource"] for n in callback.wait_for(3)] == [
            f"/questions/{q['id']}" for q in (banned, review, review)]
        missed = api.get("/missed_feeds", params={
            "app_id": DEMO_SEED["app"]["application_id"]}).json()["messages"]
        assert [m["resource"] for m in missed] == [f"/questions/{deleted['id']}"]
        assert api.post(f"/_sandbox/questions/{banned['id']}/approve").status_code == 400
        assert api.post(f"/_sandbox/questions/{banned['id']}/explode").status_code == 400
        mine = self.ask(api)
        gone = api.delete(f"/questions/{mine['id']}").json()
        assert (gone["status"], gone["deleted_from_listing"]) == ("DELETED", True)
        statuses = api.get("/questions/search", params={
            "seller_id": SELLER_ID, "sort_fields": "date_created",
            "sort_types": "DESC"}).json()["questions"]
        assert {q["status"] for q in statuses} == {"BANNED", "ANSWERED", "DELETED"}

    def test_answers_notify_when_every_change_is_notified(
            self, api: httpx.Client, callback: Callback) -> None:
        question = self.ask(api)
        api.post("/_sandbox/config", json={"callback_url": callback.url,
                                           "notify_topics": ["questions", "shipments"]})
        api.post("/answers", json={"question_id": question["id"], "text": "Sí"})
        assert callback.wait_for(1)[0]["resource"] == f"/questions/{question['id']}"
        sid = int(sell(api, notify=False)["shipping"]["id"])  # a new shipment, then its
        move(api, sid, "ready_to_ship", notify=False)           # label printed
        api.get("/shipment_labels", params={"shipment_ids": sid})
        wait_until(lambda: len(callback.received) == 3, 5, "the shipment notifications")
        assert [n["resource"] for n in callback.received[1:]] == [f"/shipments/{sid}"] * 2
