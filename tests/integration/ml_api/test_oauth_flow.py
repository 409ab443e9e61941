"""The OAuth connect flow end to end against the sandbox, and the adapter's wiring."""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.ml_api import MlOAuth, authorization_url, build_ml_api
from adapters.redis_locks import ThreadLocks
from connector_core.domain.errors import AuthRevoked
from ml_sandbox import DEMO_SEED, RunningSandbox
from tests.fakes import FakeTokenStore
from tests.ml_support import ACCOUNT, CLIENT_ID, CLIENT_SECRET, SELLER_ID, seed_tokens

REDIRECT = "https://connector.example/auth/callback"


@pytest.mark.integration
@pytest.mark.parametrize("pkce", [False, True])
def test_connect_then_use_and_rotate(sandbox: RunningSandbox, pkce: bool) -> None:
    sandbox.state.seed({**DEMO_SEED, "app": {"redirect_uri": REDIRECT, "pkce": pkce}})
    verifier = "verifier-" + "x" * 40
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                         ).rstrip(b"=").decode() if pkce else None
    url = authorization_url("MLA", CLIENT_ID, REDIRECT, "st4te", code_challenge=challenge,
                            auth_base=sandbox.url)
    redirected = httpx.get(url)
    assert redirected.status_code == 302
    query = parse_qs(urlsplit(redirected.headers["location"]).query)
    assert query["state"] == ["st4te"]
    tokens = FakeTokenStore()
    with httpx.Client(base_url=sandbox.url) as client:
        oauth = MlOAuth(client, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        redirect_uri=REDIRECT, tokens=tokens, locks=ThreadLocks())
        exchanged = oauth.exchange_code(query["code"][0],
                                        code_verifier=verifier if pkce else None)
        tokens.save("main", exchanged)
        user = oauth.user(exchanged.access_token)
        assert (user.id, user.nickname) == (SELLER_ID, "DEMO_SELLER")
        first = tokens.load("main")
        assert first is not None
        assert oauth.refresh("main", stale=first.access_token) != first.access_token
        rotated = tokens.load("main")
        assert rotated is not None and rotated.refresh_token != first.refresh_token
        # someone restores the old (already used) refresh token: ML refuses, loudly, once
        tokens.save("main", first)
        with pytest.raises(AuthRevoked):
            oauth.refresh("main", stale=first.access_token)
        assert "invalid_grant" in tokens.revoked["main"]


@pytest.mark.integration
def test_build_ml_api_wires_one_client(sandbox: RunningSandbox) -> None:
    issued = sandbox.state.seed(DEMO_SEED)["tokens"][str(SELLER_ID)]
    tokens = FakeTokenStore()
    seed_tokens(tokens, issued)
    with httpx.Client(base_url=sandbox.url) as client:
        ml = build_ml_api(client, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                          redirect_uri=REDIRECT, tokens=tokens, locks=ThreadLocks(),
                          rate_per_second=50, application_id=sandbox.state.application_id,
                          timeout=5)
        item = ml.gateway.get_item(ACCOUNT, "MLA1000000003")
        assert [v.seller_sku for v in item.variations] == ["TEE-BLK-M", "TEE-BLK-L",
                                                          "TEE-WHT-M"]
        assert ml.gateway.missed_notifications(ACCOUNT) == []
        assert ml.limiter.amount == 50


@pytest.mark.integration
def test_gateway_reads_missed_feeds_and_partial_orders(sandbox: RunningSandbox) -> None:
    issued = sandbox.state.seed(DEMO_SEED)["tokens"][str(SELLER_ID)]
    tokens = FakeTokenStore()
    seed_tokens(tokens, issued)
    order = sandbox.state.create_order({"item_id": "MLA1000000001", "quantity": 2})
    with httpx.Client(base_url=sandbox.url) as client:
        ml = build_ml_api(client, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                          redirect_uri=REDIRECT, tokens=tokens, locks=ThreadLocks(),
                          rate_per_second=50, application_id=sandbox.state.application_id)
        client.post("/_sandbox/notify", json={
            "topic": "orders_v2", "resource": f"/orders/{order['id']}", "user_id": SELLER_ID,
            "drop": True, "user_id_as_string": True})
        missed = ml.gateway.missed_notifications(ACCOUNT)
        assert [(n.topic, n.resource_id(), n.user_id) for n in missed] == [
            ("orders_v2", str(order["id"]), SELLER_ID)]
        sandbox.state.partial_orders = True
        got = ml.gateway.get_order(ACCOUNT, order["id"])
        assert (got.buyer_id, got.lines[0].quantity, got.status) == (None, 2, "confirmed")
