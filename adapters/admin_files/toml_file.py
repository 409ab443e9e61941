"""``connector.toml`` (CONTRACT §3): accounts, kits, catalog SKUs and pricing rules.

Every problem is reported at once, located as ``file:line:column``. TOML gives no positions,
so they are found by looking for the table header or key in the file's text (good enough to
point an admin at the right line).
"""

import re
import tomllib
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from attrs import frozen

from adapters.admin_files.stores import parse_stores
from adapters.admin_files.toml_schema import ACCOUNT_KEYS, RULE_KEYS, schema_problems
from connector_core.domain.accounts import Account
from connector_core.domain.errors import InvalidInput, MappingInvalid, Problem
from connector_core.domain.limits import MAX_NAME_LENGTH, MAX_SKU_LENGTH
from connector_core.domain.mapping import Kit, Listing
from connector_core.domain.pricing import PricingPolicy, PricingRule
from connector_core.domain.sites import SITES


@frozen
class AdminConfig:
    """What ``connector.toml`` says about accounts, kits, catalog SKUs and pricing."""

    accounts: tuple[Account, ...] = ()
    kits: tuple[Kit, ...] = ()
    catalog_skus: tuple[str, ...] = ()
    policy: PricingPolicy | None = None  # None: the file has no [pricing] section
    path: Path | None = None


class TomlLocator:
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


def read_toml(path: Path) -> tuple[dict[str, Any], TomlLocator]:
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
    return data, TomlLocator(path, text)


def _table(value: Any, where: str, what: str, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append(Problem(where, f"{what} must be a table"))
        return {}
    return value


def _accounts(section: Any, loc: TomlLocator, problems: list[Problem]) -> list[Account]:
    accounts = []
    for name, body in _table(section, loc.where("accounts"), "[accounts]", problems).items():
        if not isinstance(body, dict):
            problems.append(Problem(loc.where("accounts", name), f"[accounts.{name}] must be "
                                    "a table with user_id and site_id"))
            continue
        if set(body) - {*ACCOUNT_KEYS, "stores"}:  # reported by schema_problems
            continue
        user_id, site_id = body.get("user_id"), body.get("site_id")
        warehouses = body.get("warehouses")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id < 1:
            problems.append(Problem(loc.where("accounts", name, "user_id"),
                                    f"account {name!r}: user_id must be a whole number >= 1"))
            continue
        if not isinstance(site_id, str) or site_id not in SITES:
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
        stores = parse_stores(name, body.get("stores"), warehouses, loc, problems)
        try:
            accounts.append(Account(name=name, user_id=user_id, site_id=site_id,
                                    warehouses=None if warehouses is None
                                    else frozenset(warehouses), stores=stores))
        except ValueError as exc:
            problems.append(Problem(loc.where("accounts", name), f"account {name!r}: {exc}"))
    return accounts


def _kits(section: Any, loc: TomlLocator, problems: list[Problem]) -> list[Kit]:
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


def _rule(body: Any, *, what: str, problems: list[Problem], loc: TomlLocator,
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


def _pricing(section: Any, loc: TomlLocator, problems: list[Problem]) -> PricingPolicy:
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
            listing = Listing.parse(key)
        except (ValueError, InvalidInput) as exc:
            problems.append(Problem(where, f'[pricing.listing."{key}"]: {exc}'))
            continue
        rule = _rule(body, what=f'[pricing.listing."{key}"]', problems=problems, loc=loc,
                     keys=("pricing", "listing", key))
        if rule is not None:
            by_listing[listing] = rule
    return PricingPolicy(default=default, by_sku=by_sku, by_listing=by_listing)


def load_admin_config(path: Path, problems: list[Problem]) -> tuple[AdminConfig, TomlLocator]:
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
            problems.append(Problem(loc.where("pricing", "listing", str(listing)),
                                    f"unknown account {listing.account!r} in "
                                    f"[pricing.listing] (not in [accounts])"))
    return AdminConfig(accounts=tuple(accounts), kits=tuple(kits), catalog_skus=tuple(catalog),
                       policy=policy, path=path), loc
