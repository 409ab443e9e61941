"""Connecting an account: the authorization link, the callback, and the pasted code."""

from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from attrs import evolve
from cryptography.fernet import Fernet

from adapters.sql.admin import apply_admin_tables
from adapters.sql.migrate import upgrade
from config import jobs
from config.bootstrap import Connector
from config.cli import main
from config.settings import Settings
from config.wsgi import make_app
from connector_core.domain.accounts import Account
from connector_core.domain.mapping import MappingTable
from ml_sandbox.server import start_sandbox
from tests.e2e.conftest import SEED, SELLER

pytestmark = pytest.mark.e2e
REDIRECT = "https://connector.example.com/auth/callback"


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    sandbox = start_sandbox()
    seed = {**SEED, "sellers": [*SEED["sellers"], {"id": 2002, "nickname": "OTRA_TIENDA"}],
            "tokens": []}
    httpx.post(f"{sandbox.url}/_sandbox/seed", json=seed).raise_for_status()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", ml_api_url=sandbox.url,
                        ml_sandbox=True, ml_client_id="123", ml_client_secret="shh",
                        ml_redirect_uri=REDIRECT, secret_key=Fernet.generate_key().decode())
    connector = Connector(settings)
    upgrade(connector.engine)
    with connector.uow as uow:
        apply_admin_tables(uow.session, MappingTable([]),
                           accounts=[Account("main", SELLER, "MLA")])
        uow.commit()
    jobs.use(connector)
    yield connector, sandbox, make_app(connector).test_client()
    connector.close()
    sandbox.stop()


def cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def browse(url: str, user_id: int) -> tuple[str, str]:
    """The seller authorises the app on (the sandbox's) ML: where is the browser sent?"""
    answer = httpx.get(url + f"&user_id={user_id}", follow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    location = urlparse(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    return query["code"][0], query["state"][0]


def test_the_browser_flow_connects_through_the_callback(world, capsys):
    connector, _, web = world
    code, out, _ = cli(capsys, "accounts", "connect", "main")
    url = out.strip().splitlines()[0]
    assert code == 0 and parse_qs(urlparse(url).query)["client_id"] == ["123"]
    ml_code, state = browse(url, SELLER)
    page = web.get(f"/auth/callback?code={ml_code}&state={state}")
    assert page.status_code == 200
    assert "account main connected: ML user 1001 (TIENDA)" in page.get_data(as_text=True)
    code, out, _ = cli(capsys, "accounts", "list")
    assert "connected as TIENDA" in out and "TG-" not in out and "APP_USR" not in out
    assert connector.tokens.load("main") is not None
    replay = web.get(f"/auth/callback?code={ml_code}&state={state}")
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)


def test_a_forged_link_is_refused_without_calling_ml(world):
    _, sandbox, web = world
    httpx.delete(f"{sandbox.url}/_sandbox/calls")
    page = web.get("/auth/callback?code=TG-x&state=made-up")
    assert page.status_code == 400 and "unknown state" in page.get_data(as_text=True)
    assert httpx.get(f"{sandbox.url}/_sandbox/calls").json() == []


def test_a_pasted_code_connects_and_gets_the_seller(world, capsys):
    connector, sandbox, _ = world
    ml_code = httpx.post(f"{sandbox.url}/_sandbox/authorize",
                         json={"user_id": SELLER}).json()["code"]
    code, out, _ = cli(capsys, "accounts", "connect", "main", "--code", ml_code)
    assert code == 0 and out.strip() == "account main connected: ML user 1001 (TIENDA)"
    # the stored tokens work: the gateway reads the seller's item with them
    with connector.uow as uow:
        account = uow.accounts.get("main")
    assert connector.gateway.get_item(account, "MLA1").id == "MLA1"


def test_a_code_of_another_seller_is_refused_and_stores_nothing(world, capsys):
    connector, sandbox, _ = world
    ml_code = httpx.post(f"{sandbox.url}/_sandbox/authorize",
                         json={"user_id": 2002}).json()["code"]
    code, _, err = cli(capsys, "accounts", "connect", "main", "--code", ml_code)
    assert code == 2
    assert "belongs to ML user 2002, but account 'main' is ML user 1001" in err
    assert connector.tokens.load("main") is None


def test_without_user_id_in_the_token_answer_users_me_still_decides(world, capsys,
                                                                    monkeypatch):
    connector, sandbox, web = world
    exchange = connector.ml.oauth.exchange_code
    monkeypatch.setattr(connector.ml.oauth, "exchange_code",
                        lambda code, **kw: evolve(exchange(code, **kw), user_id=None))
    ml_code = httpx.post(f"{sandbox.url}/_sandbox/authorize",
                         json={"user_id": 2002}).json()["code"]
    code, _, err = cli(capsys, "accounts", "connect", "main", "--code", ml_code)
    assert code == 2
    assert "belongs to ML user 2002, but account 'main' is ML user 1001" in err
    assert connector.tokens.load("main") is None
    _, out, _ = cli(capsys, "accounts", "connect", "main")
    ml_code, state = browse(out.strip().splitlines()[0], 2002)
    page = web.get(f"/auth/callback?code={ml_code}&state={state}")
    assert page.status_code == 400 and "belongs to ML user 2002" in page.get_data(as_text=True)
    assert connector.tokens.load("main") is None


def test_every_auth_answer_is_never_cached(world, capsys):
    _, _, web = world
    _, out, _ = cli(capsys, "accounts", "connect", "main")
    ml_code, state = browse(out.strip().splitlines()[0], SELLER)
    answers = [web.get(f"/auth/callback?code={ml_code}&state={state}"),  # 200
               web.get(f"/auth/callback?code={ml_code}&state={state}"),  # 400: used
               web.get("/auth/callback?error=access_denied"), web.get("/auth/nothing")]
    assert [a.status_code for a in answers] == [200, 400, 400, 404]
    assert {a.headers.get("Cache-Control") for a in answers} == {"no-store"}


def test_a_revoked_account_says_how_to_reconnect(world, capsys):
    connector, sandbox, _ = world
    ml_code = httpx.post(f"{sandbox.url}/_sandbox/authorize",
                         json={"user_id": SELLER}).json()["code"]
    assert cli(capsys, "accounts", "connect", "main", "--code", ml_code)[0] == 0
    connector.tokens.mark_revoked("main", "invalid_grant")
    _, out, _ = cli(capsys, "accounts", "list")
    assert "needs reconnecting (invalid_grant): run `meli-connector accounts connect main`" \
        in out


def test_a_link_for_an_unknown_account_is_a_one_line_error(world, capsys):
    code, _, err = cli(capsys, "accounts", "connect", "nope")
    assert code == 2 and "unknown account 'nope'" in err and len(err.strip().splitlines()) == 1


def test_real_ml_links_go_to_the_sites_own_host(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", ml_client_id="123",
                        ml_client_secret="shh", ml_redirect_uri=REDIRECT)
    connector = Connector(settings)
    upgrade(connector.engine)
    with connector.uow as uow:
        apply_admin_tables(uow.session, MappingTable([]),
                           accounts=[Account("br", 7, "MLB"), Account("ar", 8, "MLA")])
        uow.commit()
    try:
        assert urlparse(connector.accounts.authorization_url("br")).netloc == \
            "auth.mercadolivre.com.br"
        assert urlparse(connector.accounts.authorization_url("ar")).netloc == \
            "auth.mercadolibre.com.ar"
    finally:
        connector.close()
