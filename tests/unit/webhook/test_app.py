"""The HTTP contract of CONTRACT §5, on in-memory ports."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector_core.domain.accounts import Account
from connector_core.domain.commands import ProcessNotification
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.services.notifications import UnitOfWorkIntake
from erp_bridge import ErpBridge
from tests.fakes import FakeUnitOfWork, FixedClock, Store
from webhook_app import WebhookServices, WebhookSettings, create_app

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ml"  # vendored copies of shared/fixtures
T = datetime(2026, 11, 23, 12, tzinfo=UTC)
TOKEN = "s3cret-token"


def build(settings: WebhookSettings | None = None, healthy: bool = True, dispatch=None):
    uow = FakeUnitOfWork(Store(accounts={"main": Account("main", 468424240, "MLA")},
                               table=MappingTable([MappingRow("A", Listing("main", "MLA1"))])))
    clock = FixedClock(T)
    dispatched: list[int] = []
    services = WebhookServices(
        intake=UnitOfWorkIntake(uow, clock),
        bridge=ErpBridge(lambda: uow, clock, jobs_committed=lambda: dispatched.append(1)),
        jobs_committed=dispatch or (lambda: dispatched.append(1)),
        health=lambda: {"database": (True, "ok"), "redis": (healthy, "down" if not healthy
                                                             else "ok")},
        oauth_callback=lambda code, state: f"connected with {code}",
        settings=settings or WebhookSettings(erp_api_token=TOKEN))
    app = create_app(services, {"TESTING": True})
    return app.test_client(), uow, dispatched


NOTE = {"_id": "f9f08571", "resource": "/orders/2195160686", "user_id": 468424240,
        "topic": "orders_v2", "application_id": 5503910054141466, "attempts": 1,
        "sent": "2019-10-30T16:19:20.129Z", "received": "2019-10-30T16:19:20.106Z"}


class TestNotifications:
    def test_stored_queued_and_answered_200(self):
        client, uow, dispatched = build()
        response = client.post("/notifications", json=NOTE)
        assert response.status_code == 200
        entry_id = response.get_json()["id"]
        assert uow.store.inbox[entry_id].notification.ml_id == "f9f08571"
        assert uow.store.jobs == [ProcessNotification(entry_id)] and dispatched == [1]

    def test_duplicates_are_harmless(self):
        client, uow, dispatched = build()
        answers = [client.post("/notifications", json=NOTE) for _ in range(5)]
        assert {a.status_code for a in answers} == {200}
        assert len(uow.store.inbox) == 1 and len(uow.store.jobs) == 1 and dispatched == [1]

    def test_string_user_id_and_misspelled_received_are_accepted(self):
        client, uow, _ = build()
        body = {**NOTE, "user_id": "468424240", "recieved": NOTE["received"]}
        del body["received"]
        assert client.post("/notifications", json=body).status_code == 200
        (entry,) = uow.store.inbox.values()
        assert entry.notification.user_id == 468424240
        assert entry.notification.received is not None

    @pytest.mark.parametrize("fixture", ["notification_orders_v2_ml_doc.json",
                                         "notification_items_ml_doc.json",
                                         "notification_stock_locations_ml_doc.json"])
    def test_real_ml_payloads_are_accepted(self, fixture):
        path = FIXTURES / fixture
        client, uow, _ = build()
        assert client.post("/notifications", data=path.read_bytes(),
                           content_type="application/json").status_code == 200
        assert len(uow.store.inbox) == 1

    @pytest.mark.parametrize(("body", "message"), [
        (b"not json", "not JSON"), (b"[1]", "JSON object"),
        (json.dumps({"resource": "/orders/1"}).encode(), "`topic`"),
        (json.dumps({"topic": "orders_v2"}).encode(), "`resource`"),
        (json.dumps({**NOTE, "user_id": "abc"}).encode(), "user_id must be a number"),
        (json.dumps({**NOTE, "_id": "x" * 65}).encode(), "`_id` is longer than 64"),
        (json.dumps({**NOTE, "resource": "/" * 513}).encode(), "`resource` is longer than 512"),
        (json.dumps({**NOTE, "topic": "t" * 65}).encode(), "`topic` is longer than 64"),
        (json.dumps({**NOTE, "attempts": 2**31}).encode(), "attempts must be between 0 and"),
        (json.dumps({**NOTE, "user_id": 2**63}).encode(), "user_id must be between 0 and"),
        (json.dumps({**NOTE, "user_id": -1}).encode(), "user_id must be between 0 and"),
        (json.dumps({**NOTE, "resource": "/orders/1\u0000"}).encode(),
         "`resource` contains a NUL character"),
        (b"[" * 20_000 + b"]" * 20_000, "nested too deeply"),
        (b'{"topic": "orders_v2", "resource": "/orders/1", "x": ' + b"[" * 40 + b"]" * 40
         + b"}", "nested deeper than 32 levels"),
        (json.dumps({**NOTE, "topic": "\ud800"}).encode(), "lone surrogate"),
        (json.dumps({**NOTE, "extra": {"k\udfff": 1}}).encode(), "lone surrogate"),
        (json.dumps({**NOTE, "resource": "/orders/\ud800"}, ensure_ascii=False).encode(
            "utf-8", "surrogatepass"), "not UTF-8 text"),
        (json.dumps(NOTE).encode("utf-16"), "not UTF-8 text"),
        (b'{"topic": "orders_v2", "resource": "/orders/1", "x": ' + b"1" * 400 + b".5}",
         "not finite"),
        (b'{"topic": "orders_v2", "resource": "/orders/1", "attempts": NaN}', "NaN"),
        (b'{"topic": "orders_v2", "resource": "/orders/1", "x": -Infinity}', "-Infinity"),
        (b'{"topic": "orders_v2", "resource": "/orders/1", "x": 1e400}', "not finite"),
        (json.dumps({**NOTE, "user_id": "\u00b2"}).encode(), "user_id must be a number"),
        (b"", "empty"),
    ])
    def test_bad_bodies_get_400_and_store_nothing(self, body, message):
        client, uow, _ = build()
        response = client.post("/notifications", data=body, content_type="application/json")
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"
        assert message in response.get_json()["message"]
        assert uow.store.inbox == {}

    @pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                         "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
    def test_timestamps_outside_the_sane_window_are_stored_as_null(self, instant):
        client, uow, _ = build()
        response = client.post("/notifications", json={**NOTE, "sent": instant,
                                                         "received": instant})
        assert response.status_code == 200
        (entry,) = uow.store.inbox.values()
        assert (entry.notification.sent, entry.notification.received) == (None, None)
        assert entry.raw["sent"] == instant  # what ML said stays on record

    def test_the_limits_are_what_the_inbox_holds(self):
        from adapters.sql.rows.jobs import InboxRow
        from webhook_app.notifications import MAX_LENGTHS

        columns = InboxRow.__table__.columns
        held = {"topic": columns["topic"].type.length,
                "resource": columns["resource"].type.length, "_id": columns["ml_id"].type.length}
        assert held == MAX_LENGTHS
        client, uow, _ = build()
        longest = {**NOTE, "_id": "x" * 64, "resource": "/" * 512, "topic": "t" * 64,
                   "attempts": 2**31 - 1, "user_id": 2**63 - 1}
        assert client.post("/notifications", json=longest).status_code == 200
        assert len(uow.store.inbox) == 1

    def test_wrong_application_id_is_forbidden_when_configured(self):
        client, uow, _ = build(WebhookSettings(application_id=1))
        assert client.post("/notifications", json=NOTE).status_code == 403
        assert uow.store.inbox == {}
        ok_client, _, _ = build(WebhookSettings(application_id=5503910054141466))
        assert ok_client.post("/notifications", json=NOTE).status_code == 200

    def test_unknown_topics_and_sellers_are_recorded_with_200(self):
        client, uow, _ = build()
        assert client.post("/notifications", json={**NOTE, "topic": "questions"}).status_code \
            == 200
        assert client.post("/notifications",
                           json={**NOTE, "_id": "other", "user_id": 1}).status_code == 200
        assert len(uow.store.inbox) == 2

    def test_still_200_when_the_queue_is_down(self):
        def broken() -> None:  # dispatch must swallow its own errors; this one is polite
            return None
        client, uow, _ = build(dispatch=broken)
        assert client.post("/notifications", json=NOTE).status_code == 200
        assert len(uow.store.jobs) == 1  # waits in the job outbox for the sweeper

    def test_body_size_limit(self):
        client, uow, _ = build(WebhookSettings(max_body_bytes=100))
        response = client.post("/notifications", json={**NOTE, "pad": "x" * 200})
        assert response.status_code == 413 and uow.store.inbox == {}
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'connector_notifications_total{outcome="too_large",topic="-"}' in metrics

    ML = "54.88.218.97"
    PROXY_NETS = ("10.0.0.0/8",)

    def post_from(self, client, peer, forwarded=None):
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        return client.post("/notifications", json=NOTE, headers=headers,
                           environ_base={"REMOTE_ADDR": peer})

    def test_a_direct_peer_cannot_forge_an_ml_address(self):
        """Issue 17 item 2: the app reached directly, X-Forwarded-For: <ML> passed."""
        client, uow, _ = build(WebhookSettings(allowed_ips=(self.ML,),
                                               trusted_proxy_networks=self.PROXY_NETS))
        forged = self.post_from(client, "203.0.113.9", self.ML)
        assert forged.status_code == 403 and uow.store.inbox == {}
        assert "203.0.113.9 is not an allowed source" in forged.get_json()["message"]
        assert self.post_from(client, self.ML).status_code == 200  # ML reaching it directly
        # without any trusted proxy, the header is never believed
        plain, _, _ = build(WebhookSettings(allowed_ips=(self.ML,)))
        assert self.post_from(plain, "10.1.1.1", self.ML).status_code == 403

    def test_a_trusted_proxy_forwarding_an_ml_address_passes(self):
        client, uow, _ = build(WebhookSettings(allowed_ips=(self.ML,),
                                               trusted_proxy_networks=self.PROXY_NETS))
        assert self.post_from(client, "10.0.0.5", self.ML).status_code == 200
        # two trusted proxies in a row (a load balancer, then nginx)
        assert self.post_from(client, "10.0.0.5", f"{self.ML}, 10.9.9.9").status_code == 200
        other = self.post_from(client, "10.0.0.5", "198.51.100.7")
        assert other.status_code == 403 and len(uow.store.inbox) == 1
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'connector_notifications_total{outcome="forbidden_source",topic="-"}' in metrics

    def test_a_chain_with_an_untrusted_hop_is_refused(self):
        """The client wrote "<ML>" itself; the trusted proxy appended the client's real
        address: the nearest untrusted hop is the client."""
        client, uow, _ = build(WebhookSettings(allowed_ips=(self.ML,),
                                               trusted_proxy_networks=self.PROXY_NETS))
        for chain in (f"{self.ML}, 198.51.100.7", f"{self.ML}, 198.51.100.7, 10.0.0.9",
                      f"{self.ML}, not-an-address", ""):
            response = self.post_from(client, "10.0.0.5", chain)
            assert response.status_code == 403, chain
        assert uow.store.inbox == {}


AUTH = {"Authorization": f"Bearer {TOKEN}"}


class TestErpRoutes:
    auth = AUTH

    def test_requires_the_bearer_token(self):
        client, uow, _ = build()
        assert client.post("/erp/stock", json={"sku": "A", "quantity": 1}).status_code == 401
        wrong = client.post("/erp/stock", json={"sku": "A", "quantity": 1},
                            headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and uow.store.reports == {}

    @pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
    def test_the_scheme_is_case_insensitive(self, scheme):
        client, uow, _ = build()
        response = client.post("/erp/stock", json={"sku": "A", "quantity": 1},
                               headers={"Authorization": f"{scheme} {TOKEN}"})
        assert response.status_code == 202 and "A" in {k[0] for k in uow.store.reports}

    @pytest.mark.parametrize("header", [f"Basic {TOKEN}", TOKEN, f"Bearer{TOKEN}",
                                        f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ",
                                        "Bearer \udcff"])
    def test_anything_but_the_token_is_refused(self, header):
        client, uow, _ = build()
        response = client.post("/erp/stock", json={"sku": "A", "quantity": 1},
                               headers={"Authorization": header})
        assert response.status_code == 401 and uow.store.reports == {}

    def test_disabled_without_a_configured_token(self):
        client, _, _ = build(WebhookSettings())
        response = client.post("/erp/stock", json={"sku": "A", "quantity": 1},
                               headers=self.auth)
        assert response.status_code == 503 and response.get_json()["error"] == "not_configured"

    def test_stock_single_and_batch(self):
        client, uow, dispatched = build()
        assert client.post("/erp/stock", json={"sku": "A", "quantity": 12, "warehouse": "main"},
                           headers=self.auth).status_code == 202
        response = client.post("/erp/stock", headers=self.auth, json={"updates": [
            {"sku": "B", "quantity": 3}, {"sku": "C", "quantity": 4, "warehouse": "x"}]})
        assert response.status_code == 202 and response.get_json()["applied"] == 2
        assert set(uow.store.reports) == {("A", "main"), ("B", "default"), ("C", "x")}
        assert dispatched == [1, 1]

    def test_bad_input_is_400_with_the_field_named(self):
        client, uow, _ = build()
        response = client.post("/erp/stock", headers=self.auth,
                               json={"updates": [{"sku": "A", "quantity": 1},
                                                 {"sku": "B", "quantity": -0.5}]})
        assert response.status_code == 400
        assert response.get_json() == {
            "error": "invalid",
            "message": "updates[1].quantity: expected a whole number, got -0.5"}
        assert uow.store.reports == {}
        no_json = client.post("/erp/prices", headers=self.auth, data="x")
        assert no_json.status_code == 400

    def test_prices_accounted_and_events(self):
        client, _uow, _ = build()
        assert client.post("/erp/prices", headers=self.auth,
                           json={"sku": "A", "cost": 100.0}).status_code == 202
        response = client.post("/erp/orders/2000003508419013/accounted", headers=self.auth)
        assert response.status_code == 200 and response.get_json()["first_time"]
        bad = client.post("/erp/orders/abc/accounted", headers=self.auth)
        assert bad.status_code == 400
        events = client.get("/erp/events?after=0&limit=10", headers=self.auth)
        assert events.get_json() == {"events": [], "next": 0}
        assert client.get("/erp/events?after=x", headers=self.auth).status_code == 400

    @pytest.mark.parametrize(("method", "path", "body", "message"), [
        ("GET", "/erp/events?after=%C2%B2", None, "after: expected a whole number from 0"),
        ("GET", f"/erp/events?after={2**63}", None, "after: expected a whole number from 0"),
        ("GET", "/erp/events?limit=%D9%A3", None, "limit: expected a whole number"),
        ("POST", "/erp/orders/%C2%B2/accounted", None, "order_id: expected an ML order id"),
        ("POST", f"/erp/orders/{2**63}/accounted", None, "order_id: expected an ML order id"),
        ("POST", "/erp/orders/1/accounted", b'{"as_of": "0001-01-01T00:00:00+05:00"}',
         "as_of: timestamp '0001-01-01T00:00:00+05:00' is outside 2000-01-01..2100-01-01"),
        ("POST", "/erp/orders/1/accounted", b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        ("POST", "/erp/stock", b'{"sku": "\\ud800", "quantity": 1}', "lone surrogate"),
        ("POST", "/erp/stock", b'{"sku": "A", "quantity": NaN}', "NaN"),
        ("POST", "/erp/stock", b'{"updates": ' + b"[" * 40 + b"]" * 40 + b"}",
         "nested deeper than 32 levels"),
        ("POST", "/erp/prices", b'{"sku": "A", "cost": "1e999999"}', "cost: expected a number"),
        ("POST", "/erp/prices", b'{"sku": "A", "cost": "0.' + b"1" * 40 + b'"}',
         "more digits than a price can hold"),
    ])
    def test_hostile_input_is_400_with_the_json_error_body(self, method, path, body, message):
        client, uow, _ = build()
        response = client.open(path, method=method, data=body, headers=self.auth,
                               content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)
        answer = response.get_json()
        assert answer["error"] == "invalid" and message in answer["message"], answer
        assert uow.store.reports == {} and uow.store.erp_prices == {}


class TestOps:
    def test_health_is_503_when_a_dependency_is_down(self):
        assert build()[0].get("/healthz").status_code == 200
        response = build(healthy=False)[0].get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["redis"] == {"ok": False, "detail": "down"}

    def test_metrics_count_notifications(self):
        client, _, _ = build()
        client.post("/notifications", json=NOTE)
        text = client.get("/metrics").get_data(as_text=True)
        assert 'connector_notifications_total{outcome="stored",topic="orders_v2"}' in text

    def test_metrics_label_known_topics_only(self):
        """Issue 16 item 5: the topic label came from the request: one lone surrogate broke
        every later /metrics, and each invented topic made a series."""
        client, _uow, _ = build(WebhookSettings(application_id=1))
        bad = client.post("/notifications", content_type="application/json",
                          data=b'{"topic": "\\ud800", "resource": "/orders/1", '
                               b'"application_id": 2}')
        assert bad.status_code == 400 and "lone surrogate" in bad.get_json()["message"]
        for n in range(50):
            forbidden = client.post("/notifications", json={**NOTE, "topic": f"invented-{n}"})
            assert forbidden.status_code == 403
        open_client, _, _ = build()
        for n in range(50):
            assert open_client.post("/notifications", json={
                **NOTE, "_id": f"n{n}", "topic": f"made-up-{n}"}).status_code == 200
        response = client.get("/metrics")
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "invented-" not in text and "made-up-" not in text
        assert 'connector_notifications_total{outcome="wrong_application",topic="other"}' \
            in text
        assert 'connector_notifications_total{outcome="stored",topic="other"}' in text

    def test_anything_unexpected_is_a_json_500_logged_once(self, caplog):
        class BrokenIntake:
            def receive(self, notification, raw):
                raise RuntimeError("the disk is on fire")

        uow = FakeUnitOfWork(Store())
        services = WebhookServices(
            intake=BrokenIntake(), bridge=ErpBridge(lambda: uow, FixedClock(T)),
            jobs_committed=lambda: None, health=lambda: {},
            settings=WebhookSettings(erp_api_token=TOKEN))
        client = create_app(services, {"TESTING": True}).test_client()
        caplog.set_level("INFO")
        response = client.post("/notifications", json=NOTE)
        assert response.status_code == 500
        assert response.get_json() == {
            "error": "internal_error",
            "message": "unexpected RuntimeError; the connector's log has the details"}
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and "POST '/notifications'" in errors[0].getMessage()
        assert "the disk is on fire" in caplog.text  # the traceback, once

    def test_werkzeug_errors_answer_json(self):
        from werkzeug.exceptions import abort

        uow = FakeUnitOfWork(Store())
        services = WebhookServices(intake=UnitOfWorkIntake(uow, FixedClock(T)),
                                   bridge=ErpBridge(lambda: uow, FixedClock(T)),
                                   jobs_committed=lambda: None, health=lambda: {})
        app = create_app(services, {"TESTING": True})
        app.add_url_rule("/teapot", view_func=lambda: abort(418))
        response = app.test_client().get("/teapot")
        assert response.status_code == 418
        assert response.get_json()["error"] == "i'm_a_teapot"

    def test_oauth_callback_pages(self):
        client, _, _ = build()
        ok = client.get("/auth/callback?code=TG-1&state=abc")
        assert ok.status_code == 200 and "connected with TG-1" in ok.get_data(as_text=True)
        assert client.get("/auth/callback?state=abc").status_code == 400
        assert client.get("/auth/callback?error=access_denied").status_code == 400

    def test_unknown_routes_answer_json(self):
        response = build()[0].get("/nope")
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"
