"""``meli-connector demo``: the main job on embedded defaults (CONTRACT §4).

SQLite in a temporary directory, jobs in-process (``REDIS_URL`` is ignored), the bundled ML
sandbox on a thread, a generated ``CONNECTOR_SECRET_KEY``; the example ``connector.toml`` and
``mappings.csv`` shipped in the ``config`` package. Then a short story is told with
before/after tables of the ML listings: stock published, a sale moving the other listings, the
ERP accounting for it, a cancellation, a cost change and a rejected price; then the sale ships
with its label printed, a buyer's question is answered by a rule, and a User Products seller
with two warehouses gets its stock per store (``config/demo_up.py``).
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from config.bootstrap import Connector
    from ml_sandbox.server import RunningSandbox

ACCOUNT = "demo"
SELLER = 123456789
HEADERS = ("item", "variation", "SKU", "quantity", "price", "status")


def example_files() -> tuple[Path, Path]:
    """``connector.toml`` and ``mappings.csv``: next to this package (they are package data,
    so an installed copy has them too), else under ``./config``."""
    here = Path(__file__).resolve().parent.parent
    for base in (here, Path.cwd() / "config"):
        toml, csv = base / "connector.toml", base / "mappings.csv"
        if toml.is_file() and csv.is_file():
            return toml, csv
    from connector_core.domain.errors import InvalidInput

    raise InvalidInput(f"the example config/connector.toml and config/mappings.csv are not in "
                       f"{here} nor in {Path.cwd() / 'config'}")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS) -> str:
    """A plain-text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join(["  " + line(cells[0]), "  " + rule, *("  " + line(r) for r in cells[1:])])


def _price(value: Any) -> str:
    number = float(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"


def listings(sandbox: "RunningSandbox", skus: dict[tuple[str, int | None], str]
             ) -> list[tuple[Any, ...]]:
    """(item, variation, SKU, quantity, price, status) of every listing on ML, as ML has it;
    the SKU is the mapping table's."""
    rows: list[tuple[Any, ...]] = []
    for item_id, item in sorted(sandbox.state.items.items()):
        if item.get("seller_id") != SELLER:
            continue
        status = item.get("status", "active")
        if item.get("variations"):
            for var in item["variations"]:
                rows.append((item_id, var["id"], skus.get((item_id, var["id"]), ""),
                             var["available_quantity"], _price(var.get("price", item["price"])),
                             status))
        else:
            rows.append((item_id, "", skus.get((item_id, None), ""),
                         item["available_quantity"], _price(item["price"]), status))
    return rows


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise RuntimeError(f"the demo went wrong: expected {what}")


class Story:
    """The demo's world and its narrator."""

    def __init__(self, connector: "Connector", sandbox: "RunningSandbox", out: TextIO,
                 skus: dict[tuple[str, int | None], str]) -> None:
        from config.wsgi import make_app

        self.skus = skus
        self.connector = connector
        self.sandbox = sandbox
        self.out = out
        self.client = make_app(connector).test_client()
        self.shown = listings(sandbox, skus)
        self.notes = 0

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def chapter(self, number: int, title: str) -> None:
        self.say()
        self.say(f"{number}. {title}")

    def settle(self) -> None:
        self.connector.jobs.dispatch()
        self.connector.runtime.settle()

    def show(self, title: str = "ML listings, before -> after") -> None:
        """The listings now, each changed figure shown as ``before -> after``."""
        now = listings(self.sandbox, self.skus)
        before = {(r[0], r[1]): r for r in self.shown}
        rows = []
        for row in now:
            old = before.get((row[0], row[1]), row)
            rows.append(tuple(c if o == c else f"{o} -> {c}"
                              for o, c in zip(old, row, strict=True)))
        self.say(f"   {title}:")
        self.say(table(rows).replace("\n", "\n ").replace("  ", "   ", 1))
        self.shown = now

    def figure(self, item_id: str, variation_id: int | None = None) -> int:
        item = self.sandbox.state.items[item_id]
        if variation_id is None:
            return int(item["available_quantity"])
        var = next(v for v in item["variations"] if v["id"] == variation_id)
        return int(var["available_quantity"])

    def quantities(self, *item_ids: str) -> list[int]:
        return [self.figure(item_id) for item_id in item_ids]

    def order(self, item_id: str, quantity: int, variation_id: int | None = None,
              duplicates: int = 0) -> int:
        """A buyer buys on ML; ML notifies the connector (``1 + duplicates`` times)."""
        import httpx

        body: dict[str, Any] = {"seller_id": SELLER, "item_id": item_id, "quantity": quantity,
                                "status": "paid", "notify": False}
        if variation_id is not None:
            body["variation_id"] = variation_id
        created = httpx.post(f"{self.sandbox.url}/_sandbox/orders", json=body, timeout=10)
        created.raise_for_status()
        order_id = int(created.json()["order"]["id"])
        self.notify(order_id, 1 + duplicates)
        return order_id

    def cancel(self, order_id: int) -> None:
        import httpx

        httpx.post(f"{self.sandbox.url}/_sandbox/orders/{order_id}/cancel",
                   json={"notify": False}, timeout=10).raise_for_status()
        self.notify(order_id, 1)

    def notify(self, order_id: int, times: int) -> None:
        """``times`` identical ``orders_v2`` notifications to ``POST /notifications``."""
        for _ in range(times):
            self.notes += 1
            answer = self.client.post("/notifications", json={
                "_id": f"demo-{order_id}-{self.notes}", "resource": f"/orders/{order_id}",
                "user_id": SELLER, "topic": "orders_v2", "application_id": self.app_id,
                "attempts": 1, "sent": datetime.now(UTC).isoformat()})
            if answer.status_code != 200:
                raise RuntimeError(f"POST /notifications answered {answer.status_code}")

    @property
    def app_id(self) -> int:
        return int(self.connector.settings.application_id or 0)

    def audit_reason(self, item_id: str, needle: str) -> str | None:
        with self.connector.uow as uow:
            for entry in uow.audit.entries(account=ACCOUNT, item_id=item_id, limit=20):
                for part in entry.reason.split("; "):
                    if needle in part:
                        return f"{entry.outcome.value}: {part}"
        return None


def tell(story: Story) -> list[str]:
    """The story; returns what to put in the closing line."""
    from config.demo_after_sale import after_the_sale
    from connector_core.domain.orders import ErpEvent

    bridge = story.connector.bridge
    say = story.say

    say("ML listings on the sandbox, before the connector touches them:")
    story.show("ML listings")

    story.chapter(1, "The ERP reports its free stock; the connector publishes every listing.")
    say("   ERP: MUG-01 12, TEE-BLK-M 6, TEE-BLK-L 3, TEE-WHT-M 4, YERBA-1KG 50 (warehouse main)")
    say("   MUG-01-X2 is a kit of 2 mugs (6 kits); TEE-WHT-M keeps 1 as safety stock; "
        "YERBA-1KG: safety 2, at most 30.")
    bridge.stock_changed(updates=[
        {"sku": "MUG-01", "quantity": 12, "warehouse": "main"},
        {"sku": "TEE-BLK-M", "quantity": 6, "warehouse": "main"},
        {"sku": "TEE-BLK-L", "quantity": 3, "warehouse": "main"},
        {"sku": "TEE-WHT-M", "quantity": 4, "warehouse": "main"},
        {"sku": "YERBA-1KG", "quantity": 50, "warehouse": "main"}])
    story.settle()
    story.show()
    expect(story.quantities("MLA1000000001", "MLA1000000002") == [12, 6], "12 mugs, 6 kits")

    story.chapter(2, "A buyer buys 2 'Set de 2 tazas' (4 mugs) on ML; ML notifies 3 times.")
    sold = story.order("MLA1000000002", 2, duplicates=2)
    story.settle()
    say(f"   order {sold}: ML took 2 off the kit listing itself; the connector holds 4 mugs "
        "and moves the single mug listing 12 -> 8.")
    story.show()
    events = bridge.events()
    kinds = ", ".join(str(e.type) for e in events.events
                      if isinstance(e, ErpEvent) and e.order_id == sold)
    say(f"   ERP event feed: {kinds} (once each, whatever the duplicates)")
    expect(story.quantities("MLA1000000001", "MLA1000000002") == [8, 4], "8 mugs, 4 kits")

    story.chapter(3, "The ERP accounts for the order, then reports the shelf that includes it.")
    bridge.order_accounted(sold)
    bridge.stock_changed("MUG-01", 8, "main")
    story.settle()
    say("   ERP: order accounted; MUG-01 8 on the shelf. The hold is released and the 4 mugs "
        "are not subtracted twice:")
    story.show()
    expect(story.quantities("MLA1000000001", "MLA1000000002") == [8, 4], "8 mugs, 4 kits")

    _cancellation_and_prices(story)
    after_sale = after_the_sale(story, sold)
    final = {(r[0], r[1]): r[3] for r in listings(story.sandbox, story.skus)}
    expect(final == {("MLA1000000001", ""): 8, ("MLA1000000002", ""): 4,
                     ("MLA1000000003", 180000000101): 6, ("MLA1000000003", 180000000102): 3,
                     ("MLA1000000003", 180000000103): 3, ("MLA1000000004", ""): 30},
           f"every listing at its rule 1 figure, got {final}")
    from config.demo_up import tell_user_products

    return [f"{len(story.shown)} listings", "2 orders (1 sold, 1 cancelled)", *after_sale,
            *tell_user_products(story)]


def _cancellation_and_prices(story: Story) -> None:
    bridge = story.connector.bridge
    say = story.say
    story.chapter(4, "A buyer takes 2 black M tees, then the order is cancelled.")
    cancelled = story.order("MLA1000000003", 2, variation_id=180000000101)
    story.settle()
    story.show("ML listings after the sale")
    story.cancel(cancelled)
    story.settle()
    say(f"   order {cancelled} cancelled: its hold is released.")
    story.show("ML listings after the cancellation")
    expect(story.figure("MLA1000000003", 180000000101) == 6, "6 black M tees")

    story.chapter(5, "The ERP sends new costs; prices move to the rule's target, inside "
                     "[floor, ceiling].")
    say("   ERP: MUG-01 cost 2500, TEE-* cost 5000 (rule: target cost x 1.40 after the 13% "
        "fee; floor cost x 1.15 net; ceiling cost x 2.5). The kit costs 2 mugs.")
    bridge.price_changed("MUG-01", cost=2500)
    for sku in ("TEE-BLK-M", "TEE-BLK-L", "TEE-WHT-M"):
        bridge.price_changed(sku, cost=5000)
    story.settle()
    story.show()
    for item_id in ("MLA1000000001", "MLA1000000002", "MLA1000000003"):
        why = story.audit_reason(item_id, "price publish")
        if why:
            say(f"   audit {item_id} -> {why}")

    story.chapter(6, "A cost the pricing rule cannot cover: the price is not published.")
    say("   ERP: YERBA-1KG cost 6500; its rule says net >= cost x 1.10 after a 13% fee, "
        "but max_price is 7000.")
    bridge.price_changed("YERBA-1KG", cost=6500)
    story.settle()
    story.show()
    reason = story.audit_reason("MLA1000000004", "price not published")
    say(f"   audit MLA1000000004 -> {reason or 'no audit entry found'}")
    if reason is None:
        raise RuntimeError("the rejected price was not recorded in the audit log")


@contextmanager
def demo_world(workdir: Path) -> Iterator[Story]:
    from cryptography.fernet import Fernet

    from adapters.admin_files.tables import load_admin_tables
    from adapters.sql.admin import AdminTables
    from adapters.sql.migrate import upgrade
    from config.bootstrap import Connector
    from config.settings import Settings
    from connector_core.domain.accounts import TokenSet
    from ml_sandbox import DEMO_SEED, SandboxState
    from ml_sandbox.server import start_sandbox

    config_path, mappings_path = example_files()
    state = SandboxState()
    state.seed(DEMO_SEED)
    sandbox = start_sandbox(state)
    try:
        base = Settings.load(environ={}, config_path=config_path)
        settings = Settings(
            database_url=f"sqlite:///{workdir / 'demo.db'}", redis_url=None,
            ml_api_url=sandbox.url, ml_sandbox=True,
            ml_client_id=DEMO_SEED["app"]["client_id"],
            ml_client_secret=DEMO_SEED["app"]["client_secret"],
            secret_key=Fernet.generate_key().decode(),
            application_id=int(DEMO_SEED["app"]["application_id"]),
            rate_limit_per_second=base.rate_limit_per_second,
            config_path=config_path, raw=base.raw)
        connector = Connector(settings)
        try:
            upgrade(connector.engine)
            table_, admin = load_admin_tables(mappings_path, config_path)
            wanted = AdminTables(table_, catalog_skus=admin.catalog_skus, policy=admin.policy,
                                 accounts=admin.accounts)
            connector.admin_tables.apply(lambda _stored: wanted, dry_run=False)
            refresh = {t["user_id"]: t["refresh_token"] for t in DEMO_SEED["tokens"]}
            for account in admin.accounts:
                connector.tokens.save(account.name, TokenSet(
                    access_token="", refresh_token=refresh[account.user_id],
                    user_id=account.user_id,
                    expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            skus = {(r.listing.item_id, r.listing.variation_id): r.sku for r in table_.rows
                    if r.listing.account == ACCOUNT}
            story = Story(connector, sandbox, sys.stdout, skus)
            story.say(f"Example config: {config_path} and {mappings_path} "
                      f"({len(table_.rows)} mapping rows, {len(admin.kits)} kit)")
            yield story
        finally:
            connector.close()
    finally:
        sandbox.stop()


def _demo(args: argparse.Namespace) -> int:
    import logging

    started = time.monotonic()
    if not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)
    print("meli-connector demo: SQLite in a temporary directory, jobs in-process, the ML "
          "sandbox on a thread, a generated CONNECTOR_SECRET_KEY.")
    if os.environ.get("REDIS_URL"):
        print("   (REDIS_URL is set and ignored: the demo runs its jobs in-process)")
    with tempfile.TemporaryDirectory(prefix="meli-demo-") as tmp, demo_world(Path(tmp)) as story:
        facts = tell(story)
        calls = story.sandbox.calls()
        puts = sum(1 for c in calls if c["method"] == "PUT")
        events = len(story.connector.bridge.events(limit=500).events)
    elapsed = time.monotonic() - started
    print()
    print(f"demo done in {elapsed:.1f} s: {', '.join(facts)}, {len(calls)} calls to ML "
          f"({puts} PUTs), {events} ERP events; every listing matches the ERP's stock.")
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("demo", help="the connector end to end on embedded defaults "
                                         "(SQLite, in-process jobs, the bundled ML sandbox)")
    parser.set_defaults(handler=_demo)
