"""The admin's files (CONTRACT §3): ``config/connector.toml`` and ``config/mappings.csv``.

Everything is validated before anything is applied, and every problem is reported at once,
located as ``file:line:column``. TOML gives no positions, so they are found by looking for the
table header / key in the file's text (good enough to point an admin at the right line).
"""

import csv
import io
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from attrs import frozen

from config.csv_cells import neutralise, restore
from config.toml_schema import ACCOUNT_KEYS, RULE_KEYS, schema_problems
from connector_core.domain import ids
from connector_core.domain.accounts import SITES, Account
from connector_core.domain.errors import InvalidInput, MappingInvalid, Problem
from connector_core.domain.inputs import text_problem
from connector_core.domain.mapping import (
    MAX_NAME_LENGTH,
    MAX_SKU_LENGTH,
    Kit,
    Listing,
    MappingRow,
    MappingTable,
)
from connector_core.domain.pricing import PricingPolicy, PricingRule

REQUIRED_COLUMNS = ("sku", "account", "item_id", "variation_id")
OPTIONAL_COLUMNS = ("safety_stock", "max_quantity", "active")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
TRUE = frozenset({"true", "yes", "1", "y", "t"})
FALSE = frozenset({"false", "no", "0", "n", "f"})
MAX_REPORTED = 25


@frozen
class AdminConfig:
    """What ``connector.toml`` says about accounts, kits, catalog SKUs and pricing."""

    accounts: tuple[Account, ...] = ()
    kits: tuple[Kit, ...] = ()
    catalog_skus: tuple[str, ...] = ()
    policy: PricingPolicy | None = None  # None: the file has no [pricing] section
    path: Path | None = None


class _TomlLocator:
    """Line and column of a table header or key in a TOML text."""

    _HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.headers: dict[tuple[str, ...], int] = {(): 0}  # the root: keys before any header
        for number, line in enumerate(self.lines, start=1):
            match = self._HEADER.match(line)
            if match:
                self.headers.setdefault(_split_key(match.group(1)), number)

    def where(self, *keys: str) -> str:
        """``file:line:col`` of ``keys`` (a dotted path), as close as can be found."""
        for depth in range(len(keys), -1, -1):
            header = self.headers.get(tuple(keys[:depth]))
            if header is None:
                continue
            rest = keys[depth:]
            if not rest:
                return f"{self.path}:{header}:1"
            key_re = re.compile(rf'^\s*("{re.escape(rest[0])}"|{re.escape(rest[0])})\s*[=.]')
            for number in range(header + 1, len(self.lines) + 1):
                line = self.lines[number - 1]
                if self._HEADER.match(line):
                    break
                match = key_re.match(line)
                if match:
                    col = len(line) - len(line.lstrip()) + 1
                    if len(rest) > 1:  # inline table: find the inner key on the same line
                        inner = re.search(rf'("{re.escape(rest[1])}"|\b{re.escape(rest[1])}\b)'
                                          r"\s*=", line[match.end():])
                        if inner:
                            col = match.end() + inner.start() + 1
                    return f"{self.path}:{number}:{col}"
            return f"{self.path}:{max(header, 1)}:1"
        return f"{self.path}:1:1"


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', text)
    return tuple(a or b or c for a, b, c in parts)


def read_toml(path: Path) -> tuple[dict[str, Any], _TomlLocator]:
    """The file's data and a locator of its tables and keys; :class:`MappingInvalid` with
    the position of a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingInvalid([Problem(str(path), f"cannot read: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise MappingInvalid([Problem(str(path), f"not UTF-8 text (byte {exc.start})")]) \
            from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{path}:{match.group(1)}:{match.group(2)}" if match else str(path)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise MappingInvalid([Problem(where, f"TOML syntax: {message}")]) from exc
    return data, _TomlLocator(path, text)


def _table(value: Any, where: str, what: str, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append(Problem(where, f"{what} must be a table"))
        return {}
    return value


def _accounts(section: Any, loc: _TomlLocator, problems: list[Problem]) -> list[Account]:
    accounts = []
    for name, body in _table(section, loc.where("accounts"), "[accounts]", problems).items():
        if not isinstance(body, dict):
            problems.append(Problem(loc.where("accounts", name), f"[accounts.{name}] must be "
                                    "a table with user_id and site_id"))
            continue
        if set(body) - set(ACCOUNT_KEYS):  # reported by schema_problems
            continue
        user_id, site_id = body.get("user_id"), body.get("site_id")
        warehouses = body.get("warehouses")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id < 1:
            problems.append(Problem(loc.where("accounts", name, "user_id"),
                                    f"account {name!r}: user_id must be a whole number >= 1"))
            continue
        if site_id not in SITES:
            problems.append(Problem(loc.where("accounts", name, "site_id"),
                                    f"account {name!r}: site_id {site_id!r} is not an ML site "
                                    f"({', '.join(sorted(SITES))})"))
            continue
        if len(name) > MAX_NAME_LENGTH:
            problems.append(Problem(loc.where("accounts", name), f"account {name!r}: the name "
                                    f"is longer than {MAX_NAME_LENGTH} characters"))
            continue
        if warehouses is not None and (not isinstance(warehouses, list) or not all(
                isinstance(w, str) and 0 < len(w) <= MAX_NAME_LENGTH for w in warehouses)):
            problems.append(Problem(loc.where("accounts", name, "warehouses"),
                                    f"account {name!r}: warehouses must be a list of names "
                                    f"of 1 to {MAX_NAME_LENGTH} characters"))
            continue
        try:
            accounts.append(Account(name=name, user_id=user_id, site_id=site_id,
                                    warehouses=None if warehouses is None
                                    else frozenset(warehouses)))
        except ValueError as exc:
            problems.append(Problem(loc.where("accounts", name), f"account {name!r}: {exc}"))
    return accounts


def _kits(section: Any, loc: _TomlLocator, problems: list[Problem]) -> list[Kit]:
    kits = []
    for sku, body in _table(section, loc.where("kits"), "[kits]", problems).items():
        where = loc.where("kits", sku)
        if not isinstance(body, dict) or not isinstance(body.get("components"), dict):
            problems.append(Problem(where, f'kit {sku!r}: expected [kits."{sku}"] with '
                                    'components = { "SKU" = units, ... } and nothing else'))
            continue
        too_long = [name for name in (sku, *body["components"]) if len(name) > MAX_SKU_LENGTH]
        if too_long:
            problems.append(Problem(where, f"kit {sku[:40]!r}: SKU {too_long[0][:40]!r}... is "
                                    f"longer than {MAX_SKU_LENGTH} characters"))
            continue
        try:
            kits.append(Kit(sku, body["components"]))
        except (ValueError, TypeError) as exc:
            problems.append(Problem(loc.where("kits", sku, "components"), str(exc)))
    return kits


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"expected a number, got {value!r}") from exc
    return value


def _rule(body: Any, *, what: str, problems: list[Problem], loc: _TomlLocator,
          keys: Sequence[str]) -> PricingRule | None:
    where = loc.where(*keys)
    if not isinstance(body, dict):
        problems.append(Problem(where, f"{what} must be a table"))
        return None
    if set(body) - set(RULE_KEYS):  # reported by schema_problems
        return None
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key == "strategy":
            values[key] = value
            continue
        try:
            values[key] = _number(value)
        except ValueError as exc:
            problems.append(Problem(loc.where(*keys, key), f"{what}: {key}: {exc}"))
            return None
    try:
        return PricingRule(**values)
    except (ValueError, TypeError) as exc:
        problems.append(Problem(where, f"{what}: {exc}"))
        return None


def _pricing(section: Any, loc: _TomlLocator, problems: list[Problem]) -> PricingPolicy:
    section = _table(section, loc.where("pricing"), "[pricing]", problems)
    default = PricingRule()
    if "default" in section:
        default = _rule(section["default"], what="[pricing.default]", problems=problems,
                        loc=loc, keys=("pricing", "default")) or default
    by_sku: dict[str, PricingRule] = {}
    for sku, body in _table(section.get("sku", {}), loc.where("pricing", "sku"),
                            "[pricing.sku]", problems).items():
        rule = _rule(body, what=f'[pricing.sku."{sku}"]', problems=problems, loc=loc,
                     keys=("pricing", "sku", sku))
        if rule is not None:
            by_sku[sku] = rule
    by_listing: dict[Listing, PricingRule] = {}
    for key, body in _table(section.get("listing", {}), loc.where("pricing", "listing"),
                            "[pricing.listing]", problems).items():
        where = loc.where("pricing", "listing", key)
        try:
            listing = _parse_listing(key)
        except (ValueError, InvalidInput) as exc:
            problems.append(Problem(where, f'[pricing.listing."{key}"]: {exc}'))
            continue
        rule = _rule(body, what=f'[pricing.listing."{key}"]', problems=problems, loc=loc,
                     keys=("pricing", "listing", key))
        if rule is not None:
            by_listing[listing] = rule
    return PricingPolicy(default=default, by_sku=by_sku, by_listing=by_listing)


def _parse_listing(key: str) -> Listing:
    account, sep, rest = key.partition(":")
    item_id, slash, variation = rest.partition("/")
    if not sep or not account or not item_id or (slash and not variation):
        raise ValueError("expected ACCOUNT:ITEM_ID or ACCOUNT:ITEM_ID/VARIATION_ID")
    return Listing(account, ids.item_id(item_id),
                   ids.variation_id(variation) if slash else None)


def load_admin_config(path: Path, problems: list[Problem]) -> tuple[AdminConfig, _TomlLocator]:
    data, loc = read_toml(path)
    problems.extend(schema_problems(data, loc))
    accounts = _accounts(data.get("accounts", {}), loc, problems)
    kits = _kits(data.get("kits", {}), loc, problems)
    catalog: list[str] = []
    if "catalog" in data:
        section = _table(data["catalog"], loc.where("catalog"), "[catalog]", problems)
        skus = section.get("skus", [])
        if not isinstance(skus, list) or not all(
                isinstance(s, str) and s and s == s.strip() for s in skus):
            problems.append(Problem(loc.where("catalog", "skus"),
                                    "[catalog] takes skus = [\"SKU\", ...] only"))
        elif any(len(s) > MAX_SKU_LENGTH for s in skus):
            problems.append(Problem(loc.where("catalog", "skus"), f"[catalog] skus: a SKU is "
                                    f"longer than {MAX_SKU_LENGTH} characters"))
        else:
            catalog = list(skus)
    owners: dict[int, str] = {}
    for account in accounts:
        if account.user_id in owners:
            problems.append(Problem(loc.where("accounts", account.name, "user_id"),
                                    f"account {account.name!r}: user_id {account.user_id} is "
                                    f"used by account {owners[account.user_id]!r} too"))
        owners.setdefault(account.user_id, account.name)
    policy = _pricing(data["pricing"], loc, problems) if "pricing" in data else None
    for listing in sorted(policy.by_listing if policy else ()):
        if listing.account not in {a.name for a in accounts}:
            problems.append(Problem(loc.where("pricing", "listing", _listing_key(listing)),
                                    f"unknown account {listing.account!r} in "
                                    f"[pricing.listing] (not in [accounts])"))
    return AdminConfig(accounts=tuple(accounts), kits=tuple(kits), catalog_skus=tuple(catalog),
                       policy=policy, path=path), loc


def _listing_key(listing: Listing) -> str:
    return str(listing)


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


def load_admin_tables(mappings_path: Path, config_path: Path | None, *,
                      stored_accounts: Iterable[str] | Mapping[str, int] = (),
                      stored_kits: Iterable[Kit] = (),
                      stored_catalog: Iterable[str] = (),
                      mappings_text: str | None = None,
                      ) -> tuple[MappingTable, AdminConfig]:
    """Validate the CSV (and the TOML, when given) together; raise :class:`MappingInvalid`
    with every problem, located, or return the table and the config to apply.

    Without a TOML file the stored kits and catalog SKUs stand and only stored accounts are
    known. ``stored_accounts`` may map names to user ids, to catch a TOML account taking
    another account's user id."""
    problems: list[Problem] = []
    config = AdminConfig()
    loc: _TomlLocator | None = None
    if config_path is not None:
        config, loc = load_admin_config(config_path, problems)
    if isinstance(stored_accounts, Mapping) and loc is not None:
        owner = {user_id: name for name, user_id in stored_accounts.items()}
        for account in config.accounts:
            other = owner.get(account.user_id)
            if other is not None and other != account.name:
                problems.append(Problem(loc.where("accounts", account.name, "user_id"),
                                        f"account {account.name!r}: user_id "
                                        f"{account.user_id} already belongs to account "
                                        f"{other!r} in the database"))
    kits = list(config.kits) if config_path is not None else list(stored_kits)
    catalog = list(config.catalog_skus) if config_path is not None else list(stored_catalog)
    known = set(stored_accounts) | {a.name for a in config.accounts}
    rows, locations = read_mappings_csv(mappings_path, known, problems, mappings_text)
    table = MappingTable([])
    if not problems:
        try:
            table = MappingTable(rows, kits, extra_skus=catalog, row_locations=locations)
        except MappingInvalid as exc:
            problems.extend(_relocate(p, loc) for p in exc.problems)
    if problems:
        raise MappingInvalid(_capped(problems))
    return table, config


def _relocate(problem: Problem, loc: _TomlLocator | None) -> Problem:
    match = re.fullmatch(r'kits\."(.*)"', problem.where)
    if match and loc is not None:
        return Problem(loc.where("kits", match.group(1)), problem.message)
    return problem


def _capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_REPORTED:
        return problems
    return [*problems[:MAX_REPORTED],
            Problem("", f"... and {len(problems) - MAX_REPORTED} more problems")]


def write_mappings_csv(rows: Iterable[MappingRow], out: TextIO) -> None:
    """The applied table as CSV, in the format :func:`read_mappings_csv` reads; no cell
    starts a spreadsheet formula (:mod:`config.csv_cells`)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([neutralise(row.sku), neutralise(row.listing.account),
                         row.listing.item_id,
                         "" if row.listing.variation_id is None else row.listing.variation_id,
                         row.safety_stock,
                         "" if row.max_quantity is None else row.max_quantity,
                         "true" if row.active else "false"])


def accounts_by_name(accounts: Iterable[Account]) -> Mapping[str, Account]:
    return {a.name: a for a in accounts}
