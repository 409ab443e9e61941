"""The after-sale end-to-end world: the bundled sandbox posting its notifications over real
sockets to the connector's web app (served on a thread), SQLite, in-process jobs, the real ML
gateway, and answer rules in the settings."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from werkzeug.serving import make_server

from adapters.sql.admin import apply_admin_tables
from adapters.sql.migrate import upgrade
from adapters.sql.rows.jobs import InboxRow
from config.bootstrap import Connector
from config.settings import Settings
from config.wsgi import make_app
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from erp_bridge.payloads import event_json
from ml_sandbox.server import RunningSandbox, start_sandbox
from tests.e2e.conftest import SEED, SELLER, wait_for

ERP_TOKEN = "erp-token-0123456789"
AUTH = {"Authorization": f"Bearer {ERP_TOKEN}"}
TABLE = MappingTable([MappingRow("A", Listing("main", "MLA1")),
                      MappingRow("A", Listing("main", "MLA2", 21)),
                      MappingRow("B", Listing("main", "MLA2", 22))], [])
RULES = {"timezone": "America/Argentina/Buenos_Aires", "rules": {
    "envio": {"words": ["envio", "envios"],
              "text": "¡Hola! Sí, {title} sale con envío a todo el país ({price} "
                      "{currency_id})."}}}
SEED_ITEMS = [{**item, "title": f"Producto {item['id']}"} for item in SEED["items"]] + [
    {"id": "MLA9", "seller_id": SELLER, "price": 50, "available_quantity": 500}]


class World:
    def __init__(self, connector: Connector, sandbox: RunningSandbox, url: str) -> None:
        self.connector = connector
        self.sandbox = sandbox
        self.url = url  # the connector's web app
        self.http = httpx.Client(base_url=url, timeout=30)

    def control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = httpx.post(f"{self.sandbox.url}/_sandbox/{path}", json=body or {}, timeout=30)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    def settle(self) -> None:
        """Every notification received so far processed, and every job it led to run."""
        self.connector.jobs.dispatch()
        self.connector.queue.join()  # type: ignore[attr-defined]

    def inbox_count(self, topic: str) -> int:
        with self.connector.uow as uow:
            return int(uow.session.scalar(select(func.count()).select_from(InboxRow)
                                          .where(InboxRow.topic == topic)) or 0)

    def events(self, *types: str) -> list[dict[str, Any]]:
        page = self.connector.bridge.events(limit=500)
        found = [event_json(e) for e in page.events]
        return [e for e in found if not types or e["type"] in types]

    def shipping(self, shipment_id: int) -> list[str]:
        return [e["shipment"]["status"] for e in self.events("order.shipping")
                if e["shipment"]["id"] == shipment_id]

    def question_events(self, question_id: int) -> list[str]:
        return [e["type"] for e in self.events() if e.get("question_id") == question_id]

    def order(self, item_id: str = "MLA1", **extra: Any) -> dict[str, Any]:
        created = self.control("orders", {"seller_id": SELLER, "item_id": item_id,
                                          "quantity": 1, "status": "paid", **extra})
        order: dict[str, Any] = created["order"]
        return order

    def move(self, shipment_id: int, status: str, **extra: Any) -> None:
        self.control(f"shipments/{shipment_id}/status", {"status": status, **extra})

    def ask(self, text: str, **extra: Any) -> int:
        asked = self.control("questions", {"item_id": "MLA1", "text": text, **extra})
        return int(asked["question"]["id"])

    def labels(self, *ids: int | str, label_format: str = "pdf") -> httpx.Response:
        return self.http.get("/erp/shipments/labels", headers=AUTH, params={
            "ids": ",".join(map(str, ids)), "format": label_format})

    def answer(self, question_id: int | str, body: Any) -> httpx.Response:
        return self.http.post(f"/erp/questions/{question_id}/answer", headers=AUTH, json=body)

    def wait_inbox(self, topic: str, count: int) -> None:
        wait_for(lambda: self.inbox_count(topic) >= count, 10,
                 f"{count} {topic} notification(s) in the inbox")


@contextmanager
def after_sale_world(tmp_path: Path) -> Iterator[World]:
    sandbox = start_sandbox()
    httpx.post(f"{sandbox.url}/_sandbox/seed",
               json={**SEED, "items": SEED_ITEMS}).raise_for_status()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", ml_api_url=sandbox.url,
                        ml_sandbox=True, ml_client_id="123", ml_client_secret="shh",
                        secret_key=Fernet.generate_key().decode(), rate_limit_per_second=100,
                        application_id=555, erp_api_token=ERP_TOKEN,
                        raw={"questions": RULES})
    connector = Connector(settings)
    upgrade(connector.engine)
    with connector.uow as uow:
        apply_admin_tables(uow.session, TABLE, accounts=[Account("main", SELLER, "MLA")])
        uow.commit()
    connector.tokens.save("main", TokenSet(access_token="", refresh_token="TG-seed-1001",
                                           expires_at=datetime.now(UTC) - timedelta(seconds=1),
                                           user_id=SELLER))
    server = make_server("127.0.0.1", 0, make_app(connector), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}"
    httpx.post(f"{sandbox.url}/_sandbox/config", json={
        "callback_url": f"{url}/notifications",
        "notify_topics": ["shipments", "questions"]}).raise_for_status()
    world = World(connector, sandbox, url)
    try:
        yield world
    finally:
        # the sandbox's notification threads (ML notifies after answering) end first: none
        # may still post, or draw random numbers, while the next test runs
        wait_for(lambda: not any(t.name.endswith("(emit)") for t in threading.enumerate()),
                 30, "the sandbox's notifications")
        world.settle()
        world.http.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
        connector.close()
        sandbox.stop()
