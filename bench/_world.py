"""Shared pieces of the benchmarks: a generated sandbox catalog and its mapping table."""

import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.sql.admin import apply_admin_tables
from adapters.sql.migrate import upgrade
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Listing, MappingRow, MappingTable

SELLER = 1001
ACCOUNT = "main"
APP_ID = 555


def catalog(items: int, with_variations: int, variations: int = 3
            ) -> tuple[dict[str, Any], list[tuple[str, str, int | None]]]:
    """A sandbox seed with ``items`` items (the first ``with_variations`` have
    ``variations`` variations each) and the (sku, item_id, variation_id) of every listing."""
    seed_items: list[dict[str, Any]] = []
    listings: list[tuple[str, str, int | None]] = []
    for n in range(1, items + 1):
        item_id = f"MLA{n:06d}"
        if n <= with_variations:
            vars_ = []
            for v in range(1, variations + 1):
                var_id = n * 100 + v
                sku = f"SKU-{n}-{v}"
                vars_.append({"id": var_id, "available_quantity": 1, "seller_sku": sku})
                listings.append((sku, item_id, var_id))
            seed_items.append({"id": item_id, "seller_id": SELLER, "price": 1000,
                               "variations": vars_})
        else:
            sku = f"SKU-{n}"
            seed_items.append({"id": item_id, "seller_id": SELLER, "price": 1000,
                               "available_quantity": 1, "seller_sku": sku})
            listings.append((sku, item_id, None))
    seed = {"app": {"client_id": "123", "client_secret": "shh", "application_id": APP_ID},
            "sellers": [{"id": SELLER, "nickname": "BENCH", "site_id": "MLA"}],
            "items": seed_items,
            "tokens": [{"user_id": SELLER, "refresh_token": "TG-bench-1001",
                        "expires_in": 21600}]}
    return seed, listings


def prepare(connector: Any, listings: list[tuple[str, str, int | None]]) -> None:
    """Migrate, apply the mapping table and the account, store the refresh token."""
    upgrade(connector.engine)
    table = MappingTable([MappingRow(sku, Listing(ACCOUNT, item, var))
                          for sku, item, var in listings])
    with connector.uow as uow:
        apply_admin_tables(uow.session, table, accounts=[Account(ACCOUNT, SELLER, "MLA")])
        uow.commit()
    connector.tokens.save(ACCOUNT, TokenSet(
        access_token="", refresh_token="TG-bench-1001", user_id=SELLER,
        expires_at=datetime.now(UTC) - timedelta(seconds=1)))


def _version(*argv: str) -> str:
    if shutil.which(argv[0]) is None:
        return "not found"
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10,
                              check=False).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> str:
    """nproc, RAM, Python, PostgreSQL and Redis versions, in one line."""
    ram = "?"
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            kb = int(meminfo.readline().split()[1])
            ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{os.cpu_count()} CPUs, {ram} RAM, Python {platform.python_version()}, "
            f"{_version('psql', '--version')}, {_version('redis-server', '--version')}")
