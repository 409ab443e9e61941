"""The demo's telling: the example files, the ML listings as a before/after table, and the
:class:`Story` that runs each step and shows what changed (``meli-connector demo``)."""

from collections.abc import Sequence
from datetime import UTC, datetime
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
    here = Path(__file__).resolve().parent
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
