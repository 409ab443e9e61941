"""``meli-connector mappings apply FILE [--dry-run] [--config TOML]`` and ``mappings export``.

``apply`` validates the CSV and connector.toml (accounts, kits, catalog, pricing) together,
prints the diff against the database, and applies everything in one transaction, or nothing.
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from config.commands.db import database_errors, open_database
from config.settings import Settings

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
    from adapters.sql.admin import apply_admin_tables
    from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
    from config.files import load_admin_tables

    settings = Settings.load(config_path=args.config)
    engine, session_factory = open_database(settings)
    try:
        uow = SqlAlchemyUnitOfWork(session_factory)
        with database_errors(), uow:
            table, config = load_admin_tables(
                Path(args.file), settings.config_path,
                stored_accounts={a.name: a.user_id for a in uow.accounts.list()},
                stored_kits=list(uow.mappings.kits()),
                stored_catalog=uow.mappings.catalog_skus())
            diff = apply_admin_tables(uow.session, table, catalog_skus=config.catalog_skus,
                                      policy=config.policy, accounts=config.accounts,
                                      dry_run=args.dry_run)
            print_diff(diff)
            if args.dry_run:
                print("dry run: nothing applied")
            elif not diff:
                print("nothing to apply: the database already matches")
            else:
                uow.commit()
                sources = args.file + (f" and {settings.config_path}"
                                       if settings.config_path else "")
                print(f"applied {sources} ({len(table.rows)} rows, {len(table.kits)} kits)")
    finally:
        engine.dispose()
    return 0


def _export(args: argparse.Namespace) -> int:
    from adapters.sql.admin import stored_table
    from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
    from config.files import write_mappings_csv

    settings = Settings.load(config_path=args.config)
    engine, session_factory = open_database(settings)
    try:
        uow = SqlAlchemyUnitOfWork(session_factory)
        with database_errors(), uow:
            rows, _kits, _catalog = stored_table(uow.session)
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                write_mappings_csv(rows, out)
        else:
            write_mappings_csv(rows, sys.stdout)
    finally:
        engine.dispose()
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
