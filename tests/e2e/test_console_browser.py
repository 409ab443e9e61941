"""The operator's console in a real browser: Debian's headless Chromium driven by Playwright,
against the connector's web app on a real socket, the sandbox as ML, SQLite and in-process
jobs (the README's "try it by hand" shape).

``CONSOLE_SCREENSHOTS=docs/images`` writes the screenshots docs/console.md shows.
"""

import os
import re
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from adapters.sql.admin import apply_admin_tables
from adapters.sql.rows.jobs import JobRow
from config import console as console_wiring
from config.bootstrap import Connector
from config.wsgi import make_app
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.errors import InvalidInput
from connector_core.domain.jobs import MAX_ATTEMPTS
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import PricingPolicy, PricingRule
from ml_sandbox.server import start_sandbox
from tests.e2e.conftest import SEED, SELLER, sandbox_connector, wait_for
from webhook_app.console.passwords import hash_password

pytestmark = pytest.mark.e2e

OPERATOR, PASSWORD = "ana", "a long operator password"
PAGES = ["/console/", "/console/listings?q=A", "/console/listings/main/MLA1",
         "/console/orders", "/console/jobs", "/console/verify"]
ACTIONS = ["/console/jobs/retry", "/console/listings/main/MLA1/push", "/console/reconcile",
           "/console/verify", "/console/logout"]
TABLE = MappingTable(
    [MappingRow("A", Listing("main", "MLA1"), safety_stock=1),
     MappingRow("A", Listing("main", "MLA2", 21)), MappingRow("B", Listing("main", "MLA2", 22)),
     MappingRow("KIT", Listing("main", "MLA3"))],
    [Kit("KIT", {"A": 2, "B": 1})])
# A cost whose floor is above the ceiling: the page must say why no price was published.
POLICY = PricingPolicy(default=PricingRule(min_markup="0.3", max_price="120"))


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true: the browser tests may not be skipped",
                        pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def world(tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Connector, str, str]]:
    sandbox = start_sandbox()
    httpx.post(f"{sandbox.url}/_sandbox/seed", json=SEED).raise_for_status()
    connector = sandbox_connector(tmp_path, sandbox.url)
    with connector.uow as uow:
        apply_admin_tables(uow.session, TABLE, policy=POLICY,
                           accounts=[Account("main", SELLER, "MLA")])
        uow.prices.save_erp_price(ErpPrice(sku="A", cost=Decimal("100"),
                                           cost_as_of=datetime.now(UTC)))
        uow.commit()
    connector.tokens.save("main", TokenSet(access_token="", refresh_token="TG-seed-1001",
                                           expires_at=datetime.now(UTC) - timedelta(seconds=1),
                                           user_id=SELLER))
    monkeypatch.setenv("CONSOLE_OPERATORS", f"{OPERATOR}:{hash_password(PASSWORD)}")
    server = make_server("127.0.0.1", 0, make_app(connector), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield connector, f"http://127.0.0.1:{server.server_port}", sandbox.url
    finally:
        server.shutdown()
        thread.join(10)
        connector.close()
        sandbox.stop()


def settle(connector: Connector) -> None:
    connector.jobs.dispatch()
    connector.queue.join()  # type: ignore[attr-defined]


def log_in(page: Page, base: str, start: str = "/console/") -> None:
    page.goto(base + start)
    page.fill("input[name=name]", OPERATOR)
    page.fill("input[name=password]", PASSWORD)
    follow(page, "button[type=submit]")


def follow(page: Page, selector: str) -> None:
    """Click what loads a new page, and wait for that page."""
    with page.expect_navigation():
        page.click(selector)


def shoot(page: Page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"console-{name}.png"), full_page=True)


def test_an_operator_follows_a_sale_to_its_listing_hold_and_audit_line(world, browser,
                                                                        tmp_path):
    connector, base, ml = world
    connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 10, "warehouse": "main"},
                                            {"sku": "B", "quantity": 4, "warehouse": "main"}])
    settle(connector)
    created = httpx.post(f"{ml}/_sandbox/orders", json={
        "seller_id": SELLER, "item_id": "MLA1", "quantity": 3, "status": "paid",
        "callback_url": f"{base}/notifications"}).json()
    order_id = created["order"]["id"]

    def held() -> bool:
        with connector.uow as uow:
            return bool(uow.stock.holds_for_order(order_id))
    wait_for(held, 15, "the sale's hold")
    settle(connector)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, base, "/console/listings?q=a")
    assert re.search(r"/console/listings\?q=a$", page.url)
    follow(page, "text=MLA1")
    body = page.inner_text("main")
    assert f"order {order_id}: 3" in body                       # the hold, with its order
    assert "free(A) = 10 reported - 3 held = 7" in body          # why 6 and not 10
    assert "published = clamp(0, no max, 7 - safety_stock 1) = 6" in body
    assert page.inner_text("#published-0") == "6"
    # newest first: after the sale ML already showed 6, so only the price was left to
    # explain; before it, the ERP's report was sent (10 - safety stock 1)
    lines = page.locator("tr.audit-line").all_inner_texts()
    assert "price not published: floor 130.00 is above ceiling 120.00" in lines[0]
    assert "sent" in lines[-1] and '"available_quantity": 9' in lines[-1]
    assert "floor 130.00 is above ceiling 120.00" in page.inner_text("#price-decision")
    shoot(page, tmp_path, "listing")

    follow(page, f"text={order_id}")
    orders = page.inner_text("main")
    assert "order.created" in orders and "order.paid" in orders and "not yet" in orders
    shoot(page, tmp_path, "orders")
    follow(page, "text=Overview")
    overview = page.inner_text("main")
    assert "database" in overview and "orders_v2" in overview and "connected" in overview
    assert page.locator("svg.chart rect").count() > 0
    shoot(page, tmp_path, "overview")
    follow(page, "text=Verify mappings")
    follow(page, "text=Verify now")
    assert "verified 4 rows over 3 items" in page.inner_text("main")
    page.close()


def test_verify_refuses_a_catalog_too_big_for_a_web_request(world, monkeypatch):
    connector, _, _ = world
    monkeypatch.setattr(console_wiring, "VERIFY_MAX_ITEMS", 2)
    with pytest.raises(InvalidInput, match=r"3 items are mapped.*mappings verify` instead"):
        console_wiring.ConsoleActions(connector).verify_mappings()


def test_an_operator_retries_a_dead_letter_and_the_action_is_audited(world, browser, tmp_path):
    connector, base, _ = world
    connector.bridge.stock_changed(updates=[{"sku": "A", "quantity": 5, "warehouse": "main"}])
    settle(connector)
    with connector.uow as uow:  # a push that failed every attempt while ML was down
        uow.session.add(JobRow(dedup_key="push-main-MLA1", kind="PushItem",
                               command={"type": "PushItem", "account": "main",
                                        "item_id": "MLA1"},
                               created_at=datetime.now(UTC), attempts=MAX_ATTEMPTS,
                               dispatched_at=datetime.now(UTC)))
        uow.commit()
    page = browser.new_page(viewport={"width": 1280, "height": 700})
    log_in(page, base, "/console/jobs")
    assert page.locator("tr.dead-letter").count() == 1
    assert "push-main-MLA1" in page.inner_text("tr.dead-letter")
    shoot(page, tmp_path, "jobs")
    follow(page, "tr.dead-letter button")
    assert "retrying 1 job(s)" in page.inner_text(".flash")

    def done() -> bool:
        with connector.uow as uow:
            return not uow.jobs.waiting()
    wait_for(done, 15, "the retried job to run")
    page.goto(base + "/console/")
    assert re.search(rf"{OPERATOR}\s+retry\s+job-\d+\s+retrying 1 job\(s\)",
                     page.inner_text("main"))
    page.close()


def test_every_page_refuses_without_a_session_and_every_action_without_csrf(world, browser):
    _, base, _ = world
    stranger = browser.new_context()
    for path in PAGES:
        answer = stranger.request.get(base + path, max_redirects=0)
        assert answer.status == 302, path
        assert answer.headers["location"].startswith("/console/login"), path
    for path in ACTIONS:
        assert stranger.request.post(base + path, form={"job": "all"}).status in (400, 403)
    stranger.close()

    operator = browser.new_context()
    page = operator.new_page()
    log_in(page, base)
    assert page.url.endswith("/console/")
    cookie = next(c for c in operator.cookies() if c["name"] == "connector_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    for path in PAGES:
        assert operator.request.get(base + path).status == 200, path
    for path in ACTIONS:
        refused = operator.request.post(base + path, form={"job": "all"})
        assert refused.status == 400, path
        assert "security token" in refused.text()
        forged = operator.request.post(base + path, form={"job": "all", "csrf_token": "x"})
        assert forged.status == 400, path
    assert operator.request.get(base + "/console/").status == 200  # still logged in
    operator.close()
