"""Who gets into the console: operators only, with a session cookie that scripts and other
sites cannot use, and a CSRF token on every action. The console's data is stubbed here;
tests/e2e/test_console_browser.py drives the real thing in a browser."""

import re
from datetime import UTC, datetime

import pytest
from attrs import evolve

from config.console import parse_operators
from connector_core.domain.console import JobCounts, OperatorAction
from connector_core.domain.errors import InvalidInput
from tests.unit.webhook.test_app import build
from webhook_app.console import ConsoleServices, VerifyOutcome, install_console
from webhook_app.console.passwords import check_password, hash_password, hash_problem
from webhook_app.console.security import session_key
from webhook_app.proxies import parse_networks

T = datetime(2026, 12, 1, 12, tzinfo=UTC)
PASSWORD = "a long operator password"
HASH = hash_password(PASSWORD)


class StubReads:
    def __init__(self) -> None:
        self.recorded: list[OperatorAction] = []

    def accounts(self):
        return []

    def job_counts(self):
        return JobCounts(waiting=0, held_back=0, running=0, dead=0)

    def job_counts_by_account(self):
        return []

    def minutes(self, since):
        return []

    def topics(self, since):
        return []

    def search(self, query, limit):
        return []

    def audit_trail(self, account, item_id, limit):
        return []

    def orders(self, limit, order_id=None):
        return []

    def operator_actions(self, limit):
        return list(reversed(self.recorded))[:limit]

    def record(self, action):
        self.recorded.append(action)


def console(trusted: str = "", operators: dict[str, str] | None = None, throttle=None):
    client, _, _ = build()
    reads = StubReads()
    services = ConsoleServices(
        operators=operators or {"ana": HASH}, session_key=session_key("k" * 44),
        trusted_proxies=parse_networks([trusted] if trusted else []), reads=reads, log=reads,
        now=lambda: T, health=lambda: {"database": (True, "sqlite")},
        explain=lambda account, item: None, dead_letters=list,
        retry=lambda job: "retrying 0 job(s)",
        push_now=lambda account, item: "queued", reconcile_now=lambda: "queued for 1",
        verify=lambda: VerifyOutcome(summary="ok", problems=(), warnings=()),
        calls_per_minute=600)
    install_console(client.application, services, throttle)
    return client, reads


def csrf(client, path="/console/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client, name="ana", password=PASSWORD, **kwargs):
    return client.post("/console/login", data={"name": name, "password": password,
                                               "csrf_token": csrf(client), "next": "/console/"},
                       **kwargs)


class TestPasswords:
    def test_hash_round_trip_and_format(self):
        assert check_password(PASSWORD, HASH) and not check_password("wrong", HASH)
        assert hash_problem(HASH) is None and HASH.startswith("scrypt:16384:8:1:")
        assert not check_password(PASSWORD, None)

    @pytest.mark.parametrize("text", ["", "bcrypt:x", "scrypt:3:8:1:AAAAAAAAAAA:BBBB",
                                      "scrypt:1073741824:8:1:AAAAAAAAAAA:" + "A" * 43,
                                      "scrypt:16384:8:1:%%%:%%%"])
    def test_bad_hashes_are_refused_not_computed(self, text):
        assert hash_problem(text) is not None
        assert not check_password(PASSWORD, text)

    def test_operators_from_the_environment(self):
        assert parse_operators(f" ana:{HASH} , bob:{HASH},") == {"ana": HASH, "bob": HASH}
        assert parse_operators("") == {}
        for bad, message in (("ana", "is not name:HASH"),
                             ("ana:secret", "hash of operator 'ana' is not valid"),
                             (f"ana:{HASH},ana:{HASH}", "named twice")):
            with pytest.raises(InvalidInput, match=message) as caught:
                parse_operators(bad)
            assert "secret" not in str(caught.value).replace("'ana'", "")


class TestAccess:
    def test_every_page_redirects_to_the_login_without_a_session(self):
        client, _ = console()
        for path in ("/console/", "/console/listings?q=A", "/console/listings/main/MLA1",
                     "/console/orders", "/console/jobs", "/console/verify"):
            answer = client.get(path)
            assert answer.status_code == 302, path
            assert answer.headers["Location"].startswith("/console/login?next="), path

    def test_login_then_pages_then_logout(self):
        client, reads = console()
        answer = log_in(client)
        assert answer.status_code == 302 and answer.headers["Location"] == "/console/"
        page = client.get("/console/")
        assert page.status_code == 200 and "ana" in page.get_data(as_text=True)
        assert page.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        token = csrf(client, "/console/")
        assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
        assert client.get("/console/").status_code == 302
        assert [(a.operator, a.action) for a in reads.recorded] == [("ana", "login"),
                                                                    ("ana", "logout")]

    def test_wrong_password_or_unknown_name_is_401_and_gives_no_session(self):
        client, _ = console()
        assert log_in(client, password="wrong").status_code == 401
        assert log_in(client, name="nobody").status_code == 401
        assert client.get("/console/").status_code == 302

    def test_actions_without_the_csrf_token_are_refused_and_not_run(self):
        client, reads = console()
        log_in(client)
        for path in ("/console/jobs/retry", "/console/reconcile", "/console/verify",
                     "/console/listings/main/MLA1/push", "/console/logout"):
            for data in ({}, {"csrf_token": "forged"}):
                answer = client.post(path, data=data)
                assert answer.status_code == 400, path
        assert [a.action for a in reads.recorded] == ["login"]
        assert client.get("/console/").status_code == 200  # still logged in

    def test_repeated_failures_lock_the_name_out_for_a_while(self):
        client, _ = console()
        for _ in range(5):
            assert log_in(client, password="wrong").status_code == 401
        refused = log_in(client)  # even the right password, for now
        assert refused.status_code == 429
        assert "Too many failed logins" in refused.get_data(as_text=True)
        assert client.get("/console/").status_code == 302

    def test_a_login_without_the_form_token_is_refused(self):
        client, _ = console()
        answer = client.post("/console/login", data={"name": "ana", "password": PASSWORD})
        assert answer.status_code == 400

    def test_an_action_runs_once_with_the_token_and_is_recorded(self):
        client, reads = console()
        log_in(client)
        answer = client.post("/console/reconcile", data={"csrf_token": csrf(client, "/console/")})
        assert answer.status_code == 302
        assert reads.recorded[-1].action == "reconcile"
        assert "queued for 1" in client.get("/console/").get_data(as_text=True)

    def test_next_never_leaves_the_console(self):
        client, _ = console()
        for target in ("https://evil.example/", "//evil.example/console", "/erp/stock"):
            answer = client.post("/console/login", data={
                "name": "ana", "password": PASSWORD, "csrf_token": csrf(client),
                "next": target})
            assert answer.headers["Location"] == "/console/", target

    def test_a_changed_password_ends_the_session(self):
        client, _ = console()
        log_in(client)
        services = client.application.extensions["console"]
        client.application.extensions["console"] = evolve(
            services, operators={"ana": hash_password("another long password")})
        assert client.get("/console/").status_code == 302


class TestCookie:
    def cookie(self, client, **kwargs) -> str:
        client.get("/console/login", **kwargs)
        answer = log_in(client, **kwargs)
        return answer.headers["Set-Cookie"]

    def test_http_only_same_site_strict_and_console_path(self):
        client, _ = console()
        header = self.cookie(client)
        assert "HttpOnly" in header and "SameSite=Strict" in header
        assert "Path=/console" in header and "Secure" not in header

    def test_secure_over_https(self):
        client, _ = console()
        assert "Secure" in self.cookie(client, base_url="https://localhost")

    def test_secure_behind_a_trusted_proxy_only(self):
        trusted, _ = console(trusted="10.0.0.0/8")
        header = self.cookie(trusted, headers={"X-Forwarded-Proto": "https"},
                             environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert "Secure" in header
        untrusted, _ = console(trusted="10.0.0.0/8")
        header = self.cookie(untrusted, headers={"X-Forwarded-Proto": "https"},
                             environ_base={"REMOTE_ADDR": "192.0.2.9"})
        assert "Secure" not in header


def test_the_rest_of_the_app_is_unaffected():
    client, _ = console()
    assert client.get("/healthz").status_code == 200
    assert client.post("/notifications", json={}).status_code == 400
    assert "Set-Cookie" not in client.get("/healthz").headers


def test_without_operators_there_is_no_console():
    client, _, _ = build()
    assert client.get("/console/").status_code == 404
    assert client.get("/console/login").status_code == 404


def test_times_are_shown_in_utc_whatever_zone_they_carry():
    from datetime import timedelta, timezone

    from webhook_app.console.blueprint import utc

    buenos_aires = datetime(2026, 12, 4, 10, 21, 25, tzinfo=timezone(timedelta(hours=-3)))
    assert utc(buenos_aires) == "2026-12-04 13:21:25 UTC" and utc(None) == "-"
