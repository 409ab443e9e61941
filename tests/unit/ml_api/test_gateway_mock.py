"""The httpx gateway and OAuth against ``httpx.MockTransport``: errors, retries, tokens, logs."""

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from adapters.ml_api import (
    HttpxMercadoLibreGateway,
    MlOAuth,
    SharedRateLimiter,
    authorization_url,
    serialize_update,
)
from adapters.ml_api.errors import error_from_response, retry_after_seconds
from adapters.ml_api.oauth import MlAuthorization
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.errors import (
    AuthRevoked,
    MarketplaceNotFound,
    MarketplaceRejected,
    MarketplaceUnavailable,
)
from connector_core.domain.items import ItemUpdate, VariationUpdate
from connector_core.services.accounts import AccountLinking
from tests.fakes import FakeLocks, FakeTokenStore, FakeUnitOfWork, FixedClock, Store

ACCOUNT = Account("main", 123456789, "MLA")
SECRET = "very-secret-client-secret"
ITEM = {"id": "MLA1", "site_id": "MLA", "price": 100, "currency_id": "ARS",
        "available_quantity": 5, "status": "active", "seller_id": 123456789}
Handler = Callable[[httpx.Request], httpx.Response]


class Harness:
    def __init__(self, handler: Handler, *, expires_in: timedelta = timedelta(hours=6),
                 **kwargs: Any) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.tokens = FakeTokenStore()
        self.tokens.save("main", TokenSet("ACCESS-OLD", "REFRESH-OLD",
                                          datetime.now(UTC) + expires_in, user_id=123456789))

        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        self.client = httpx.Client(base_url="https://api.example", transport=httpx.MockTransport(
            record))
        limiter = SharedRateLimiter(1000)
        self.oauth = MlOAuth(self.client, client_id="APP1", client_secret=SECRET,
                             redirect_uri="https://c.example/cb", tokens=self.tokens,
                             locks=kwargs.pop("locks", FakeLocks()), limiter=limiter,
                             timeout=3.0)
        kwargs.setdefault("jitter", lambda: 1.0)
        self.gateway = HttpxMercadoLibreGateway(
            self.client, self.oauth, limiter, timeout=3.0, sleep=self.sleeps.append,
            application_id=77, **kwargs)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/oauth/token"]


@pytest.fixture
def harness_factory() -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(handler: Handler, **kwargs: Any) -> Harness:
        made.append(Harness(handler, **kwargs))
        return made[-1]

    yield make
    for harness in made:
        harness.client.close()


def sequence(*responses: httpx.Response | Exception) -> Handler:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer
    return handler


def token_answer(access: str = "ACCESS-NEW", refresh: str = "REFRESH-NEW") -> httpx.Response:
    return httpx.Response(200, json={"access_token": access, "token_type": "bearer",
                                     "expires_in": 21600, "scope": "offline_access read write",
                                     "user_id": 123456789, "refresh_token": refresh})


class TestErrorMapping:
    @pytest.mark.parametrize(("status", "body", "expected"), [
        (404, {"message": "Item not found", "error": "not_found", "status": 404,
               "cause": []}, MarketplaceNotFound),
        (400, {"message": "Validation error", "error": "validation_error", "status": 400,
               "cause": [{"code": "item.price.invalid", "message": "too low"}]},
         MarketplaceRejected),
        (403, {"message": "At least one policy returned UNAUTHORIZED.", "error": "forbidden",
               "status": 403, "cause": []}, MarketplaceRejected),
        (429, None, MarketplaceUnavailable),
        (500, {"message": "x", "error": "internal_server_error", "status": 500},
         MarketplaceUnavailable),
        (502, "<html>bad gateway</html>", MarketplaceUnavailable),
        (504, None, MarketplaceUnavailable),
    ])
    def test_status_to_domain_error(self, status: int, body: Any, expected: type) -> None:
        if body is None:
            response = httpx.Response(status)
        elif isinstance(body, str):
            response = httpx.Response(status, text=body)
        else:
            response = httpx.Response(status, json=body)
        error = error_from_response(response, "GET /items/MLA1")
        assert type(error) is expected
        assert "GET /items/MLA1" in str(error)

    def test_causes_are_strings(self) -> None:
        error = error_from_response(httpx.Response(400, json={
            "message": "Validation error", "error": "validation_error", "status": 400,
            "cause": [{"code": "a.b", "message": "m", "type": "warning"}, "plain"]}), "PUT")
        assert isinstance(error, MarketplaceRejected)
        assert error.causes == ("[warning] a.b: m", "plain")

    def test_retry_after_seconds_and_date(self) -> None:
        assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
        date = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"})
        assert retry_after_seconds(date, now=datetime(2015, 10, 21, 7, 28, 0,
                                                      tzinfo=UTC).timestamp()) == 30.0
        assert retry_after_seconds(httpx.Response(429)) is None
        assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None


class TestRetries:
    def test_429_then_success_backs_off_exponentially(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.Response(429), httpx.Response(503),
                                     httpx.Response(200, json=ITEM)))
        assert h.gateway.get_item(ACCOUNT, "MLA1").id == "MLA1"
        assert h.sleeps == [0.5, 1.0]  # base * 2**n, jitter pinned at its maximum
        assert len(h.api_requests()) == 3

    def test_jitter_spreads_the_delay(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.Response(429), httpx.Response(200, json=ITEM)),
                            jitter=lambda: 0.0)
        h.gateway.get_item(ACCOUNT, "MLA1")
        assert h.sleeps == [0.25]

    def test_retry_after_is_honoured(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.Response(429, headers={"Retry-After": "3"}),
                                     httpx.Response(200, json=ITEM)))
        h.gateway.get_item(ACCOUNT, "MLA1")
        assert h.sleeps == [3.0]

    def test_long_retry_after_is_raised_not_slept(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.Response(503, headers={"Retry-After": "3600"})))
        with pytest.raises(MarketplaceUnavailable) as failure:
            h.gateway.get_item(ACCOUNT, "MLA1")
        assert failure.value.retry_after == 3600 and h.sleeps == []

    def test_attempts_are_bounded(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.Response(500)), max_attempts=4)
        with pytest.raises(MarketplaceUnavailable) as failure:
            h.gateway.get_item(ACCOUNT, "MLA1")
        assert failure.value.status == 500
        assert len(h.api_requests()) == 4 and len(h.sleeps) == 3

    def test_timeouts_are_retried_then_unavailable(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.ReadTimeout("slow")), max_attempts=3)
        with pytest.raises(MarketplaceUnavailable, match="timeout"):
            h.gateway.get_item(ACCOUNT, "MLA1")
        assert len(h.api_requests()) == 3

    def test_rejections_are_not_retried(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.Response(400, json={
            "message": "Validation error", "error": "validation_error", "status": 400,
            "cause": [{"code": "item.price.invalid", "message": "min 1000"}]})))
        with pytest.raises(MarketplaceRejected) as failure:
            h.gateway.update_item(ACCOUNT, ItemUpdate(item_id="MLA1", price=Decimal(5)))
        assert failure.value.causes == ("item.price.invalid: min 1000",)
        assert len(h.api_requests()) == 1 and h.sleeps == []

    def test_every_request_has_a_timeout(self, harness_factory: Any) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return token_answer() if request.url.path == "/oauth/token" else httpx.Response(
                200, json=ITEM)

        h = harness_factory(handler, expires_in=timedelta(seconds=5))
        h.client.timeout = httpx.Timeout(None)  # even on a client without one
        h.gateway.get_item(ACCOUNT, "MLA1")
        assert [r.url.path for r in h.requests] == ["/oauth/token", "/items/MLA1"]
        assert all(r.extensions["timeout"]["read"] == 3.0 for r in h.requests)


class TestTokens:
    def test_refresh_ahead_of_expiry_stores_before_use(self, harness_factory: Any) -> None:
        events: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/token":
                form = parse_qs(request.content.decode())
                assert form["refresh_token"] == ["REFRESH-OLD"]
                assert form["client_secret"] == [SECRET]
                events.append("token-call")
                return token_answer()
            events.append(f"api:{request.headers['Authorization']}")
            return httpx.Response(200, json=ITEM)

        h = harness_factory(handler, expires_in=timedelta(minutes=1))
        original_save = h.tokens.save

        def save(account: str, tokens: TokenSet) -> None:
            events.append(f"saved:{tokens.access_token}")
            original_save(account, tokens)

        h.tokens.save = save
        h.gateway.get_item(ACCOUNT, "MLA1")
        assert events == ["token-call", "saved:ACCESS-NEW", "api:Bearer ACCESS-NEW"]
        assert h.tokens.load("main").refresh_token == "REFRESH-NEW"

    def test_401_refreshes_once_and_retries(self, harness_factory: Any) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/token":
                return token_answer()
            if request.headers["Authorization"] == "Bearer ACCESS-OLD":
                return httpx.Response(401, json={"message": "invalid_token",
                                                 "error": "unauthorized", "status": 401})
            return httpx.Response(200, json=ITEM)

        h = harness_factory(handler)
        assert h.gateway.get_item(ACCOUNT, "MLA1").id == "MLA1"
        assert h.oauth.refreshes == 1 and len(h.api_requests()) == 2

    def test_persistent_401_does_not_loop(self, harness_factory: Any) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/token":
                return token_answer()
            return httpx.Response(401, json={"message": "invalid_token", "error": "x",
                                             "status": 401})

        h = harness_factory(handler)
        with pytest.raises(MarketplaceRejected) as failure:
            h.gateway.get_item(ACCOUNT, "MLA1")
        assert failure.value.status == 401
        assert h.oauth.refreshes == 1 and len(h.api_requests()) == 2

    def test_invalid_grant_marks_revoked_and_stops(self, harness_factory: Any) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/token":
                return httpx.Response(400, json={
                    "error_description": "Error validating grant.", "error": "invalid_grant",
                    "status": 400, "cause": []})
            raise AssertionError("no API call without a token")

        h = harness_factory(handler, expires_in=timedelta(seconds=10))
        with pytest.raises(AuthRevoked, match="accounts connect main"):
            h.gateway.get_item(ACCOUNT, "MLA1")
        assert "invalid_grant" in h.tokens.revoked["main"]
        assert len(h.requests) == 1

    def test_waiting_for_the_lock_reuses_a_refresh_done_meanwhile(
            self, harness_factory: Any) -> None:
        store_ref: list[FakeTokenStore] = []

        class OtherProcessRefreshes:
            @contextmanager
            def hold(self, name: str, *, ttl: float = 60, wait: float = 30) -> Iterator[None]:
                assert name == "ml-oauth-refresh:main"
                store_ref[0].save("main", TokenSet("ACCESS-OTHER", "REFRESH-OTHER",
                                                   datetime.now(UTC) + timedelta(hours=6)))
                yield

        def handler(request: httpx.Request) -> httpx.Response:
            assert request.url.path != "/oauth/token", "refreshed twice"
            assert request.headers["Authorization"] == "Bearer ACCESS-OTHER"
            return httpx.Response(200, json=ITEM)

        h = harness_factory(handler, expires_in=timedelta(seconds=10),
                            locks=OtherProcessRefreshes())
        store_ref.append(h.tokens)
        h.gateway.get_item(ACCOUNT, "MLA1")
        assert h.oauth.refreshes == 0

    def test_lock_timeout_is_unavailable(self, harness_factory: Any) -> None:
        class Busy:
            @contextmanager
            def hold(self, name: str, *, ttl: float = 60, wait: float = 30) -> Iterator[None]:
                raise TimeoutError(name)
                yield

        h = harness_factory(sequence(httpx.Response(200, json=ITEM)),
                            expires_in=timedelta(seconds=10), locks=Busy())
        with pytest.raises(MarketplaceUnavailable, match="refresh lock"):
            h.gateway.get_item(ACCOUNT, "MLA1")

    def test_no_token_or_secret_in_logs(self, harness_factory: Any,
                                        caplog: pytest.LogCaptureFixture) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/token":
                return token_answer()
            if request.headers["Authorization"] == "Bearer ACCESS-OLD":
                return httpx.Response(401)
            if request.url.path == "/items/MLA2":
                return httpx.Response(503)
            return httpx.Response(200, json=ITEM)

        caplog.set_level(logging.DEBUG)
        h = harness_factory(handler, max_attempts=2)
        h.gateway.get_item(ACCOUNT, "MLA1")
        with pytest.raises(MarketplaceUnavailable):
            h.gateway.get_item(ACCOUNT, "MLA2")
        assert caplog.records, "expected the adapter to log something"
        for secret in ("ACCESS-OLD", "ACCESS-NEW", "REFRESH-OLD", "REFRESH-NEW", SECRET):
            assert secret not in caplog.text
            assert secret not in repr(h.tokens.load("main"))


class TestRequests:
    def test_serialize_update_sends_only_what_is_set(self) -> None:
        assert serialize_update(ItemUpdate(item_id="X", available_quantity=0)) == {
            "available_quantity": 0}
        assert serialize_update(ItemUpdate(item_id="X", price=Decimal("10.50"),
                                           status="paused")) == {"price": 10.5,
                                                                 "status": "paused"}
        assert serialize_update(ItemUpdate(item_id="X", variations=(
            VariationUpdate(1), VariationUpdate(2, available_quantity=3, price=Decimal(7))))) == {
            "variations": [{"id": 1}, {"id": 2, "available_quantity": 3, "price": 7}]}
        # nothing set is dropped, even where ML will refuse it
        assert serialize_update(ItemUpdate(item_id="X", available_quantity=1, variations=(
            VariationUpdate(1),))) == {"variations": [{"id": 1}], "available_quantity": 1}

    def test_multiget_chunks_of_twenty(self, harness_factory: Any) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            ids = request.url.params["ids"].split(",")
            assert request.url.params["include_attributes"] == "all"
            return httpx.Response(200, json=[
                {"code": 200, "body": {**ITEM, "id": i}} if i != "MLA7" else
                {"code": 404, "body": {"id": i, "error": "resource not found"}} for i in ids])

        h = harness_factory(handler)
        ids = [f"MLA{n}" for n in range(45)]
        found = h.gateway.get_items(ACCOUNT, ids)
        assert [len(r.url.params["ids"].split(",")) for r in h.api_requests()] == [20, 20, 5]
        assert isinstance(found["MLA7"], MarketplaceNotFound)
        assert sum(1 for v in found.values() if not isinstance(v, Exception)) == 44

    def test_variations_put_missing_a_known_variation_is_refused(
            self, harness_factory: Any) -> None:
        item = {**ITEM, "variations": [{"id": 1, "available_quantity": 2, "price": 100},
                                       {"id": 2, "available_quantity": 3, "price": 100}]}
        h = harness_factory(sequence(httpx.Response(200, json=item)))
        h.gateway.get_item(ACCOUNT, "MLA1")
        with pytest.raises(MarketplaceRejected, match=r"omits variations \[2\]"):
            h.gateway.update_item(ACCOUNT, ItemUpdate(item_id="MLA1", variations=(
                VariationUpdate(1, available_quantity=0),)))
        assert [r.method for r in h.api_requests()] == ["GET"]

    def test_search_orders_asks_for_whole_hours(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.Response(200, json={
            "results": [], "paging": {"total": 0, "offset": 0, "limit": 50}})))
        start = datetime(2026, 3, 1, 10, 25, 13, tzinfo=UTC)
        list(h.gateway.search_orders(ACCOUNT, start, start + timedelta(minutes=50)))
        params = h.api_requests()[0].url.params
        assert params["order.date_last_updated.from"] == "2026-03-01T10:00:00.000-00:00"
        assert params["order.date_last_updated.to"] == "2026-03-01T12:00:00.000-00:00"
        assert (params["seller"], params["limit"], params["sort"]) == (
            "123456789", "50", "date_asc")

    def test_partial_order_206_is_accepted(self, harness_factory: Any) -> None:
        order = {"id": 2000000000000001, "status": "paid",
                 "last_updated": "2026-01-01T10:00:00.000-04:00",
                 "order_items": [{"item": {"id": "MLA1"}, "quantity": 1, "unit_price": 10}]}
        h = harness_factory(sequence(httpx.Response(
            206, json=order, headers={"X-Content-Missing": "buyer, feedback"})))
        got = h.gateway.get_order(ACCOUNT, 2000000000000001)
        assert got.buyer_id is None and got.lines[0].item_id == "MLA1"

    def test_missed_feeds_pages(self, harness_factory: Any) -> None:
        message = {"topic": "orders_v2", "resource": "/orders/1", "user_id": "5"}

        def handler(request: httpx.Request) -> httpx.Response:
            assert request.url.params["app_id"] == "77"
            offset = int(request.url.params["offset"])
            count = 50 if offset == 0 else 3
            return httpx.Response(200, json={"messages": [message] * count})

        h = harness_factory(handler)
        assert len(h.gateway.missed_notifications(ACCOUNT)) == 53
        assert len(h.api_requests()) == 2


class TestOAuthFlows:
    def test_authorization_url_per_site(self) -> None:
        url = authorization_url("MLB", "APP1", "https://c.example/cb", "xyz")
        assert url.startswith("https://auth.mercadolivre.com.br/authorization?")
        assert "response_type=code" in url and "state=xyz" in url
        assert "redirect_uri=https%3A%2F%2Fc.example%2Fcb" in url
        assert authorization_url("MLA", "A", "r", "s").startswith(
            "https://auth.mercadolibre.com.ar/")
        assert authorization_url("MLC", "A", "r", "s").startswith("https://auth.mercadolibre.cl/")
        with pytest.raises(ValueError, match="MXX"):
            authorization_url("MXX", "A", "r", "s")

    def test_exchange_code_and_read_user(self, harness_factory: Any) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/token":
                assert request.headers["content-type"] == "application/x-www-form-urlencoded"
                form = parse_qs(request.content.decode())
                assert form["grant_type"] == ["authorization_code"]
                assert form["code"] == ["TG-abc-1"]
                assert form["redirect_uri"] == ["https://c.example/cb"]
                return token_answer("ACCESS-CODE", "REFRESH-CODE")
            assert request.headers["Authorization"] == "Bearer ACCESS-CODE"
            return httpx.Response(200, json={"id": 123456789, "nickname": "TESTSELLER",
                                             "site_id": "MLA"})

        h = harness_factory(handler)
        tokens = h.oauth.exchange_code("TG-abc-1")
        assert tokens.refresh_token == "REFRESH-CODE"
        assert h.oauth.user(tokens.access_token).nickname == "TESTSELLER"

    def test_failed_code_exchange_is_rejected_not_revoked(self, harness_factory: Any) -> None:
        h = harness_factory(sequence(httpx.Response(400, json={
            "error_description": "bad code", "error": "invalid_grant", "status": 400})))
        with pytest.raises(MarketplaceRejected, match="invalid_grant"):
            h.oauth.exchange_code("TG-used")
        assert h.tokens.revoked == {}


def test_json_bodies_are_json(harness_factory: Any) -> None:
    h = harness_factory(sequence(httpx.Response(200, json=ITEM)))
    h.gateway.update_item(ACCOUNT, ItemUpdate(item_id="MLA1", available_quantity=4))
    put = h.api_requests()[0]
    assert put.method == "PUT" and json.loads(put.content) == {"available_quantity": 4}


def test_a_failing_refresh_is_retried_like_any_call(harness_factory: Any) -> None:
    answers = iter([httpx.Response(503), token_answer()])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return next(answers)
        assert request.headers["Authorization"] == "Bearer ACCESS-NEW"
        return httpx.Response(200, json=ITEM)

    h = harness_factory(handler, expires_in=timedelta(seconds=10))
    assert h.gateway.get_item(ACCOUNT, "MLA1").id == "MLA1"
    assert h.sleeps == [0.5] and h.oauth.refreshes == 1


class NoStates:
    """A pasted code needs no pending link's state."""

    def issue(self, account: str, now: datetime) -> str:
        raise AssertionError("no link is issued")

    def take(self, state: str, now: datetime) -> str:
        raise AssertionError("no state is taken")


def test_connect_reads_the_user_then_stores_the_tokens(harness_factory: Any) -> None:
    """Linking an account is the use case's (``AccountLinking.connect``); the adapter only
    exchanges the code and reads ``/users/me``. The tokens are stored once ML said whose
    they are, so a code of another seller never replaces the account's tokens."""
    events: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            events.append("oauth/token")
            return token_answer("ACCESS-CODE", "REFRESH-CODE")
        assert request.headers["Authorization"] == "Bearer ACCESS-CODE"
        events.append("users/me")
        return httpx.Response(200, json={"id": 123456789, "nickname": "SELLER"})

    h = harness_factory(handler)
    original_save = h.tokens.save

    def save(account: str, tokens: TokenSet) -> None:
        events.append(f"save {account}")
        original_save(account, tokens)

    h.tokens.save = save
    linking = AccountLinking(
        uow=FakeUnitOfWork(Store(accounts={"second": Account("second", 123456789, "MLA")})),
        clock=FixedClock(), states=NoStates(), tokens=lambda: h.tokens,
        authorization=lambda: MlAuthorization(lambda: h.oauth, client_id="APP1",
                                              redirect_uri="https://c.example/cb"))
    said = linking.connect("second", "TG-code")
    assert said == "account second connected: ML user 123456789 (SELLER)"
    assert events == ["oauth/token", "users/me", "save second"]
    assert h.tokens.load("second").refresh_token == "REFRESH-CODE"
    assert h.tokens.nicknames == {"second": "SELLER"}


def test_a_200_that_is_not_json_is_unavailable(harness_factory: Any) -> None:
    h = harness_factory(sequence(httpx.Response(200, text="<html>maintenance</html>")))
    with pytest.raises(MarketplaceUnavailable, match="not JSON"):
        h.gateway.get_item(ACCOUNT, "MLA1")


def test_a_200_with_a_wrong_shape_is_rejected_naming_the_field(harness_factory: Any) -> None:
    h = harness_factory(sequence(httpx.Response(200, json={**ITEM, "available_quantity": "x"})))
    with pytest.raises(MarketplaceRejected, match=r"\$\.available_quantity"):
        h.gateway.get_item(ACCOUNT, "MLA1")


@pytest.mark.parametrize("bad", ["../../users/me?x=", "MLA1/../../users/me", "MLA1,MLA2",
                                 "MLA1?x=1", "mla1", "MLA\u0663", ""])
def test_an_id_that_is_not_an_ml_id_never_becomes_a_url(harness_factory, bad):
    """Issue 17 item 4 (defence in depth): whatever slipped past the entry points, the
    adapter builds no URL from it and calls nothing."""
    h = harness_factory(lambda request: httpx.Response(200, json=[{"code": 200, "body": ITEM}]))
    with pytest.raises(MarketplaceRejected, match="refused by the connector: not an ML id"):
        h.gateway.get_item(ACCOUNT, bad)
    with pytest.raises(MarketplaceRejected, match="refused by the connector"):
        h.gateway.update_item(ACCOUNT, ItemUpdate(item_id=bad, available_quantity=1))
    found = h.gateway.get_items(ACCOUNT, [bad, "MLA1"])
    assert isinstance(found[bad], MarketplaceRejected)
    assert [parse_qs(r.url.query.decode())["ids"] for r in h.api_requests()] == [["MLA1"]]
    for order_id in (0, -1, 2**63):
        with pytest.raises(MarketplaceRejected, match="order id"):
            h.gateway.get_order(ACCOUNT, order_id)
    assert len(h.api_requests()) == 1
