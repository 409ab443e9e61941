"""No credential reaches a log line: a whole run of `serve` (gunicorn, two web processes), a
`worker` logging at DEBUG and the CLI, through the OAuth callback, the ERP routes (also with a
Basic header gunicorn would decode), a sale and a bad callback; then every log is searched for
every secret the run used or ML handed out."""

import base64
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from cryptography.fernet import Fernet

from ml_sandbox.server import start_sandbox
from tests import processes
from tests.e2e.conftest import SEED, SELLER, wait_for
from tests.services import database_url, fresh_postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

CLIENT_SECRET = "client-secret-Qx7Zp2"
ERP_TOKEN = "erp-token-Hn4Wv9Lk2Tq8Rz5M"
SEED_REFRESH = "TG-seed-refresh-Yb3Jd6"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Run:
    def __init__(self, tmp: Path, db_url: str, redis_url: str, sandbox_url: str) -> None:
        self.tmp = tmp
        (tmp / "run").mkdir()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "mappings.csv").write_text("sku,account,item_id,variation_id\nA,main,MLA1,\n")
        (tmp / "connector.toml").write_text(
            f'[connector]\napplication_id = 555\nqueue_name = "logs-{os.getpid()}"\n'
            f"sweep_interval_seconds = 1\n\n"
            f"[accounts.main]\nuser_id = {SELLER}\nsite_id = \"MLA\"\n")
        self.secret_key = Fernet.generate_key().decode()
        self.env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
                    "ML_API_URL": sandbox_url, "ML_SANDBOX": "1", "ML_CLIENT_ID": "123",
                    "ML_CLIENT_SECRET": CLIENT_SECRET,
                    "ML_REDIRECT_URI": f"{self.url}/auth/callback",
                    "CONNECTOR_SECRET_KEY": self.secret_key, "ERP_API_TOKEN": ERP_TOKEN,
                    "CONNECTOR_CONFIG": str(tmp / "connector.toml"),
                    # where gunicorn >= 25.1 would put its control socket by default
                    "HOME": str(tmp / "home"), "XDG_RUNTIME_DIR": str(tmp / "run")}
        self.processes: list[subprocess.Popen[bytes]] = []

    def cli(self, *argv: str, stdin: str | None = None) -> str:
        result = subprocess.run([sys.executable, "-m", "config.cli", *argv], env=self.env,
                                input=stdin, capture_output=True, text=True, timeout=60,
                                check=False)
        with (self.tmp / "cli.log").open("a") as log:  # stdout is the command's output
            log.write(result.stderr)             # (`accounts connect` prints its link)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self, name: str, *argv: str) -> None:
        with (self.tmp / f"{name}.log").open("wb") as log:
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "config.cli", *argv], env=self.env, stdout=log,
                stderr=subprocess.STDOUT))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            processes.stop(process, timeout=15)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.tmp.glob("*.log"))


@pytest.fixture
def run(tmp_path: Path, private_redis) -> Iterator[Run]:
    sandbox = start_sandbox()
    seed = {**SEED, "app": {**SEED["app"], "client_secret": CLIENT_SECRET},
            "tokens": [{"user_id": SELLER, "refresh_token": SEED_REFRESH,
                        "expires_in": 21600}]}
    httpx.post(f"{sandbox.url}/_sandbox/seed", json=seed).raise_for_status()
    issued: list[str] = []  # every token ML hands out during the run
    issue = sandbox.state.issue_tokens

    def recording(*args, **kwargs):
        answer = issue(*args, **kwargs)
        issued.extend((answer["access_token"], answer["refresh_token"]))
        return answer

    sandbox.state.issue_tokens = recording
    with fresh_postgres_database(database_url()) as db_url:
        world = Run(tmp_path, db_url, private_redis.url, sandbox.url)
        world.sandbox = sandbox
        world.issued = issued
        try:
            yield world
        finally:
            world.stop()
            sandbox.stop()


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_no_credential_in_any_log_line(run: Run) -> None:
    run.cli("db", "upgrade")
    run.cli("mappings", "apply", str(run.tmp / "mappings.csv"))
    run.cli("accounts", "add", "main", "--user-id", str(SELLER), "--site", "MLA",
            "--refresh-token-stdin", stdin=SEED_REFRESH + "\n")
    run.start("serve", "serve", "--port", str(run.port), "--workers", "2")
    run.start("worker", "-v", "worker")
    wait_for(lambda: healthy(run.url), 30, "serve to answer")
    erp = {"Authorization": f"Bearer {ERP_TOKEN}"}
    basic = base64.b64encode(f"{ERP_TOKEN}:{CLIENT_SECRET}".encode()).decode()
    assert httpx.post(f"{run.url}/erp/stock", json={"sku": "A", "quantity": 5},
                      headers={"Authorization": f"Basic {basic}"}).status_code == 401
    assert httpx.post(f"{run.url}/erp/stock", json={"sku": "A", "quantity": 5},
                      headers=erp).status_code == 202
    # The seller connects through the browser: the code and state travel in the callback URL.
    link = run.cli("accounts", "connect", "main").strip().splitlines()[0]
    answer = httpx.get(link + f"&user_id={SELLER}", follow_redirects=False)
    query = parse_qs(urlparse(answer.headers["location"]).query)
    code, state = query["code"][0], query["state"][0]
    page = httpx.get(f"{run.url}/auth/callback", params={"code": code, "state": state})
    assert page.status_code == 200, page.text
    bogus = httpx.get(f"{run.url}/auth/callback",
                      params={"code": "TG-bogus-code-Mm1", "state": "state-bogus-Kk2"})
    assert bogus.status_code == 400
    # A sale: the worker reads the order with the (refreshed) tokens.
    order = httpx.post(f"{run.sandbox.url}/_sandbox/orders", json={
        "seller_id": SELLER, "item_id": "MLA1", "quantity": 1, "status": "paid",
        "callback_url": f"{run.url}/notifications"}).json()["order"]["id"]
    wait_for(lambda: any(e["order_id"] == order for e in httpx.get(
        f"{run.url}/erp/events", headers=erp).json()["events"]), 30, "the sale's events")
    # no control socket that another `serve` on the host would share and delete
    assert not [p for p in (run.tmp / "run").rglob("*") if p.is_socket()]
    run.stop()

    assert len(run.issued) >= 4  # a refresh and the code exchange at least
    secrets = {CLIENT_SECRET, ERP_TOKEN, SEED_REFRESH, run.secret_key, code, state,
               "TG-bogus-code-Mm1", "state-bogus-Kk2", basic, *run.issued}
    logs = run.logs()
    assert "GET /auth/callback" in logs and "POST /erp/stock" in logs  # the logs are there
    leaked = sorted(s for s in secrets if s and s in logs)
    assert leaked == [], f"credentials in the logs: {leaked}"
