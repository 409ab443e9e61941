"""ML's 404 on an order read is a final answer: recorded once, never retried (issue 16 item 6)."""

import logging

import httpx
import pytest
from sqlalchemy import select

from adapters.sql.rows.events import AuditRow
from adapters.sql.rows.jobs import JobRow
from tests.e2e.conftest import SELLER
from tests.e2e.test_in_process_flows import settle, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e


def test_a_forged_order_notification_costs_one_call_and_is_recorded(world, caplog):  # noqa: F811
    connector, sandbox, client = world
    httpx.delete(f"{sandbox.url}/_sandbox/calls").raise_for_status()
    forged = {"resource": "/orders/987654321", "user_id": SELLER, "topic": "orders_v2",
              "application_id": 555, "attempts": 1}
    with caplog.at_level(logging.WARNING):
        assert client.post("/notifications", json=forged).status_code == 200
        settle(connector)
        connector.jobs.sweep()  # what a later scheduler tick would run again
        settle(connector)

    reads = [c for c in httpx.get(f"{sandbox.url}/_sandbox/calls").json()
             if c["path"].startswith("/orders/")]
    assert [(c["method"], c["path"]) for c in reads] == [("GET", "/orders/987654321")]
    with connector.uow as uow:
        assert uow.session.scalars(select(JobRow)).all() == []  # finished: nothing to retry
        audit = [(a.outcome, a.account, a.reason) for a in uow.session.scalars(
            select(AuditRow).where(AuditRow.action == "order"))]
    assert [(outcome, account) for outcome, account, _ in audit] == [("rejected", "main")]
    assert "order 987654321 not found on ML (final, not retried)" in audit[0][2]
    assert "order 987654321 not found on ML" in caplog.text
