"""Calls to ML per ERP stock change on a User Products seller, by the number of items of a UP.

Three UPs, sold by 1, 3 and 10 items (one SKU each), on the bundled sandbox (in-process jobs,
SQLite in a temporary directory, loopback only). Each ERP change is settled before the next
(no coalescing helps), and the calls the connector makes for it are counted:

* ``per UP, one store``: a UP seller without multi-origin stock: the connector writes the
  UP's stock through one of its items (multiget + one PUT);
* ``per UP, two stores``: a multi-origin seller with two warehouses: one multiget, the UP's
  stock read and one write on ``/user-products/{id}/stock``;
* ``per item (baseline)``: the same one-store seller pushed as the connector did before it
  knew User Products: every item read and written on its own (ML's replication of the first
  write reaches the other items after the pushes have read them, as it lags on ML).

Target: the connector's calls per change do not grow with the items of the UP (up to 20
items: one multiget), where the baseline grows by two calls per item.

    .venv/bin/python bench/up_calls.py [--changes 20]
"""

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import machine
from cryptography.fernet import Fernet

from adapters.sql.admin import apply_admin_tables
from adapters.sql.migrate import upgrade
from config.bootstrap import Connector
from config.settings import Settings
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.commands import RefreshUserProducts
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.domain.user_products import StoreRef
from ml_sandbox import SandboxState
from ml_sandbox.server import start_sandbox

SIZES = (1, 3, 10)
ONE, TWO = 3001, 3002  # sellers: one store / two stores (multi-origin)
STORES = (StoreRef("north", "71001", "ARP71001"), StoreRef("south", "71002", "ARP71002"))


def _seed() -> dict[str, Any]:
    items = []
    for seller, prefix in ((ONE, "MLA6"), (TWO, "MLA7")):
        for size in SIZES:
            for n in range(size):
                items.append({
                    "id": f"{prefix}{size:02d}{n:02d}", "seller_id": seller, "price": 100,
                    "title": f"UP {size}", "seller_sku": f"S{seller}-{size}",
                    "user_product_id": f"MLAU{seller}{size:02d}", "available_quantity": 1})
    return {
        "app": {"client_id": "123", "client_secret": "shh", "application_id": 555},
        "sellers": [
            {"id": ONE, "site_id": "MLA", "user_product_seller": True},
            {"id": TWO, "site_id": "MLA", "user_product_seller": True,
             "warehouse_management": True, "stores": [
                 {"id": s.store_id, "network_node_id": s.network_node_id} for s in STORES]}],
        "items": items,
        "tokens": [{"user_id": u, "refresh_token": f"TG-bench-{u}", "expires_in": 21600}
                   for u in (ONE, TWO)]}


class PerItemConnector(Connector):
    """The baseline: the connector without its User Products routing (one push per item)."""

    @property
    def user_products(self) -> Any:
        return None


def run(kind: str, changes: int) -> dict[int, float]:
    seller = TWO if kind == "per UP, two stores" else ONE
    account = Account("up", seller, "MLA", warehouses=frozenset({"north", "south"}),
                      stores=STORES if seller == TWO else ())
    prefix = "MLA7" if seller == TWO else "MLA6"
    rows = [MappingRow(f"S{seller}-{size}", Listing("up", f"{prefix}{size:02d}{n:02d}"))
            for size in SIZES for n in range(size)]
    state = SandboxState()  # ML's replication lags the write (0.5 s)
    state.seed(_seed())
    per_change: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, start_sandbox(state) as sandbox:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                            ml_api_url=sandbox.url, ml_sandbox=True, ml_client_id="123",
                            ml_client_secret="shh", secret_key=Fernet.generate_key().decode(),
                            rate_limit_per_second=200, application_id=555)
        cls = PerItemConnector if kind == "per item (baseline)" else Connector
        connector = cls(settings)
        try:
            upgrade(connector.engine)
            with connector.uow as uow:
                apply_admin_tables(uow.session, MappingTable(rows), accounts=[account])
                uow.commit()
            connector.tokens.save("up", TokenSet(
                access_token="", refresh_token=f"TG-bench-{seller}", user_id=seller,
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            if cls is Connector:
                connector.jobs.handle(RefreshUserProducts("up"))  # `accounts list --refresh`
            settle(connector)
            for size in SIZES:
                sku = f"S{seller}-{size}"
                since = sandbox.calls()[-1]["time"] if sandbox.calls() else 0.0
                for change in range(changes):
                    connector.bridge.stock_changed(updates=[
                        {"sku": sku, "quantity": 10 + change, "warehouse": "north"},
                        {"sku": sku, "quantity": 5 + change % 3, "warehouse": "south"}])
                    settle(connector)
                    sandbox.flush_replications()  # the next change starts converged
                calls = [c for c in sandbox.calls() if c["time"] > since
                         and c["path"] != "/oauth/token"]
                per_change[size] = len(calls) / changes
        finally:
            connector.close()
    return per_change


def settle(connector: Connector) -> None:
    connector.jobs.dispatch()
    connector.queue.join()  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20, help="ERP changes per UP (20)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.changes} ERP stock changes per UP, each settled before the next; "
          f"ML calls per change (token refreshes left out), by items per UP")
    results = {kind: run(kind, args.changes) for kind in (
        "per UP, one store", "per UP, two stores", "per item (baseline)")}
    ok = True
    for kind, figures in results.items():
        cells = "  ".join(f"{size:2d} items: {figures[size]:5.2f}" for size in SIZES)
        flat = len(set(figures.values())) == 1
        if kind != "per item (baseline)":
            ok = ok and flat
        print(f"  {kind:20} {cells}  ({'the same for every size' if flat else 'grows'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
