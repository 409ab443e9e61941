"""The sandbox keeps ML's rules (ml_api.md §8), checked over real sockets with plain httpx."""

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ml_sandbox import DEMO_SEED, RunningSandbox
from tests.integration.ml_api.conftest import Callback
from tests.ml_support import CLIENT_ID, CLIENT_SECRET, SELLER_ID

pytestmark = pytest.mark.integration


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    issued = sandbox.state.seed({**DEMO_SEED, "tokens": [{"user_id": SELLER_ID}]})
    token = issued["tokens"][str(SELLER_ID)]["access_token"]
    with httpx.Client(base_url=sandbox.url,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def refresh(sandbox: RunningSandbox, refresh_token: str) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/oauth/token", data={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": refresh_token})


class TestOAuth:
    def test_refresh_tokens_rotate_and_are_single_use(self, sandbox: RunningSandbox) -> None:
        first = sandbox.state.issue_tokens(SELLER_ID)
        answer = refresh(sandbox, first["refresh_token"])
        assert answer.status_code == 200
        body = answer.json()
        assert body["refresh_token"] != first["refresh_token"]
        assert (body["expires_in"], body["user_id"]) == (21600, SELLER_ID)
        reused = refresh(sandbox, first["refresh_token"])
        assert reused.status_code == 400
        assert reused.json()["error"] == "invalid_grant"
        assert "error_description" in reused.json()
        assert refresh(sandbox, body["refresh_token"]).status_code == 200

    def test_code_exchange_is_single_use(self, sandbox: RunningSandbox) -> None:
        code = sandbox.state.new_code(SELLER_ID)
        form = {"grant_type": "authorization_code", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": "x"}
        assert httpx.post(f"{sandbox.url}/oauth/token", data=form).status_code == 200
        assert httpx.post(f"{sandbox.url}/oauth/token", data=form).json()["error"] == (
            "invalid_grant")

    def test_wrong_secret_and_json_body(self, sandbox: RunningSandbox) -> None:
        bad = httpx.post(f"{sandbox.url}/oauth/token", data={
            "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": "no",
            "refresh_token": "x"})
        assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")
        as_json = httpx.post(f"{sandbox.url}/oauth/token", json={"grant_type": "refresh_token"})
        assert as_json.json()["error"] == "invalid_request"

    def test_access_tokens_expire(self, sandbox: RunningSandbox) -> None:
        sandbox.state.seed(DEMO_SEED)
        short = sandbox.state.issue_tokens(SELLER_ID, expires_in=1)
        headers = {"Authorization": f"Bearer {short['access_token']}"}
        assert httpx.get(f"{sandbox.url}/users/me", headers=headers).status_code == 200
        time.sleep(1.05)
        expired = httpx.get(f"{sandbox.url}/users/me", headers=headers)
        assert expired.status_code == 401 and expired.json()["status"] == 401

    def test_pkce_per_app(self, sandbox: RunningSandbox) -> None:
        sandbox.state.seed({**DEMO_SEED, "app": {"pkce": True}})
        verifier = "v" * 50
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                             ).rstrip(b"=").decode()
        no_challenge = httpx.get(f"{sandbox.url}/authorization", params={
            "client_id": CLIENT_ID, "redirect_uri": "https://c.example/cb", "state": "s"})
        assert no_challenge.status_code == 400

        def exchange(code: str, **extra: str) -> httpx.Response:
            return httpx.post(f"{sandbox.url}/oauth/token", data={
                "grant_type": "authorization_code", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "code": code, **extra})

        missing = exchange(sandbox.state.new_code(SELLER_ID, challenge))
        assert missing.json()["error"] == "invalid_request"
        wrong = exchange(sandbox.state.new_code(SELLER_ID, challenge), code_verifier="w" * 50)
        assert wrong.json()["error"] == "invalid_grant"
        good = exchange(sandbox.state.new_code(SELLER_ID, challenge), code_verifier=verifier)
        assert good.status_code == 200

    def test_authorization_redirects_with_code_and_state(self, sandbox: RunningSandbox) -> None:
        sandbox.state.seed(DEMO_SEED)
        answer = httpx.get(f"{sandbox.url}/authorization", params={
            "response_type": "code", "client_id": CLIENT_ID, "state": "s1",
            "redirect_uri": "https://c.example/cb"})
        assert answer.status_code == 302
        location = answer.headers["location"]
        assert location.startswith("https://c.example/cb?code=TG-") and location.endswith(
            "&state=s1")


class TestItems:
    def test_seller_fields_hidden_without_include_attributes(self, api: httpx.Client) -> None:
        public = api.get("/items/MLA1000000003").json()
        assert "seller_custom_field" not in public
        assert all("attributes" not in v for v in public["variations"])
        full = api.get("/items/MLA1000000003", params={"include_attributes": "all"}).json()
        assert full["variations"][0]["attributes"][0]["value_name"] == "TEE-BLK-M"
        assert api.get("/items/MLA1000000004", params={"include_attributes": "all"}).json()[
            "seller_custom_field"] == "YERBA-1KG"
        assert api.get("/items/MLA1000000001", params={"attributes": "id,price"}).json() == {
            "id": "MLA1000000001", "price": 4500}

    def test_multiget_entries_and_limit(self, api: httpx.Client) -> None:
        answer = api.get("/items", params={"ids": "MLA1000000001,MLA404"}).json()
        assert [e["code"] for e in answer] == [200, 404]
        assert answer[1]["body"]["error"] == "resource not found"
        too_many = api.get("/items", params={"ids": ",".join(f"MLA{n}" for n in range(21))})
        assert too_many.status_code == 400 and too_many.json()["error"] == "bad_request"

    def test_unequal_variation_prices_are_refused(self, api: httpx.Client) -> None:
        answer = api.put("/items/MLA1000000003", json={"variations": [
            {"id": 180000000101, "price": 100}, {"id": 180000000102, "price": 200},
            {"id": 180000000103}]})
        assert answer.status_code == 400
        assert answer.json()["cause"][0]["code"] == "item.variations.price.invalid"

    def test_zero_stock_pauses_out_of_stock_and_restock_reactivates(
            self, api: httpx.Client) -> None:
        paused = api.put("/items/MLA1000000001", json={"available_quantity": 0}).json()
        assert (paused["status"], paused["sub_status"]) == ("paused", ["out_of_stock"])
        back = api.put("/items/MLA1000000001", json={"available_quantity": 4}).json()
        assert (back["status"], back["sub_status"]) == ("active", [])

    def test_closed_items_are_immutable(self, api: httpx.Client) -> None:
        assert api.put("/items/MLA1000000002", json={"status": "closed"}).status_code == 200
        refused = api.put("/items/MLA1000000002", json={"available_quantity": 3})
        assert refused.status_code == 400 and refused.json()["error"] == "validation_error"
        assert api.put("/items/MLA1000000002", json={"status": "active"}).status_code == 400

    def test_another_sellers_item_is_forbidden(self, sandbox: RunningSandbox,
                                               api: httpx.Client) -> None:
        sandbox.state.add_item({"id": "MLA555", "seller_id": 999, "available_quantity": 1})
        assert api.put("/items/MLA555", json={"available_quantity": 0}).status_code == 403
        assert api.get("/users/999/items/search").status_code == 403

    def test_price_automation_blocks_price_only_puts(self, sandbox: RunningSandbox,
                                                     api: httpx.Client) -> None:
        sandbox.state.add_item({"id": "MLA556", "seller_id": SELLER_ID, "price": 10,
                                "available_quantity": 1, "price_automation": True})
        refused = api.put("/items/MLA556", json={"price": 12})
        assert refused.json()["cause"][0]["code"] == "item.price.not_modifiable"
        mixed = api.put("/items/MLA556", json={"price": 12, "available_quantity": 3}).json()
        assert (mixed["price"], mixed["available_quantity"]) == (10, 3)


class TestSearch:
    def test_offset_paging_stops_at_1000_and_scan_goes_on(self, sandbox: RunningSandbox,
                                                          api: httpx.Client) -> None:
        sandbox.state.seed({"items": [{"id": f"MLA2{n:05}", "seller_id": SELLER_ID,
                                       "available_quantity": 1} for n in range(1100)]})
        path = f"/users/{SELLER_ID}/items/search"
        assert api.get(path, params={"offset": 1001}).status_code == 400
        assert api.get(path, params={"limit": 101}).status_code == 400
        seen: list[str] = []
        page = api.get(path, params={"search_type": "scan", "limit": 100}).json()
        first_scroll = page["scroll_id"]
        while page["results"]:
            seen += page["results"]
            page = api.get(path, params={"search_type": "scan", "limit": 100,
                                         "scroll_id": page["scroll_id"]}).json()
        assert page["scroll_id"] == "" and len(seen) == len(set(seen)) == 1104
        stale = api.get(path, params={"search_type": "scan", "scroll_id": first_scroll})
        assert stale.status_code == 400 and stale.json()["error"] == "invalid.scroll.id"


class TestOrders:
    def test_orders_move_stock_like_ml(self, sandbox: RunningSandbox,
                                       api: httpx.Client) -> None:
        order = api.post("/_sandbox/orders", json={"item_id": "MLA1000000003",
                                                   "variation_id": 180000000102,
                                                   "quantity": 5}).json()["order"]
        item = api.get("/items/MLA1000000003").json()
        assert item["variations"][1]["available_quantity"] == 0
        assert item["available_quantity"] == 8
        assert api.post(f"/_sandbox/orders/{order['id']}/pay").json()["order"]["status"] == (
            "paid")
        assert api.post(f"/_sandbox/orders/{order['id']}/cancel").json()["order"][
            "status"] == "cancelled"
        assert api.get("/items/MLA1000000003").json()["variations"][1][
            "available_quantity"] == 5
        sold_out = api.post("/_sandbox/orders", json={"item_id": "MLA1000000001",
                                                      "quantity": 25}).json()["order"]
        item = api.get("/items/MLA1000000001").json()
        assert (item["status"], item["sub_status"]) == ("paused", ["out_of_stock"])
        api.post(f"/_sandbox/orders/{sold_out['id']}/cancel")
        assert api.get("/items/MLA1000000001").json()["status"] == "active"

    def test_partial_answer_206(self, sandbox: RunningSandbox, api: httpx.Client) -> None:
        order = api.post("/_sandbox/orders", json={"item_id": "MLA1000000001"}).json()["order"]
        api.post("/_sandbox/config", json={"partial_orders": True})
        answer = api.get(f"/orders/{order['id']}")
        assert answer.status_code == 206
        assert answer.headers["X-Content-Missing"] == "buyer, feedback"
        assert "buyer" not in answer.json()
        missing = api.get("/orders/2000000000000999")
        assert (missing.status_code, missing.json()["error"]) == (404, "order_not_found")

    def test_search_truncates_dates_to_the_hour(self, sandbox: RunningSandbox,
                                                api: httpx.Client) -> None:
        at = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
        api.post("/_sandbox/orders", json={"item_id": "MLA1000000001",
                                           "last_updated": at.isoformat()})

        def count(**params: str) -> int:
            answer = api.get("/orders/search", params={"seller": SELLER_ID, **params})
            return int(answer.json()["paging"]["total"])

        assert count(**{"order.date_last_updated.from": "2026-05-04T10:45:00.000Z"}) == 1
        assert count(**{"order.date_last_updated.from": "2026-05-04T11:00:00.000Z"}) == 0
        assert count(**{"order.date_last_updated.to": "2026-05-04T10:59:00.000Z"}) == 0
        assert count(**{"order.date_last_updated.to": "2026-05-04T11:00:00.000Z"}) == 1
        assert count(**{"order.date_last_updated.from": "2026-05-04T06:45:00.000-04:00"}) == 1

    def test_search_pages_at_most_fifty(self, sandbox: RunningSandbox,
                                        api: httpx.Client) -> None:
        for _ in range(3):
            api.post("/_sandbox/orders", json={"item_id": "MLA1000000004"})
        too_big = api.get("/orders/search", params={"seller": SELLER_ID, "limit": 51})
        assert too_big.status_code == 400
        page = api.get("/orders/search", params={"seller": SELLER_ID, "limit": 2,
                                                 "offset": 2}).json()
        assert page["paging"] == {"total": 3, "offset": 2, "limit": 2}
        assert len(page["results"]) == 1
        assert api.get("/orders/search", params={"seller": 999}).status_code == 403


class TestNotifications:
    def test_order_changes_notify_with_duplicates(self, api: httpx.Client,
                                                  callback: Callback) -> None:
        api.post("/_sandbox/config", json={"callback_url": callback.url})
        result = api.post("/_sandbox/orders", json={"item_id": "MLA1000000001",
                                                    "duplicates": 2}).json()
        assert [d["status"] for d in result["deliveries"]] == [200, 200, 200]
        assert len(callback.received) == 3
        body = callback.received[0]
        assert body["topic"] == "orders_v2"
        assert body["resource"] == f"/orders/{result['order']['id']}"
        assert body["user_id"] == SELLER_ID and body["application_id"]

    def test_dropped_and_failed_notifications_land_in_missed_feeds(
            self, sandbox: RunningSandbox, api: httpx.Client, callback: Callback) -> None:
        api.post("/_sandbox/notify", json={"topic": "orders_v2", "resource": "/orders/1",
                                           "user_id": SELLER_ID, "drop": True,
                                           "callback_url": callback.url})
        callback.status = 500
        api.post("/_sandbox/notify", json={"topic": "items", "resource": "/items/MLA1",
                                           "user_id": SELLER_ID, "callback_url": callback.url,
                                           "user_id_as_string": True})
        assert [n["resource"] for n in callback.received] == ["/items/MLA1"]
        feeds = api.get("/missed_feeds", params={"app_id": sandbox.state.application_id})
        messages = feeds.json()["messages"]
        assert [(m["topic"], m["response"]["http_code"]) for m in messages] == [
            ("orders_v2", None), ("items", 500)]
        assert json.loads(messages[1]["request"]["data"])["user_id"] == str(SELLER_ID)
        assert api.get("/missed_feeds", params={"app_id": 1}).status_code == 403

    def test_failed_deliveries_are_retried_then_missed(
            self, sandbox: RunningSandbox, api: httpx.Client, callback: Callback) -> None:
        callback.status = 503
        result = api.post("/_sandbox/notify", json={
            "topic": "orders_v2", "resource": "/orders/7", "user_id": SELLER_ID,
            "callback_url": callback.url, "retries": 2}).json()
        assert [d["attempt"] for d in result["deliveries"]] == [1, 2, 3]
        assert [n["attempts"] for n in callback.received] == [1, 2, 3]
        assert [m["resource"] for m in sandbox.state.missed] == ["/orders/7"]
        callback.status = 200
        ok = api.post("/_sandbox/notify", json={
            "topic": "orders_v2", "resource": "/orders/8", "user_id": SELLER_ID,
            "callback_url": callback.url, "retries": 2}).json()
        assert [d["accepted"] for d in ok["deliveries"]] == [True]
        assert len(sandbox.state.missed) == 1

    def test_item_changes_notify_when_asked(self, api: httpx.Client,
                                            callback: Callback) -> None:
        api.post("/_sandbox/config", json={"callback_url": callback.url,
                                           "notify_items": True})
        api.post("/_sandbox/orders", json={"item_id": "MLA1000000002"})
        api.put("/items/MLA1000000001", json={"available_quantity": 3})
        deadline = time.monotonic() + 5
        while len(callback.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted((n["topic"], n["resource"]) for n in callback.received) == [
            ("items", "/items/MLA1000000001"), ("items", "/items/MLA1000000002"),
            ("orders_v2", callback.received[0]["resource"])]

    def test_notification_quirks(self, api: httpx.Client, callback: Callback) -> None:
        api.post("/_sandbox/notify", json={"topic": "public_offers", "resource": "/x/1",
                                           "user_id": SELLER_ID, "callback_url": callback.url,
                                           "no_id": True})
        body = callback.received[0]
        assert "_id" not in body and "recieved" in body and "received" not in body
        assert body["sent"].endswith("Z")


class TestFaults:
    def test_forced_answers_then_normal(self, api: httpx.Client) -> None:
        api.post("/_sandbox/faults", json={"next": [
            {"status": 429, "empty": True}, {"status": 429}, {"status": 503,
                                                             "retry_after": 2}]})
        first, second, third = (api.get("/items/MLA1000000001") for _ in range(3))
        assert (first.status_code, first.content) == (429, b"")
        assert "retry-after" not in first.headers  # ML sends none
        assert second.json()["error"] == "too_many_requests"
        assert (third.status_code, third.headers["retry-after"]) == (503, "2")
        api.post("/_sandbox/faults", json={"next": [{"status": 429}]})
        oauth = api.post("/oauth/token", data={"grant_type": "refresh_token"})
        assert (oauth.status_code, oauth.json()["error"]) == (429, "local_rate_limited")
        assert api.get("/items/MLA1000000001").status_code == 200

    def test_rate_cap_and_call_log(self, sandbox: RunningSandbox, api: httpx.Client) -> None:
        api.post("/_sandbox/faults", json={"rate_cap": 3})
        since = time.time()
        statuses = [api.get("/items/MLA1000000001").status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        calls = api.get("/_sandbox/calls", params={"since": since}).json()
        assert [(c["method"], c["path"], c["status"]) for c in calls][:1] == [
            ("GET", "/items/MLA1000000001", 200)]
        assert len(calls) == 5 and calls == sandbox.calls(since)

    def test_latency(self, api: httpx.Client) -> None:
        api.post("/_sandbox/faults", json={"latency_ms": 150})
        started = time.monotonic()
        api.get("/items/MLA1000000001")
        assert time.monotonic() - started >= 0.15

    def test_oauth_secrets_are_not_recorded(self, sandbox: RunningSandbox) -> None:
        first = sandbox.state.issue_tokens(SELLER_ID)
        refresh(sandbox, first["refresh_token"])
        recorded = json.dumps(sandbox.calls())
        assert first["refresh_token"] not in recorded and CLIENT_SECRET not in recorded


def test_order_timestamps_use_ml_offsets(sandbox: RunningSandbox) -> None:
    sandbox.state.seed(DEMO_SEED)
    order = sandbox.state.create_order({"item_id": "MLA1000000001"})
    assert order["last_updated"].endswith("-04:00")
    stamp = datetime.fromisoformat(order["last_updated"])
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=1)
