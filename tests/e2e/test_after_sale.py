"""After the sale, end to end through the sandbox (issue 22): a sale through its shipping
states with its label, a pack of two orders, questions answered by hand and by a rule, and
duplicate or dropped ``shipments``/``questions`` notifications (no event twice, none lost
after ``reconcile``)."""

import io

import pytest
from pypdf import PdfReader

from tests.e2e.after_sale_world import after_sale_world

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path):
    with after_sale_world(tmp_path) as world:
        yield world


def test_a_sale_goes_through_its_shipping_states_and_its_label_prints(world):
    order = world.order("MLA1", receiver={"name": "Ana Pérez",
                                          "address": {"street_name": "Av. Siempreviva",
                                                      "street_number": "742"}})
    shipment_id = order["shipping"]["id"]
    world.settle()
    types = [(e["type"], e["order_id"] or e["order_ids"][0]) for e in world.events()]
    assert types == [("order.created", order["id"]), ("order.paid", order["id"]),
                     ("order.shipping", order["id"])]  # the order first, then its shipment
    first = world.events("order.shipping")[0]
    assert first["shipment"]["status"] == "handling"
    assert first["shipment"]["logistic_type"] == "drop_off"
    assert first["shipment"]["tracking_number"] is None
    receiver = first["shipment"]["receiver"]
    assert receiver["name"] == "Ana Pérez"
    assert receiver["address"]["street_name"] == "Av. Siempreviva"
    assert receiver["address"]["zip_code"]
    assert first["order_ids"] == [order["id"]] and first["pack_id"] is None

    # not printable yet: ML's refusal, named
    refused = world.labels(shipment_id)
    assert refused.status_code == 409
    assert refused.json()["shipments"][0]["id"] == shipment_id
    assert "handling" in refused.json()["message"]

    world.move(shipment_id, "ready_to_ship")
    world.settle()
    ready = world.events("order.shipping")[-1]["shipment"]
    assert (ready["status"], ready["substatus"]) == ("ready_to_ship", "ready_to_print")
    assert ready["tracking_number"]

    pdf = world.labels(shipment_id)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == 1
    zpl = world.labels(shipment_id, label_format="zpl2")
    assert zpl.status_code == 200 and zpl.text.startswith("^XA")
    assert ready["tracking_number"] in zpl.text
    # printing made it "printed" and ML notified: same status, no second event
    world.wait_inbox("shipments", 3)
    world.settle()
    assert world.shipping(shipment_id) == ["handling", "ready_to_ship"]

    for status in ("shipped", "delivered"):
        world.move(shipment_id, status)
        world.settle()
    assert world.shipping(shipment_id) == ["handling", "ready_to_ship", "shipped", "delivered"]


def test_labels_batch_past_fifty_and_refuse_what_is_not_known(world):
    world.control("config", {"notify_topics": []})  # 51 sales: found by reconcile instead
    shipment_ids = []
    for _ in range(51):
        order = world.order("MLA9", notify=False)
        shipment_ids.append(order["shipping"]["id"])
    for shipment_id in shipment_ids:
        world.move(shipment_id, "ready_to_ship", notify=False)
    world.connector.scheduler.reconcile_now()  # finds the orders (never notified), then ships
    world.settle()
    assert {e["shipment"]["id"] for e in world.events("order.shipping")} == set(shipment_ids)

    pdf = world.labels(*shipment_ids)
    assert pdf.status_code == 200
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == 51
    calls = [c for c in world.sandbox.calls() if c["path"] == "/shipment_labels"]
    assert len(calls) == 2  # 50 + 1
    zpl = world.labels(*shipment_ids, label_format="zpl2")
    assert zpl.text.count("^XA") == 51

    unknown = world.labels(shipment_ids[0], 99999999999)
    assert unknown.status_code == 404 and "99999999999" in unknown.json()["message"]
    for bad in ("", "abc", "1,-2", "²"):
        answer = world.labels(bad)
        assert answer.status_code == 400, (bad, answer.text)
    assert world.labels(shipment_ids[0], label_format="png").status_code == 400


def test_a_pack_of_two_orders_ships_once(world):
    made = world.control("packs", {"orders": [{"item_id": "MLA1"},
                                              {"item_id": "MLA2", "variation_id": 22}],
                                   "status": "paid"})
    pack_id = made["pack"]["id"]
    order_ids = [o["id"] for o in made["orders"]]
    world.settle()
    created = world.events("order.created")
    assert sorted(e["order_id"] for e in created) == sorted(order_ids)
    assert {e["pack_id"] for e in created} == {pack_id}
    assert {e["order"]["shipping_id"] for e in created} == {made["pack"]["shipment"]["id"]}
    shipping = world.events("order.shipping")
    assert len(shipping) == 1
    assert sorted(shipping[0]["order_ids"]) == sorted(order_ids)
    assert shipping[0]["pack_id"] == pack_id


def test_every_event_has_the_contracts_keys(world):
    world.order("MLA1")
    world.ask("¿Tiene garantía?")
    world.settle()
    events = world.events()
    assert {e["type"] for e in events} == {"order.created", "order.paid", "order.shipping",
                                           "question.received"}
    assert all({"id", "type", "order_id", "account", "order"} <= set(e) for e in events)


def test_questions_answered_by_a_rule_and_by_hand(world):
    by_rule = world.ask("Hola, ¿hacen ENVÍO a Córdoba?")
    by_hand = world.ask("¿Tiene garantía?")
    world.settle()
    assert world.question_events(by_rule) == ["question.received", "question.answered"]
    answered = world.events("question.answered")[0]
    assert answered["answered_by"] == "rule:envio"
    assert answered["question"]["sku"] == "A"
    ml_answer = world.sandbox.state.questions[by_rule]["answer"]["text"]
    assert ml_answer == "¡Hola! Sí, Producto MLA1 sale con envío a todo el país (100 ARS)."
    assert answered["question"]["answer"]["text"] == ml_answer

    assert world.question_events(by_hand) == ["question.received"]
    received = next(e for e in world.events("question.received") if e["question_id"] == by_hand)
    assert received["question"]["text"] == "¿Tiene garantía?"
    assert received["question"]["item_id"] == "MLA1"
    reply = world.answer(by_hand, {"text": "Sí, 12 meses."})
    assert reply.status_code == 200, reply.text
    assert reply.json()["events"] == ["question.answered"]
    world.wait_inbox("questions", 4)  # ML notifies the answers too
    world.settle()
    assert world.question_events(by_hand) == ["question.received", "question.answered"]
    assert world.events("question.answered")[-1]["answered_by"] == "erp"
    again = world.answer(by_hand, {"text": "Otra vez"})
    assert again.status_code == 409 and "already answered" in again.json()["message"]
    assert world.answer(123, {"text": "x"}).status_code == 404


def test_a_held_or_banned_question_is_never_answered_by_a_rule(world):
    held = world.ask("¿Hacen envíos?", status="UNDER_REVIEW")
    world.settle()
    world.control(f"questions/{held}/approve")
    world.settle()
    assert world.sandbox.state.questions[held]["status"] == "UNANSWERED"
    assert world.question_events(held) == ["question.received"]
    world.control(f"questions/{held}/ban")
    world.settle()
    assert world.question_events(held) == ["question.received", "question.deleted"]
    gone = world.ask("¿Tiene garantía?")
    world.settle()
    world.control(f"questions/{gone}/delete")
    world.settle()
    assert world.question_events(gone) == ["question.received", "question.deleted"]


def test_duplicate_and_dropped_notifications_give_each_event_once(world):
    order = world.order("MLA1", duplicates=3)
    shipment_id = order["shipping"]["id"]
    world.settle()
    world.move(shipment_id, "ready_to_ship", duplicates=3)
    world.settle()
    world.move(shipment_id, "shipped", drop=True)          # only in /missed_feeds
    twice = world.ask("¿Tiene garantía?", duplicates=3)
    dropped = world.ask("¿Viene en caja?", drop=True)
    silent = world.ask("¿Qué medidas tiene?", notify=False)  # never notified at all
    world.settle()
    assert world.shipping(shipment_id) == ["handling", "ready_to_ship"]
    assert world.question_events(twice) == ["question.received"]
    assert world.question_events(dropped) == world.question_events(silent) == []

    world.move(shipment_id, "delivered", notify=False)  # a change never notified
    lines = world.connector.scheduler.reconcile_now()
    world.settle()
    assert any("missed notifications recovered: 2" in line for line in lines), lines
    # shipped was never read: ML's status history dates it, so it comes before delivered
    assert world.shipping(shipment_id) == ["handling", "ready_to_ship", "shipped", "delivered"]
    assert world.question_events(dropped) == ["question.received"]
    assert world.question_events(silent) == ["question.received"]

    world.connector.scheduler.reconcile_now()  # again: nothing new, nothing twice
    world.settle()
    counts: dict[tuple[object, ...], int] = {}
    for event in world.events():
        subject = (event["shipment"]["id"] if event["type"] == "order.shipping" else
                   event["question_id"] if event["type"].startswith("question.") else
                   event["order_id"])
        key = (event["type"], subject, event.get("shipment", {}).get("status"))
        counts[key] = counts.get(key, 0) + 1
    assert max(counts.values()) == 1, counts
