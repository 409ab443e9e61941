"""Every account's missed feed is read with that account's own token (issue 16 item 7)."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from adapters.sql.admin import apply_admin_tables
from adapters.sql.migrate import upgrade
from adapters.sql.rows.jobs import InboxRow
from config.bootstrap import Connector
from config.settings import Settings
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import MappingTable
from ml_sandbox.server import start_sandbox

pytestmark = pytest.mark.e2e

SELLERS = {"north": 2001, "south": 2002}
SEED = {
    "app": {"client_id": "123", "client_secret": "shh", "application_id": 555},
    "sellers": [{"id": user_id, "nickname": name.upper(), "site_id": "MLA"}
                for name, user_id in SELLERS.items()],
    "tokens": [{"user_id": user_id, "refresh_token": f"TG-seed-{user_id}", "expires_in": 21600}
               for user_id in SELLERS.values()],
}


@pytest.fixture
def two_accounts(tmp_path):
    sandbox = start_sandbox()
    try:
        httpx.post(f"{sandbox.url}/_sandbox/seed", json=SEED).raise_for_status()
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}",
                            ml_api_url=sandbox.url, ml_sandbox=True, ml_client_id="123",
                            ml_client_secret="shh", secret_key=Fernet.generate_key().decode(),
                            rate_limit_per_second=50, application_id=555)
        connector = Connector(settings)
        try:
            upgrade(connector.engine)
            with connector.uow as uow:
                apply_admin_tables(uow.session, MappingTable([], []), accounts=[
                    Account(name, user_id, "MLA") for name, user_id in SELLERS.items()])
                uow.commit()
            for name, user_id in SELLERS.items():
                connector.tokens.save(name, TokenSet(
                    access_token="", refresh_token=f"TG-seed-{user_id}", user_id=user_id,
                    expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            yield connector, sandbox
        finally:
            connector.close()
    finally:
        sandbox.stop()


def test_two_accounts_with_missed_feeds_each_both_recovered_with_the_right_token(
        two_accounts):
    connector, sandbox = two_accounts
    for user_id in SELLERS.values():
        for n in (1, 2):  # ML never delivered these: they are only in /missed_feeds
            httpx.post(f"{sandbox.url}/_sandbox/notify", json={
                "topic": "orders_v2", "resource": f"/orders/{user_id}{n}", "user_id": user_id,
                "drop": True}).raise_for_status()
    httpx.delete(f"{sandbox.url}/_sandbox/calls").raise_for_status()

    lines = connector.scheduler.reconcile_now()

    assert lines[-1] == "missed notifications recovered: 4"
    with connector.uow as uow:
        stored = sorted((row.user_id, row.resource) for row in uow.session.scalars(
            select(InboxRow)))
    assert stored == sorted((user_id, f"/orders/{user_id}{n}")
                            for user_id in SELLERS.values() for n in (1, 2))
    feeds = [c for c in httpx.get(f"{sandbox.url}/_sandbox/calls").json()
             if c["path"] == "/missed_feeds"]
    assert [c["status"] for c in feeds] == [200, 200]  # one page per account
