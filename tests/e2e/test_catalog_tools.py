"""``mappings verify`` and ``mappings discover`` against the sandbox seeded with a catalog of
more than 1,000 listings (past ML's 1,000-offset limit, so the search switches to a scan),
driven through the CLI as an admin runs them."""

import csv
import io
import json
import math
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.fernet import Fernet

from adapters.sql.admin import apply_admin_tables, stored_table
from adapters.sql.migrate import upgrade
from config.bootstrap import Connector
from config.settings import Settings
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from ml_sandbox.server import start_sandbox

pytestmark = pytest.mark.e2e

SELLER = 1001
ITEMS = 1200  # plus the planted ones
APP = {"client_id": "123", "client_secret": "shh", "application_id": 555}


def item_id(n: int) -> str:
    return f"MLA{100000 + n}"


def catalog(*, faulty: bool) -> list[dict]:
    """``ITEMS`` clean items (every 10th with three variations), then planted ones."""
    items = []
    for n in range(ITEMS):
        spec: dict = {"id": item_id(n), "seller_id": SELLER, "title": f"Product {n}",
                      "price": 100, "available_quantity": 5}
        if n % 10 == 0:
            spec["variations"] = [{"id": n * 10 + k, "available_quantity": 1,
                                   "seller_sku": f"SKU-{n}-{k}"} for k in (1, 2, 3)]
        elif n % 7 == 0:  # the SKU in seller_custom_field rather than the attribute
            spec["seller_custom_field"] = f"SKU-{n}"
        else:
            spec["seller_sku"] = f"SKU-{n}"
        items.append(spec)
    # A listing without any SKU, two unrelated products carrying one SKU, the same product
    # listed twice (classic and premium: same title), and a closed item.
    items += [
        {"id": "MLA900001", "seller_id": SELLER, "title": "Sin SKU", "available_quantity": 1},
        {"id": "MLA900002", "seller_id": SELLER, "title": "Mate de calabaza",
         "seller_sku": "DUP", "available_quantity": 1},
        {"id": "MLA900003", "seller_id": SELLER, "title": "Bombilla de alpaca",
         "seller_sku": "DUP", "available_quantity": 1},
        {"id": "MLA900004", "seller_id": SELLER, "title": "Termo  1L", "seller_sku": "TERMO",
         "available_quantity": 1, "listing_type_id": "gold_special"},
        {"id": "MLA900005", "seller_id": SELLER, "title": "termo 1l", "seller_sku": "TERMO",
         "available_quantity": 1, "listing_type_id": "gold_pro"},
        {"id": "MLA900006", "seller_id": SELLER, "title": "Cerrado", "seller_sku": "CLOSED",
         "status": "closed"},
        {"id": "MLA900007", "seller_id": SELLER, "title": "Reabierto", "seller_sku": "CLOSED",
         "available_quantity": 1},  # the closed one listed again
    ]
    if faulty:
        items += [
            {"id": "MLA900010", "seller_id": SELLER, "title": "Wrong SKU", "seller_sku": "ZZZ",
             "available_quantity": 1},
            {"id": "MLA900011", "seller_id": SELLER, "title": "Dolares", "seller_sku": "USD-1",
             "currency_id": "USD", "available_quantity": 1},
        ]
    return items


def clean_rows() -> list[MappingRow]:
    """The rows the clean part of the catalog deserves."""
    rows = []
    for n in range(ITEMS):
        if n % 10 == 0:
            rows += [MappingRow(f"SKU-{n}-{k}", Listing("main", item_id(n), n * 10 + k))
                     for k in (1, 2, 3)]
        else:
            rows.append(MappingRow(f"SKU-{n}", Listing("main", item_id(n))))
    return rows


FAULTY_ROWS = [
    MappingRow("WRONG", Listing("main", "MLA900010")),  # ML says ZZZ
    MappingRow("SKU-20-9", Listing("main", item_id(20), 209)),  # deleted variation
    MappingRow("CLOSED", Listing("main", "MLA900006")),  # closed item
    MappingRow("GHOST", Listing("main", "MLA999999")),  # no such item
    MappingRow("SKU-30", Listing("main", item_id(30))),  # has variations, no variation id
    MappingRow("USD-1", Listing("main", "MLA900011")),  # priced in USD on MLA
    MappingRow("NOSKU", Listing("main", "MLA900001")),  # ML has no SKU: a warning
    MappingRow("OFF", Listing("main", "MLA999998"), active=False),  # inactive: not checked
]


def start(tmp_path, monkeypatch, *, faulty: bool, rows: list[MappingRow]):
    sandbox = start_sandbox()
    httpx.post(f"{sandbox.url}/_sandbox/seed", json={
        "app": APP, "sellers": [{"id": SELLER, "nickname": "TIENDA", "site_id": "MLA"}],
        "items": catalog(faulty=faulty),
        "tokens": [{"user_id": SELLER, "refresh_token": "TG-seed-1001",
                    "expires_in": 21600}]}).raise_for_status()
    database_url = f"sqlite:///{tmp_path / 'c.db'}"
    monkeypatch.setenv("DATABASE_URL", database_url)  # `mappings apply` reads the settings
    settings = Settings(database_url=database_url, ml_api_url=sandbox.url, ml_sandbox=True,
                        ml_client_id="123",
                        ml_client_secret="shh", secret_key=Fernet.generate_key().decode(),
                        rate_limit_per_second=1000, application_id=555)
    connector = Connector(settings)
    upgrade(connector.engine)
    with connector.uow as uow:
        apply_admin_tables(uow.session, MappingTable(rows),
                           accounts=[Account("main", SELLER, "MLA")])
        uow.commit()
    connector.tokens.save("main", TokenSet(access_token="", refresh_token="TG-seed-1001",
                                           expires_at=datetime.now(UTC) - timedelta(seconds=1),
                                           user_id=SELLER))
    return connector, sandbox


@pytest.fixture
def worlds(tmp_path, monkeypatch):
    made = []

    def make(*, faulty: bool, rows: list[MappingRow]):
        world = start(tmp_path, monkeypatch, faulty=faulty, rows=rows)
        made.append(world)
        return world
    yield make
    for connector, sandbox in made:
        connector.close()
        sandbox.stop()


def run(connector, capsys, *argv):
    from config import jobs
    from config.cli import main

    jobs.use(connector)
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def item_calls(sandbox):
    """ML calls other than the token refresh, cleared after reading."""
    calls = httpx.get(f"{sandbox.url}/_sandbox/calls").json()
    httpx.delete(f"{sandbox.url}/_sandbox/calls").raise_for_status()
    return [c for c in calls if c["path"] != "/oauth/token"]


def test_verify_reports_each_planted_fault_and_nothing_else(worlds, capsys):
    connector, sandbox = worlds(faulty=True, rows=clean_rows() + FAULTY_ROWS)
    item_calls(sandbox)
    code, out, err = run(connector, capsys, "mappings", "verify")
    lines = out.splitlines()
    assert code == 1, err
    assert lines[:-1] == [
        "sku=CLOSED item_id=MLA900006 variation_id=: the item is closed (ML says "
        "status=closed); stranded: its SKU is now sold by MLA900007 (a User Products "
        "migration or a re-listing): `mappings discover main` proposes the new rows",
        "sku=GHOST item_id=MLA999999 variation_id=: the item does not exist (ML says 404 "
        "resource not found)",
        "warning: sku=NOSKU item_id=MLA900001 variation_id=: ML has no SKU on this listing "
        "(no SELLER_SKU attribute nor seller_custom_field): cannot confirm it sells this SKU",
        "sku=SKU-20-9 item_id=MLA100020 variation_id=209: the variation does not exist on the "
        "item (deleted?) (ML says variations 201, 202, 203)",
        "sku=SKU-30 item_id=MLA100030 variation_id=: the item has variations but the row has "
        "no variation id: map each variation (ML says variations 301, 302, 303)",
        "sku=USD-1 item_id=MLA900011 variation_id=: the listing is priced in USD but the "
        "pricing rules work in ARS, the currency of MLA (ML says currency_id=USD)",
        "sku=WRONG item_id=MLA900010 variation_id=: the SKU does not match (ML says "
        "SELLER_SKU=ZZZ)",
    ]
    rows = len(clean_rows()) + len(FAULTY_ROWS) - 1
    assert lines[-1] == (f"verified {rows} rows over {ITEMS + 5} items: 6 problems, "
                         "1 warnings (1 inactive rows not checked)")
    calls = item_calls(sandbox)
    # One multiget per 20 distinct items, no GET /items/{id} per row; one search by SKU for
    # the closed item (what replaces it).
    assert {c["path"] for c in calls} == {"/items", f"/users/{SELLER}/items/search"}
    multigets = [c for c in calls if c["path"] == "/items"]
    assert len(calls) - len(multigets) == 1
    assert len(multigets) == math.ceil((ITEMS + 5) / 20)
    assert all(len(c["query"]["ids"].split(",")) <= 20 for c in multigets)

    code, out, _ = run(connector, capsys, "mappings", "verify", "main", "--json")
    report = json.loads(out)
    assert code == 1 and report["problems"] == 6 and report["warnings"] == 1
    assert {(f["sku"], f["item_id"], f["variation_id"]) for f in report["findings"]} == {
        ("CLOSED", "MLA900006", None), ("GHOST", "MLA999999", None),
        ("NOSKU", "MLA900001", None), ("SKU-20-9", "MLA100020", 209),
        ("SKU-30", "MLA100030", None), ("USD-1", "MLA900011", None),
        ("WRONG", "MLA900010", None)}

    code, _, err = run(connector, capsys, "mappings", "verify", "nobody")
    assert code == 2 and err.strip() == ("meli-connector mappings: unknown account 'nobody' "
                                         "(known: main)")


def test_a_warning_alone_passes_unless_strict(worlds, capsys):
    connector, _ = worlds(faulty=False, rows=[
        MappingRow("SKU-1", Listing("main", item_id(1))),
        MappingRow("NOSKU", Listing("main", "MLA900001"))])
    code, out, _ = run(connector, capsys, "mappings", "verify")
    assert code == 0 and out.splitlines()[-1].endswith("0 problems, 1 warnings")
    code, _, _ = run(connector, capsys, "mappings", "verify", "--strict")
    assert code == 1


def test_discover_apply_verify_from_an_empty_table(worlds, capsys, tmp_path):
    connector, sandbox = worlds(faulty=False, rows=[])
    item_calls(sandbox)
    proposal = tmp_path / "mappings.csv"
    code, out, err = run(connector, capsys, "mappings", "discover", "main", "-o",
                         str(proposal), "--json")
    assert code == 0, err
    summary = json.loads(out)
    total = ITEMS + 7
    assert summary["items"] == total and summary["kept"] == 0
    assert summary["proposed"] == len(clean_rows()) + 3  # TERMO twice (one product), CLOSED
    assert [f["item_id"] for f in summary["no_sku"]] == ["MLA900001"]
    assert [(c["sku"], sorted(f["item_id"] for f in c["listings"]))
            for c in summary["conflicts"]] == [("DUP", ["MLA900002", "MLA900003"])]
    assert summary["closed"] == ["MLA900006"]
    assert "no SKU on ML, not proposed: item_id=MLA900001 variation_id= ('Sin SKU')" in err
    assert "sku=DUP is on listings of different products, not proposed" in err
    assert "closed, skipped: item_id=MLA900006" in err

    calls = item_calls(sandbox)
    searches = [c for c in calls if c["path"] == f"/users/{SELLER}/items/search"]
    reads = [c for c in calls if c["path"] == "/items"]
    assert len(calls) == len(searches) + len(reads)
    assert len(reads) == math.ceil(total / 20)
    assert any(c["query"].get("search_type") == "scan" for c in searches)
    assert len(searches) <= 2 + math.ceil(total / 100)

    written = list(csv.DictReader(io.StringIO(proposal.read_text())))
    assert {(r["sku"], r["item_id"]) for r in written} >= {
        ("SKU-7", item_id(7)), ("SKU-10-2", item_id(10)), ("TERMO", "MLA900004"),
        ("TERMO", "MLA900005")}
    assert "DUP" not in {r["sku"] for r in written}
    assert [r["item_id"] for r in written if r["sku"] == "CLOSED"] == ["MLA900007"]

    toml = tmp_path / "connector.toml"
    toml.write_text('[accounts.main]\nuser_id = 1001\nsite_id = "MLA"\n')
    code, out, err = run(connector, capsys, "mappings", "apply", str(proposal), "--config",
                         str(toml))
    assert code == 0, err
    assert f"mappings: {summary['proposed']} added, 0 changed, 0 removed" in out

    code, out, err = run(connector, capsys, "mappings", "verify")
    assert code == 0, out
    assert out.splitlines() == [f"verified {summary['proposed']} rows over {total - 4} "
                                "items: 0 problems, 0 warnings"]


def test_discover_keeps_existing_rows_as_they_are(worlds, capsys):
    kept = [
        MappingRow("SKU-1", Listing("main", item_id(1)), safety_stock=3, max_quantity=7),
        MappingRow("MY-OWN", Listing("main", item_id(2)), active=False),  # ML says SKU-2
        MappingRow("SKU-10-1", Listing("main", item_id(10), 101), safety_stock=1),
        MappingRow("CLOSED", Listing("main", "MLA900006")),  # closed on ML: kept, reported
        MappingRow("DUP", Listing("main", "MLA900002"), max_quantity=2),
    ]
    connector, _ = worlds(faulty=False, rows=kept)
    code, out, err = run(connector, capsys, "mappings", "discover", "main")
    assert code == 0, err
    written = {(r["item_id"], r["variation_id"]): r for r in csv.DictReader(io.StringIO(out))}
    assert written[(item_id(1), "")] == {
        "sku": "SKU-1", "account": "main", "item_id": item_id(1), "variation_id": "",
        "safety_stock": "3", "max_quantity": "7", "active": "true"}
    assert written[(item_id(2), "")]["sku"] == "MY-OWN"
    assert written[(item_id(2), "")]["active"] == "false"
    assert written[(item_id(10), "101")]["safety_stock"] == "1"
    assert written[("MLA900006", "")]["sku"] == "CLOSED"
    assert written[("MLA900002", "")]["max_quantity"] == "2"
    assert written[("MLA900007", "")]["sku"] == "CLOSED"  # re-listed: not another product
    assert written[(item_id(10), "102")]["sku"] == "SKU-10-2"  # proposed next to it
    # DUP: the mapped listing stays; the unrelated product with the same SKU is not proposed.
    assert ("MLA900003", "") not in written
    assert "sku=DUP is on listings of different products, not proposed: item_id=MLA900003" \
        in err
    assert "already mapped: item_id=MLA900002" in err
    assert ("mapped but not an open listing of the seller, kept as is (run `mappings "
            "verify`): sku=CLOSED item_id=MLA900006") in err
    with connector.uow as uow:
        stored, _, _ = stored_table(uow.session)
    assert set(stored) == set(kept)  # nothing applied


def test_discover_json_needs_a_file_and_an_account(worlds, capsys):
    connector, _ = worlds(faulty=False, rows=[])
    code, out, err = run(connector, capsys, "mappings", "discover", "main", "--json")
    assert code == 2 and out == ""
    assert err.strip() == ("meli-connector mappings: --json prints the summary on stdout: "
                           "give -o FILE for the CSV")
    code, _, err = run(connector, capsys, "mappings", "discover", "nobody")
    assert code == 2 and "unknown account 'nobody'" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_stderr_and_leaves_stdout_as_it_was(worlds, capsys, monkeypatch):
    connector, _ = worlds(faulty=False, rows=clean_rows())
    # not a terminal (a pipe, a log): plain lines on stderr, the CSV alone on stdout
    code, piped, err = run(connector, capsys, "mappings", "discover", "main")
    assert code == 0
    lines = err.splitlines()
    shown = [line for line in lines if line.startswith("discover: ") and "items read" in line]
    assert shown[-1] == "discover: 1207/1207 items read (100%)"
    assert 2 <= len(shown) <= 11  # about one a tenth, not one per multiget (61)
    assert "items read" not in piped
    assert piped.splitlines()[0].split(",")[:3] == ["sku", "account", "item_id"]
    code, out, err = run(connector, capsys, "mappings", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True  # stdout parses: nothing else on it
    assert f"verify: {ITEMS}/{ITEMS} items read (100%)" in err.splitlines()
    # on a terminal: a bar redrawn in place on stderr, and the very same stdout
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, on_terminal, _ = run(connector, capsys, "mappings", "discover", "main")
    assert code == 0 and on_terminal == piped
    drawn = terminal.getvalue()
    assert "\r" in drawn and "discover" in drawn and "1207/1207" in drawn
    assert "discover: 20/1207 items read (1%)" not in drawn


def test_verify_names_the_file_row_of_each_problem(worlds, capsys, tmp_path):
    connector, _ = worlds(faulty=True, rows=clean_rows() + FAULTY_ROWS)
    code, exported, _ = run(connector, capsys, "mappings", "export")
    assert code == 0
    path = tmp_path / "mappings.csv"
    path.write_text(exported)
    ghost_line = next(n for n, text in enumerate(exported.splitlines(), start=1)
                      if ",MLA999999," in text)
    code, out, _ = run(connector, capsys, "mappings", "verify", "--file", str(path))
    assert code == 1
    assert f"{path}:{ghost_line}: sku=GHOST item_id=MLA999999 variation_id=: the item does " \
           "not exist" in out
    findings = out.splitlines()[:-1]
    assert findings and all(line.startswith(f"{path}:") for line in findings)
    code, _, err = run(connector, capsys, "mappings", "verify", "--file",
                       str(tmp_path / "missing.csv"))
    assert code == 2 and err.startswith("meli-connector mappings: --file:")
