"""``mappings.csv`` (CONTRACT §3): which listing sells which SKU, with its limits.

Every problem is reported at once, located as ``file:line:column``.
"""

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from adapters.admin_files.csv_cells import neutralise, restore
from connector_core.domain import ids
from connector_core.domain.errors import Problem
from connector_core.domain.inputs import text_problem
from connector_core.domain.limits import MAX_NAME_LENGTH, MAX_SKU_LENGTH
from connector_core.domain.mapping import Listing, MappingRow

REQUIRED_COLUMNS = ("sku", "account", "item_id", "variation_id")
OPTIONAL_COLUMNS = ("safety_stock", "max_quantity", "active")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
TRUE = frozenset({"true", "yes", "1", "y", "t"})
FALSE = frozenset({"false", "no", "0", "n", "f"})


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _parse_count(text: str, name: str) -> int:
    value = text.strip()
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise ValueError(f"{name} must be a whole number from 0 to 999999999, got {text!r}")
    return int(value)


def _check_header(path: Path, line: int, fields: list[str],
                  problems: list[Problem]) -> list[str] | None:
    header = [f.strip().lower() for f in fields]
    before = len(problems)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        problems.append(Problem(f"{path}:{line}:1", f"missing column(s): {', '.join(missing)} "
                                f"(the header must name {', '.join(REQUIRED_COLUMNS)})"))
    for c in header:
        if c not in COLUMNS:
            problems.append(Problem(f"{path}:{line}:{header.index(c) + 1}",
                                    f"unknown column {c!r} (known: {', '.join(COLUMNS)})"))
    for c in sorted({c for c in header if header.count(c) > 1}):
        problems.append(Problem(f"{path}:{line}:{header.index(c) + 1}",
                                f"column {c!r} appears twice"))
    return header if len(problems) == before else None


def _parse_row(path: Path, line: int, header: list[str], fields: list[str], *,
               accounts: set[str], problems: list[Problem]) -> MappingRow | None:
    if len(fields) != len(header):
        problems.append(Problem(f"{path}:{line}:1", f"expected {len(header)} fields "
                                f"({','.join(header)}), got {len(fields)}"))
        return None
    value = dict(zip(header, fields, strict=True))
    before = len(problems)

    def bad(name: str, message: str) -> None:
        problems.append(Problem(f"{path}:{line}:{header.index(name) + 1}", message))

    sku, account, item_id = (value["sku"].strip(), value["account"].strip(),
                             value["item_id"].strip())
    if not sku:
        bad("sku", "sku is empty")
    elif len(sku) > MAX_SKU_LENGTH:
        bad("sku", f"sku is longer than {MAX_SKU_LENGTH} characters")
    elif text_problem(sku):
        bad("sku", f"sku {text_problem(sku)}")
    if not account:
        bad("account", "account is empty")
    elif account not in accounts:
        bad("account", f"unknown account {account!r} (configure it in [accounts] or with "
                       "`meli-connector accounts add`)")
    if not item_id:
        bad("item_id", "item_id is empty")
    elif len(item_id) > MAX_NAME_LENGTH:
        bad("item_id", f"item_id is longer than {MAX_NAME_LENGTH} characters")
    elif not ids.is_item_id(item_id):  # it becomes a URL path: /items/{item_id}
        bad("item_id", f"item_id {item_id!r} is not an ML item id (three capital letters "
                       "and digits, e.g. MLA1234567890)")
    variation_text = value["variation_id"].strip()
    variation: int | None = None
    if variation_text:
        if re.fullmatch(r"[1-9][0-9]{0,17}", variation_text):
            variation = int(variation_text)
        else:
            bad("variation_id", "variation_id must be a positive whole number or empty, "
                                f"got {variation_text!r}")
    numbers: dict[str, int | None] = {"safety_stock": 0, "max_quantity": None}
    for name in numbers:
        if value.get(name, "").strip():
            try:
                numbers[name] = _parse_count(value[name], name)
            except ValueError as exc:
                bad(name, str(exc))
    active = True
    if value.get("active", "").strip():
        try:
            active = _parse_bool(value["active"])
        except ValueError as exc:
            bad("active", f"active: {exc}")
    if len(problems) > before:
        return None
    try:
        return MappingRow(sku=sku, listing=Listing(account, item_id, variation),
                          safety_stock=numbers["safety_stock"] or 0,
                          max_quantity=numbers["max_quantity"], active=active)
    except ValueError as exc:
        problems.append(Problem(f"{path}:{line}:1", str(exc)))
        return None


def read_mappings_csv(path: Path, known_accounts: Iterable[str], problems: list[Problem],
                      text: str | None = None) -> tuple[list[MappingRow], dict[Listing, str]]:
    """Rows of the CSV, each problem located; ``known_accounts`` are the valid account names."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            problems.append(Problem(str(path), f"cannot read: {exc.strerror}"))
            return [], {}
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(path), f"not UTF-8 text (byte {exc.start})"))
            return [], {}
    accounts = set(known_accounts)
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[MappingRow] = []
    first_seen: dict[Listing, int] = {}
    locations: dict[Listing, str] = {}
    for cells in reader:
        line = reader.line_num
        fields = [restore(cell) for cell in cells]
        if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = _check_header(path, line, fields, problems)
            if header is None:
                return [], {}
            continue
        row = _parse_row(path, line, header, fields, accounts=accounts, problems=problems)
        if row is None:
            continue
        where = f"{path}:{line}:{header.index('item_id') + 1}"
        if row.listing in first_seen:
            problems.append(Problem(where, f"listing {row.listing} appears more than once "
                                           f"(first on line {first_seen[row.listing]})"))
            continue
        first_seen[row.listing] = line
        locations[row.listing] = where
        rows.append(row)
    if header is None:
        problems.append(Problem(f"{path}:1:1", f"empty file: expected the header "
                                               f"{','.join(COLUMNS)}"))
    return rows, locations



def write_mappings_csv(rows: Iterable[MappingRow], out: TextIO) -> None:
    """The applied table as CSV, in the format :func:`read_mappings_csv` reads; no cell
    starts a spreadsheet formula (:mod:`adapters.admin_files.csv_cells`)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([neutralise(row.sku), neutralise(row.listing.account),
                         row.listing.item_id,
                         "" if row.listing.variation_id is None else row.listing.variation_id,
                         row.safety_stock,
                         "" if row.max_quantity is None else row.max_quantity,
                         "true" if row.active else "false"])
