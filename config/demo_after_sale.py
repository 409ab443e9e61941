"""The demo's after-sale chapter: the sale of chapter 2 goes to "ready to ship" and the ERP
prints its label; a buyer's question is answered at once by a rule of ``connector.toml``."""

from datetime import UTC, datetime
from typing import Any

import httpx

from config.demo_story import SELLER, Story, expect
from erp_bridge.payloads import event_json

QUESTION = "Hola, ¿hacen envíos a Rosario?"


def _control(story: Story, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{story.sandbox.url}/_sandbox/{path}", json={**body, "notify": False},
                        timeout=10)
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    return data


def _notify(story: Story, topic: str, resource: str) -> None:
    story.notes += 1
    answer = story.client.post("/notifications", json={
        "_id": f"demo-{topic}-{story.notes}", "resource": resource, "user_id": SELLER,
        "topic": topic, "application_id": story.app_id, "attempts": 1,
        "sent": datetime.now(UTC).isoformat()})
    if answer.status_code != 200:
        raise RuntimeError(f"POST /notifications answered {answer.status_code}")


def _feed(story: Story, *types: str) -> list[dict[str, Any]]:
    events = [event_json(e) for e in story.connector.bridge.events(limit=500).events]
    return [e for e in events if e["type"] in types]


def after_the_sale(story: Story, order_id: int) -> list[str]:
    """Chapter 7; what to add to the closing line."""
    say = story.say
    story.chapter(7, f"After the sale: order {order_id} ships, and a buyer asks a question.")
    shipment_id = int(story.sandbox.state.orders[order_id]["shipping"]["id"])
    _control(story, f"shipments/{shipment_id}/status", {"status": "ready_to_ship"})
    _notify(story, "shipments", f"/shipments/{shipment_id}")
    story.settle()
    for event in _feed(story, "order.shipping"):
        shipment = event["shipment"]
        if shipment["id"] != shipment_id:
            continue
        tracking = shipment["tracking_number"] or "no tracking number yet"
        say(f"   ERP feed: order.shipping {shipment['status']} "
            f"({shipment['substatus'] or '-'}, {shipment['logistic_type']}, {tracking}) for "
            f"order {event['order_ids'][0]}, to {shipment['receiver']['name']}")
    statuses = [e["shipment"]["status"] for e in _feed(story, "order.shipping")
                if e["shipment"]["id"] == shipment_id]
    expect(statuses == ["handling", "ready_to_ship"], f"handling then ready_to_ship, got "
                                                      f"{statuses}")
    label = story.connector.bridge.shipment_labels([shipment_id], "pdf")
    expect(label.content.startswith(b"%PDF"), "a PDF label")
    say(f"   ERP: bridge.shipment_labels([{shipment_id}], 'pdf') -> {label.filename}, "
        f"{len(label.content)} bytes, ready for the label printer")

    asked = _control(story, "questions", {"item_id": "MLA1000000001", "text": QUESTION})
    question_id = int(asked["question"]["id"])
    _notify(story, "questions", f"/questions/{question_id}")
    story.settle()
    say(f'   buyer asks on MLA1000000001: "{QUESTION}"')
    found = [e for e in _feed(story, "question.received", "question.answered")
             if e["question_id"] == question_id]
    for event in found:
        by = f" by {event['answered_by']}" if event["answered_by"] else ""
        say(f"   ERP feed: {event['type']}{by} (SKU {event['question']['sku']})")
    answer = story.sandbox.state.questions[question_id]["answer"]
    expect(answer is not None and [e["type"] for e in found] == [
        "question.received", "question.answered"], "the question answered by a rule")
    say(f'   ML shows the answer: "{answer["text"]}"')
    return ["1 label printed", "1 question answered by a rule"]
