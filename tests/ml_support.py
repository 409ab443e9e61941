"""Helpers shared by the ML adapter's tests: a sandbox-backed gateway and small stores.

``SqliteTokenStore`` and ``FileLocks`` work across OS processes (the refresh race needs
that) without Redis; they are test doubles, not production adapters.
"""

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from adapters.ml_api import HttpxMercadoLibreGateway, MlOAuth, SharedRateLimiter
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.items import MarketItem
from connector_core.domain.orders import Order
from connector_core.ports.locks import Locks
from connector_core.ports.tokens import TokenStore

SELLER_ID = 123456789
ACCOUNT = Account("main", SELLER_ID, "MLA")
CLIENT_ID = "sandbox-app"
CLIENT_SECRET = "sandbox-secret"
APPLICATION_ID = 5503910054141466


def item_spec(item: MarketItem) -> dict[str, Any]:
    """A domain item as a sandbox seed entry."""
    spec: dict[str, Any] = {
        "id": item.id, "seller_id": item.seller_id or SELLER_ID, "site_id": item.site_id,
        "title": item.title or item.id, "price": _num(item.price),
        "currency_id": item.currency_id, "available_quantity": item.available_quantity,
        "status": item.status, "seller_sku": item.seller_sku}
    if item.variations:
        spec["variations"] = [{"id": v.id, "price": _num(v.price),
                               "available_quantity": v.available_quantity,
                               "seller_sku": v.seller_sku} for v in item.variations]
    return spec


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class SqliteTokenStore:
    """A TokenStore in a SQLite file, usable from several processes at once."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS tokens (account TEXT PRIMARY KEY, "
                       "access TEXT, refresh TEXT, expires_at TEXT, user_id INTEGER, "
                       "revoked TEXT)")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        finally:
            db.close()

    def load(self, account: str) -> TokenSet | None:
        with self._db() as db:
            row = db.execute("SELECT access, refresh, expires_at, user_id FROM tokens "
                             "WHERE account = ? AND revoked IS NULL", (account,)).fetchone()
        if row is None:
            return None
        return TokenSet(row[0], row[1], datetime.fromisoformat(row[2]), user_id=row[3])

    def save(self, account: str, tokens: TokenSet) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?, ?, NULL)",
                       (account, tokens.access_token, tokens.refresh_token,
                        tokens.expires_at.isoformat(), tokens.user_id))

    def mark_revoked(self, account: str, reason: str) -> None:
        with self._db() as db:
            db.execute("UPDATE tokens SET revoked = ? WHERE account = ?", (reason, account))

    def revoked(self, account: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT revoked FROM tokens WHERE account = ?",
                             (account,)).fetchone()
        return row[0] if row else None


class FileLocks:
    """Locks over ``flock`` on files in a directory: across processes of one machine."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    @contextmanager
    def hold(self, name: str, *, ttl: float = 60.0, wait: float = 30.0) -> Iterator[None]:
        path = self.directory / (name.replace("/", "_").replace(":", "_") + ".lock")
        fd = os.open(path, os.O_CREAT | os.O_RDWR)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"lock {name} not acquired") from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def seed_tokens(store: TokenStore, issued: dict[str, Any], account: str = "main") -> None:
    store.save(account, TokenSet(issued["access_token"], issued["refresh_token"],
                                 datetime.now(UTC) + timedelta(seconds=issued["expires_in"]),
                                 user_id=issued["user_id"]))


def build_gateway(base_url: str, tokens: TokenStore, locks: Locks, *,
                  per_second: float = 1000.0, storage_uri: str | None = None,
                  limiter_key: str = "test", refresh_margin: timedelta = timedelta(minutes=5),
                  **gateway_kwargs: Any) -> tuple[HttpxMercadoLibreGateway, httpx.Client]:
    """A gateway on ``base_url`` as the composition root would build it; close the client."""
    client = httpx.Client(base_url=base_url, timeout=5.0)
    limiter = SharedRateLimiter(per_second, storage_uri=storage_uri, key=limiter_key)
    oauth = MlOAuth(client, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                    redirect_uri="https://connector.example/auth/callback", tokens=tokens,
                    locks=locks, limiter=limiter, timeout=5.0, refresh_margin=refresh_margin)
    gateway_kwargs.setdefault("backoff_base", 0.01)
    gateway_kwargs.setdefault("backoff_cap", 1.0)
    gateway = HttpxMercadoLibreGateway(client, oauth, limiter, application_id=APPLICATION_ID,
                                       timeout=5.0, **gateway_kwargs)
    return gateway, client


def create_sandbox_order(sandbox: Any, order: Order) -> None:
    """Make ``order`` exist in the sandbox (ML-style: it takes the units off the listing)."""
    line = order.lines[0]
    sandbox.state.create_order({
        "id": order.id, "item_id": line.item_id, "variation_id": line.variation_id,
        "quantity": line.quantity, "status": order.status,
        "last_updated": order.last_updated.isoformat()})
