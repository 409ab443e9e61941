"""The demo's last chapter: a User Products seller with two warehouses (multi-origin stock).

Account ``up`` of the example config is the sandbox's seller 987654321: UP MLAU2000000001 is
sold by two items (one stock), and the family "Termo 1 l" has two more UPs; warehouses
``central`` and ``norte`` are its ML stores 70001 and 70002.
"""

from typing import TYPE_CHECKING, Any

import httpx

from config.demo_story import expect, table
from connector_core.domain.commands import RefreshUserProducts

if TYPE_CHECKING:
    from config.demo_story import Story

ACCOUNT = "up"
SELLER = 987654321
STORE_NAMES = {"70001": "central", "70002": "norte"}


def _stores(story: "Story") -> list[tuple[Any, ...]]:
    rows = []
    for up_id, up in sorted(story.sandbox.state.user_products.items()):
        if up.get("user_id") != SELLER:
            continue
        items = sorted(i for i, item in story.sandbox.state.items.items()
                       if item.get("user_product_id") == up_id)
        quantities = {loc.get("store_id"): loc["quantity"] for loc in up["locations"]
                      if loc["type"] == "seller_warehouse"}
        rows.append((up_id, ", ".join(items),
                     *(quantities.get(store, 0) for store in STORE_NAMES)))
    return rows


def _show(story: "Story", before: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    now = _stores(story)
    old = {r[0]: r for r in before}
    rows = [tuple(c if o == c else f"{o} -> {c}" for o, c in zip(old.get(r[0], r), r,
                                                                    strict=True))
            for r in now]
    story.say("   ML stock per store, before -> after:")
    story.say("   " + table(rows, ("user product", "items", "central (70001)",
                                  "norte (70002)")).replace("\n", "\n   "))
    return now


def tell_user_products(story: "Story") -> list[str]:
    say = story.say
    connector, sandbox = story.connector, story.sandbox
    story.chapter(7, "A User Products seller with two warehouses (account up).")
    said = connector.jobs.handle(RefreshUserProducts(ACCOUNT))  # `accounts list --refresh`
    story.settle()
    say(f"   accounts list --refresh: up is {said}")
    say("   ERP: MATE-CAL central 8, norte 3; TERMO-NEG central 2, norte 5; TERMO-ROJ "
        "central 0, norte 4")
    shown = _stores(story)
    since = sandbox.calls()[-1]["time"]
    connector.bridge.stock_changed(updates=[
        {"sku": "MATE-CAL", "quantity": 8, "warehouse": "central"},
        {"sku": "MATE-CAL", "quantity": 3, "warehouse": "norte"},
        {"sku": "TERMO-NEG", "quantity": 2, "warehouse": "central"},
        {"sku": "TERMO-NEG", "quantity": 5, "warehouse": "norte"},
        {"sku": "TERMO-ROJ", "quantity": 0, "warehouse": "central"},
        {"sku": "TERMO-ROJ", "quantity": 4, "warehouse": "norte"}])
    story.settle()
    sandbox.flush_replications()
    shown = _show(story, shown)
    writes = [c for c in sandbox.calls() if c["time"] > since and c["method"] == "PUT"]
    say(f"   {len(writes)} stock writes for 3 user products on 4 items: one per UP, per "
        f"store, with the x-version read just before")
    expect({r[0]: r[2:] for r in shown}["MLAU2000000001"] == (8, 3), "MATE-CAL 8 and 3")

    order = httpx.post(f"{sandbox.url}/_sandbox/orders", json={
        "seller_id": SELLER, "item_id": "MLA2000000002", "quantity": 2, "status": "paid",
        "store_id": "70002", "notify": False}, timeout=10).json()["order"]
    answer = story.client.post("/notifications", json={
        "resource": f"/orders/{order['id']}", "user_id": SELLER, "topic": "orders_v2",
        "application_id": story.app_id})
    expect(answer.status_code == 200, "the notification stored")
    story.settle()
    sandbox.flush_replications()
    say(f"   order {order['id']}: 2 MATE-CAL on MLA2000000002, shipped from norte; the hold "
        "counts against norte only (a sale whose origin ML has not said yet would count "
        "against both)")
    shown = _show(story, shown)
    expect({r[0]: r[2:] for r in shown}["MLAU2000000001"] == (8, 1), "MATE-CAL 8 and 1")
    return ["3 user products on 2 warehouses"]
