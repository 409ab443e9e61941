"""Shared pieces of the end-to-end tests: the sandbox catalog and a private Redis server."""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet

from adapters.sql.migrate import upgrade
from config.bootstrap import Connector
from config.settings import Settings
from tests import processes

SELLER = 1001
SEED = {
    "app": {"client_id": "123", "client_secret": "shh", "application_id": 555},
    "sellers": [{"id": SELLER, "nickname": "TIENDA", "site_id": "MLA"}],
    "items": [
        {"id": "MLA1", "seller_id": SELLER, "price": 100, "available_quantity": 1,
         "seller_sku": "A"},
        {"id": "MLA2", "seller_id": SELLER, "price": 100, "variations": [
            {"id": 21, "available_quantity": 1, "seller_sku": "A"},
            {"id": 22, "available_quantity": 1, "seller_sku": "B"},
            {"id": 23, "available_quantity": 9, "seller_sku": "Z"}]},
        {"id": "MLA3", "seller_id": SELLER, "price": 300, "available_quantity": 1},
    ],
    "tokens": [{"user_id": SELLER, "refresh_token": "TG-seed-1001", "expires_in": 21600}],
}


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own on a free port, so a test may stop and restart it."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            wait_for(lambda: _pings(client), 10, "the private redis-server")
        except BaseException:
            self.stop()
            raise
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not on PATH"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the service is required)", pytrace=False)
        pytest.skip(message)
    server = PrivateRedis(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sandbox_connector(tmp_path: Path, sandbox_url: str) -> Connector:
    """The laptop shape on a migrated SQLite file, talking to the sandbox at ``sandbox_url``."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", ml_api_url=sandbox_url,
                        ml_sandbox=True, ml_client_id="123", ml_client_secret="shh",
                        secret_key=Fernet.generate_key().decode(), rate_limit_per_second=50,
                        application_id=555)
    connector = Connector(settings)
    upgrade(connector.engine)
    return connector
