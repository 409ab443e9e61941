"""A real connector for the module's tests: the bundled ML sandbox, a connector database set
up with the connector's own CLI, and either an in-process bridge (``config.bootstrap``) or
``meli-connector serve`` as a subprocess. Only the connector's public surfaces are used."""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from ml_sandbox import start_sandbox

SELLER = 123456789
ACCOUNT = "demo"
WAREHOUSE = "WH"  # the code of Tryton's default warehouse
MUG, KIT = "MUG-01", "MUG-01-X2"
MUG_ITEM, MUG_ITEM_2, KIT_ITEM = "MLA1000000001", "MLA1000000005", "MLA1000000002"
APP = {"client_id": "sandbox-app", "client_secret": "sandbox-secret",
       "application_id": 5503910054141466}
SEED = {
    "app": APP,
    "sellers": [{"id": SELLER, "nickname": "DEMO_SELLER", "site_id": "MLA"}],
    "items": [
        {"id": MUG_ITEM, "seller_id": SELLER, "title": "Taza", "price": 4500,
         "currency_id": "ARS", "available_quantity": 25, "seller_sku": MUG},
        {"id": MUG_ITEM_2, "seller_id": SELLER, "title": "Taza (outlet)", "price": 4500,
         "currency_id": "ARS", "available_quantity": 3, "seller_sku": MUG},
        {"id": KIT_ITEM, "seller_id": SELLER, "title": "Set de 2 tazas", "price": 8200,
         "currency_id": "ARS", "available_quantity": 10, "seller_sku": KIT},
    ],
    "tokens": [{"user_id": SELLER, "access_token": "APP_USR-demo-access-123456789",
                "refresh_token": "TG-demo-refresh-123456789"}],
}
CONNECTOR_TOML = f"""
[connector]
rate_limit_per_second = 50

[accounts.{ACCOUNT}]
user_id = {SELLER}
site_id = "MLA"
warehouses = ["{WAREHOUSE}"]

[kits."{KIT}"]
components = {{ "{MUG}" = 2 }}

[pricing.default]
strategy = "list_price"
min_markup = 0.15
target_markup = 0.40
max_markup = 1.50
fee_rate = 0.13
fixed_fee = 0
shipping_cost = 0
min_change = 1
"""
MAPPINGS = (f"sku,account,item_id,variation_id\n{MUG},{ACCOUNT},{MUG_ITEM},\n"
            f"{MUG},{ACCOUNT},{MUG_ITEM_2},\n{KIT},{ACCOUNT},{KIT_ITEM},\n")
CLI = str(Path(sys.executable).with_name("meli-connector"))


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ConnectorWorld:
    """Start with :meth:`start`, always :meth:`stop` (it stops every process it started)."""

    def __init__(self):
        self.folder = tempfile.TemporaryDirectory(prefix="meli-tryton-")
        self.sandbox = None
        self.serve = None
        self.connector = None
        self.token = "erp-" + secrets.token_hex(12)
        self.url = None

    @property
    def env(self):
        root = Path(self.folder.name)
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # jobs in-process
        env.update(DATABASE_URL=f"sqlite:///{root / 'connector.db'}",
                   CONNECTOR_CONFIG=str(root / "connector.toml"),
                   ML_API_URL=self.sandbox.url, ML_SANDBOX="1",
                   ML_CLIENT_ID=APP["client_id"], ML_CLIENT_SECRET=APP["client_secret"],
                   CONNECTOR_SECRET_KEY=self.secret_key, ERP_API_TOKEN=self.token)
        return env

    def start(self):
        self.secret_key = Fernet.generate_key().decode()
        self.sandbox = start_sandbox()
        request = urllib.request.Request(f"{self.sandbox.url}/_sandbox/seed",
                                         data=json.dumps(SEED).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()
        root = Path(self.folder.name)
        (root / "connector.toml").write_text(CONNECTOR_TOML)
        (root / "mappings.csv").write_text(MAPPINGS)
        self.cli("db", "upgrade")
        self.cli("mappings", "apply", str(root / "mappings.csv"))
        self.cli("accounts", "add", ACCOUNT, "--user-id", str(SELLER), "--site", "MLA",
                 "--refresh-token-stdin", stdin=SEED["tokens"][0]["refresh_token"])
        return self

    def cli(self, *args, stdin=None):
        done = subprocess.run([CLI, *args], env=self.env, input=stdin, capture_output=True,
                              text=True, timeout=120, check=False)
        if done.returncode:
            raise AssertionError(f"meli-connector {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def in_process_bridge(self):
        """The connector built in this process from the same environment."""
        from config.bootstrap import build
        from config.settings import Settings

        self.connector = build(Settings.load(environ=self.env))
        return self.connector.bridge

    def start_serve(self):
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.serve = subprocess.Popen([CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                      env=self.env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        wait_for(self._healthy, 60, "meli-connector serve to answer /healthz")
        return self.url

    def control(self, path, body):
        """A sandbox control (``/_sandbox/...``); answers its JSON."""
        request = urllib.request.Request(f"{self.sandbox.url}/_sandbox/{path}",
                                         data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def sell(self, item_id, quantity):
        """A buyer pays an order on ML; ML notifies the running connector."""
        order = self.control("orders", {"seller_id": SELLER, "item_id": item_id,
                                        "quantity": quantity, "status": "paid",
                                        "callback_url": f"{self.url}/notifications"})
        return order["order"]["id"]

    def cancel(self, order_id):
        self.control(f"orders/{order_id}/cancel",
                     {"callback_url": f"{self.url}/notifications"})

    def feed(self):
        """The connector's whole event feed, read as the ERP reads it."""
        request = urllib.request.Request(f"{self.url}/erp/events?after=0&limit=500",
                                         headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())["events"]

    def await_events(self, order_id, types, timeout=30):
        def arrived():
            return [e["type"] for e in self.feed() if e["order_id"] == order_id] == types
        wait_for(arrived, timeout, f"the events {types} of order {order_id}")

    def _healthy(self):
        if self.serve.poll() is not None:
            raise AssertionError(f"meli-connector serve exited with {self.serve.returncode}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def listing(self, item_id):
        return self.sandbox.state.items[item_id]

    def figures(self):
        """What ML shows: (mug listing, second mug listing, kit listing)."""
        return tuple(self.listing(i)["available_quantity"]
                     for i in (MUG_ITEM, MUG_ITEM_2, KIT_ITEM))

    def await_figures(self, expected, timeout=30):
        """Wait until ML shows ``expected``; every figure seen meanwhile must stay at or
        below the larger of the figures before and ``expected`` (rule 1: never above)."""
        ceiling = tuple(max(a, b) for a, b in zip(self.figures(), expected, strict=True))

        def reached():
            seen = self.figures()
            assert all(s <= c for s, c in zip(seen, ceiling, strict=True)), \
                f"ML showed {seen}, above {ceiling}"
            return seen == expected

        wait_for(reached, timeout, f"ML to show {expected} (shows {self.figures()})")

    def wait_for_price(self, item_id, good, timeout=30):
        wait_for(lambda: good(self.listing(item_id)["price"]), timeout,
                 f"the price of {item_id} (is {self.listing(item_id)['price']})")

    def stop(self):
        try:
            if self.serve is not None:
                self.serve.terminate()
                try:
                    self.serve.wait(15)
                except subprocess.TimeoutExpired:
                    self.serve.kill()
                    self.serve.wait(15)
            if self.connector is not None:
                self.connector.close()
        finally:
            if self.sandbox is not None:
                self.sandbox.stop()
            self.folder.cleanup()
