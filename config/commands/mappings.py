"""``meli-connector mappings apply FILE [--dry-run] [--config TOML]``, ``mappings export``,
``mappings verify [ACCOUNT]`` and ``mappings discover ACCOUNT [-o FILE]``.

``apply`` validates the CSV and connector.toml (accounts, kits, catalog, pricing) together,
prints the diff against the database, and applies everything in one transaction, or nothing.
``verify`` and ``discover`` read the live catalog (connector_core/services/catalog.py,
catalog_discovery.py; docs/catalog_tools.md).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.connecting import connector_for, database_errors
from config.settings import Settings
from connector_core.domain.errors import InvalidInput
from connector_core.domain.mapping import Listing

if TYPE_CHECKING:
    from config.bootstrap import Connector

SHOWN_PER_KIND = 100


def _describe(row: Any) -> str:
    extras = []
    if row.safety_stock:
        extras.append(f"safety_stock={row.safety_stock}")
    if row.max_quantity is not None:
        extras.append(f"max_quantity={row.max_quantity}")
    if not row.active:
        extras.append("inactive")
    return f"{row.listing} -> {row.sku}" + (f" ({', '.join(extras)})" if extras else "")


def _changes(old: Any, new: Any) -> str:
    parts = []
    for field in ("sku", "safety_stock", "max_quantity", "active"):
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            parts.append(f"{field} {before} -> {after}")
    return f"{new.listing}: {', '.join(parts)}"


def _print_lines(sign: str, lines: list[str]) -> None:
    for line in lines[:SHOWN_PER_KIND]:
        print(f"  {sign} {line}")
    if len(lines) > SHOWN_PER_KIND:
        print(f"  {sign} ... and {len(lines) - SHOWN_PER_KIND} more")


def print_diff(diff: Any) -> None:
    print(f"mappings: {len(diff.added)} added, {len(diff.changed)} changed, "
          f"{len(diff.removed)} removed")
    _print_lines("+", [_describe(r) for r in diff.added])
    _print_lines("~", [_changes(old, new) for old, new in diff.changed])
    _print_lines("-", [_describe(r) for r in diff.removed])
    for label, added, changed, removed in (
            ("kits", diff.kits_added, diff.kits_changed, diff.kits_removed),
            ("catalog skus", diff.catalog_added, (), diff.catalog_removed),
            ("pricing rules", diff.pricing_added, diff.pricing_changed, diff.pricing_removed),
            ("accounts", diff.accounts_added, diff.accounts_changed, ())):
        if added or changed or removed:
            print(f"{label}: {len(added)} added, {len(changed)} changed, {len(removed)} removed")
            _print_lines("+", list(added))
            _print_lines("~", list(changed))
            _print_lines("-", list(removed))


def _apply(args: argparse.Namespace) -> int:
    from adapters.admin_files.tables import load_admin_tables
    from adapters.sql.admin import AdminTables, StoredTables

    settings = Settings.load(config_path=args.config)
    loaded: list[AdminTables] = []

    def load(stored: StoredTables) -> AdminTables:
        table, config = load_admin_tables(
            Path(args.file), settings.config_path,
            stored_accounts={a.name: a.user_id for a in stored.accounts},
            stored_kits=stored.kits, stored_catalog=stored.catalog_skus)
        loaded.append(AdminTables(table, catalog_skus=config.catalog_skus,
                                  policy=config.policy, accounts=config.accounts))
        return loaded[0]

    with connector_for(settings) as connector:
        diff = connector.admin_tables.apply(load, dry_run=args.dry_run)
    print_diff(diff)
    if args.dry_run:
        print("dry run: nothing applied")
    elif not diff:
        print("nothing to apply: the database already matches")
    else:
        table = loaded[0].table
        sources = args.file + (f" and {settings.config_path}" if settings.config_path else "")
        print(f"applied {sources} ({len(table.rows)} rows, {len(table.kits)} kits)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from adapters.admin_files.csv_file import write_mappings_csv

    settings = Settings.load(config_path=args.config)
    with connector_for(settings) as connector:
        rows = connector.admin_tables.stored().rows
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            write_mappings_csv(rows, out)
    else:
        write_mappings_csv(rows, sys.stdout)
    return 0


def _connector() -> "Connector":
    """Verify and discover read ML: the key must decrypt the stored tokens first."""
    from config.connecting import connector_with_tokens

    return connector_with_tokens()


def _progress(what: str) -> Any:
    """Items read / total on stderr: a bar on a terminal, a plain line every tenth (or 5 s)
    otherwise (config/progress.py); stdout keeps only the report."""
    from config.progress import ProgressLine

    return ProgressLine(what, "items read")


def _verify(args: argparse.Namespace) -> int:
    from config.commands._up_accounts import replacements_finder
    from connector_core.services.catalog import verify

    connector = _connector()
    with database_errors():
        stored = connector.admin_tables.stored()
    rows, accounts = stored.rows, {a.name: a for a in stored.accounts}
    if args.account is not None and args.account not in accounts:
        raise InvalidInput(f"unknown account {args.account!r} (known: "
                           f"{', '.join(sorted(accounts)) or 'none'})")
    lines = _file_lines(Path(args.file), accounts) if args.file else {}
    report = verify(connector.gateway, accounts, rows, args.account,
                    progress=_progress("verify"),
                    replacements=replacements_finder(connector))
    failed = bool(report.problems or (args.strict and report.warnings))

    def where(finding: Any) -> str | None:
        return lines.get(Listing(finding.account, finding.item_id, finding.variation_id))

    if args.json:
        print(json.dumps({"ok": not failed, "rows": report.checked, "items": report.items,
                          "inactive_skipped": report.inactive,
                          "problems": len(report.problems), "warnings": len(report.warnings),
                          "findings": [{**f.as_json(), "file_row": where(f)}
                                       for f in report.findings]}, indent=2))
    else:
        for finding in report.findings:
            location = where(finding)
            print(f"{location}: {finding.line()}" if location else finding.line())
        print(report.summary())
    return 1 if failed else 0


def _file_lines(path: Path, accounts: Any) -> dict[Listing, str]:
    """``file:line`` of each listing in the mappings file the admin edits (for --file)."""
    from adapters.admin_files.csv_file import read_mappings_csv
    from connector_core.domain.errors import Problem

    problems: list[Problem] = []
    _rows, locations = read_mappings_csv(path, accounts, problems)
    if problems:
        raise InvalidInput(f"--file: {problems[0]}")
    return {listing: where.rsplit(":", 1)[0] for listing, where in locations.items()}


def _discover(args: argparse.Namespace) -> int:
    from adapters.admin_files.csv_file import write_mappings_csv
    from connector_core.services.catalog_discovery import discover

    if args.json and not args.output:
        raise InvalidInput("--json prints the summary on stdout: give -o FILE for the CSV")
    connector = _connector()
    with database_errors():
        stored = connector.admin_tables.stored()
    rows = stored.rows
    account = next((a for a in stored.accounts if a.name == args.account), None)
    names = sorted(a.name for a in stored.accounts)
    if account is None:
        raise InvalidInput(f"unknown account {args.account!r} (known: "
                           f"{', '.join(names) or 'none'})")
    report = discover(connector.gateway, account, rows, progress=_progress("discover"))
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                write_mappings_csv(report.rows, out)
        except OSError as exc:
            raise InvalidInput(f"cannot write {args.output}: {exc.strerror}") from exc
    else:
        write_mappings_csv(report.rows, sys.stdout)
    for line in report.stderr_lines():
        print(line, file=sys.stderr)
    print(report.summary() + (f"; written to {args.output}" if args.output else ""),
          file=sys.stderr)
    if args.json:
        print(json.dumps({**report.as_json(), "output": args.output}, indent=2))
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("mappings", help="the listing -> SKU table (config/mappings.csv)")
    msub = parser.add_subparsers(dest="mappings_command", metavar="ACTION", required=True)
    apply = msub.add_parser("apply", help="validate a mappings CSV (and connector.toml) and "
                                          "apply it all or nothing")
    apply.add_argument("file", help="the mappings CSV, e.g. config/mappings.csv")
    apply.add_argument("--dry-run", action="store_true", help="print the diff, apply nothing")
    apply.add_argument("--config", help="connector.toml with accounts, kits, catalog and "
                                        "pricing (default: $CONNECTOR_CONFIG or "
                                        "config/connector.toml)")
    apply.set_defaults(handler=_apply)
    export = msub.add_parser("export", help="print the applied table as CSV")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.add_argument("--config", help="connector.toml for settings")
    export.set_defaults(handler=_export)
    verify = msub.add_parser("verify", help="check every applied row against ML; exit 1 on "
                                            "any problem")
    verify.add_argument("account", nargs="?", help="only this account's rows")
    verify.add_argument("--json", action="store_true", help="a JSON report on stdout")
    verify.add_argument("--file", help="the mappings CSV the table was applied from: each "
                                       "problem is prefixed with its file:line")
    verify.add_argument("--strict", action="store_true",
                        help="warnings (no SKU on ML) fail the command too")
    verify.set_defaults(handler=_verify)
    discover = msub.add_parser("discover", help="propose rows from the seller's whole catalog "
                                                "by SELLER_SKU, as mappings CSV")
    discover.add_argument("account", help="the account whose catalog to read")
    discover.add_argument("-o", "--output", help="write the CSV to this file, not stdout")
    discover.add_argument("--json", action="store_true",
                          help="a JSON summary on stdout (needs -o FILE)")
    discover.set_defaults(handler=_discover)
