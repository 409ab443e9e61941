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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from config.demo_story import (
    ACCOUNT,
    Story,
    example_files,
    expect,
    listings,
)


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
