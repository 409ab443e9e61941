"""Shared pieces of the benchmarks: a generated sandbox catalog and its mapping table."""

import os
import platform
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from adapters.sql.admin import apply_admin_tables
from adapters.sql.migrate import upgrade
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable

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


def prepare(connector: Any, listings: list[tuple[str, str, int | None]],
            kits: Sequence[Kit] = ()) -> None:
    """Migrate, apply the mapping table (and kits) and the account, store the refresh token."""
    upgrade(connector.engine)
    table = MappingTable([MappingRow(sku, Listing(ACCOUNT, item, var))
                          for sku, item, var in listings], kits)
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
    """CPU model and count, RAM, Python, PostgreSQL and Redis versions, in one line."""
    ram, cpu = "?", "?"
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            kb = int(meminfo.readline().split()[1])
            ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo
                        if line.startswith("model name")), "?")
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), {ram} RAM, Python {platform.python_version()}, "
            f"{_version('psql', '--version')}, {_version('redis-server', '--version')}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own on a free port (the shared one is never touched)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not on PATH")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def __enter__(self) -> "PrivateRedis":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most events inside any ``window``-second interval (sliding)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]
