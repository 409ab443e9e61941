"""``SqlTokenStore``: OAuth tokens in the ``accounts`` table, Fernet-encrypted at rest.

Every call runs in its own short transaction and commits before returning (a rotated refresh
token must be durable before the new access token is used: CONTRACT §1 rule 9).

``CONNECTOR_SECRET_KEY`` may hold several keys separated by commas: the first encrypts, every
one decrypts (``cryptography``'s ``MultiFernet``). To rotate, put a new key first, run
``meli-connector rekey`` (every stored token re-encrypted with it), then drop the old key.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.sql.repositories import account_from_row
from adapters.sql.rows.accounts import AccountRow
from connector_core.domain.accounts import Account, AccountStatus, TokenSet
from connector_core.domain.errors import InvalidInput, UnknownAccount


def parse_keys(secret_key: str | bytes | Sequence[str | bytes]) -> MultiFernet:
    """``CONNECTOR_SECRET_KEY``: one Fernet key, or several separated by commas (the first
    encrypts, all decrypt). A one-line error names the position of a key that is not one."""
    if isinstance(secret_key, bytes):
        secret_key = secret_key.decode("ascii", "replace")
    parts = ([p.strip() for p in secret_key.split(",")] if isinstance(secret_key, str)
             else [p.decode() if isinstance(p, bytes) else p for p in secret_key])
    if not parts or not all(parts):
        raise InvalidInput("CONNECTOR_SECRET_KEY is empty or has an empty entry between "
                           "commas (generate a key with `meli-connector keygen`)")
    fernets = []
    for position, key in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            which = "" if len(parts) == 1 else f" (key {position} of {len(parts)})"
            raise InvalidInput(f"CONNECTOR_SECRET_KEY is not a valid key{which}: generate "
                               f"one with `meli-connector keygen`") from exc
    return MultiFernet(fernets)


class SqlTokenStore:
    def __init__(self, session_factory: sessionmaker[Session],
                 secret_key: str | bytes | Sequence[str | bytes]) -> None:
        self._session_factory = session_factory
        self._fernet = parse_keys(secret_key)

    def __repr__(self) -> str:
        return "SqlTokenStore()"

    def _decrypt(self, value: str) -> str:
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise InvalidInput("CONNECTOR_SECRET_KEY does not decrypt the stored tokens (was "
                               "the key changed? to rotate keys, list the new key first and "
                               "the old one after it, comma-separated, then run "
                               "`meli-connector rekey`)") from exc

    def check_key(self) -> int:
        """Decrypt every stored token now; how many there are. Raises the one-line
        :class:`InvalidInput` of a wrong key, so a command that needs the tokens fails at
        once instead of queueing jobs that can only fail."""
        count = 0
        with self._session_factory() as session:
            for row in session.scalars(select(AccountRow)):
                for value in (row.access_token_enc, row.refresh_token_enc):
                    if value:
                        self._decrypt(value)
                        count += 1
        return count

    def rekey(self) -> int:
        """Re-encrypt every stored token with the first key (``MultiFernet.rotate``), in one
        transaction; how many accounts were rewritten. A token no key decrypts aborts it
        all, naming the account."""
        rewritten = 0
        with self._session_factory() as session:
            # Locked: a refresh saving its rotated token meanwhile waits, then writes it
            # with the first key, instead of being overwritten by the old token.
            rows = session.scalars(select(AccountRow).order_by(AccountRow.name)
                                   .with_for_update())
            for row in rows:
                if not (row.access_token_enc or row.refresh_token_enc):
                    continue
                try:
                    if row.access_token_enc:
                        row.access_token_enc = self._fernet.rotate(
                            row.access_token_enc.encode()).decode()
                    if row.refresh_token_enc:
                        row.refresh_token_enc = self._fernet.rotate(
                            row.refresh_token_enc.encode()).decode()
                except InvalidToken as exc:
                    raise InvalidInput(f"account {row.name!r}: no key in CONNECTOR_SECRET_KEY "
                                       f"decrypts its tokens; nothing was re-encrypted") from exc
                rewritten += 1
            session.commit()
        return rewritten

    def load(self, account: str) -> TokenSet | None:
        with self._session_factory() as session:
            row = session.get(AccountRow, account)
            if row is None or row.refresh_token_enc is None or row.token_expires_at is None:
                return None
            return TokenSet(
                access_token=(self._decrypt(row.access_token_enc)
                              if row.access_token_enc else ""),
                refresh_token=self._decrypt(row.refresh_token_enc),
                expires_at=row.token_expires_at, user_id=row.token_user_id,
                scope=row.token_scope or "")

    def save(self, account: str, tokens: TokenSet) -> None:
        with self._session_factory() as session:
            result = session.execute(
                update(AccountRow).where(AccountRow.name == account).values(
                    access_token_enc=self._fernet.encrypt(tokens.access_token.encode()).decode(),
                    refresh_token_enc=self._fernet.encrypt(tokens.refresh_token.encode()).decode(),
                    token_expires_at=tokens.expires_at, token_user_id=tokens.user_id,
                    token_scope=tokens.scope, revoked_reason=None, revoked_at=None,
                    token_refreshed_at=datetime.now(UTC))
                .execution_options(synchronize_session=False))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise UnknownAccount(f"unknown account {account!r}")
            session.commit()

    def mark_revoked(self, account: str, reason: str) -> None:
        with self._session_factory() as session:
            session.execute(update(AccountRow).where(AccountRow.name == account)
                            .values(revoked_reason=reason or "revoked",
                                    revoked_at=datetime.now(UTC))
                            .execution_options(synchronize_session=False))
            session.commit()

    def set_nickname(self, account: str, nickname: str) -> None:
        """The seller's ML nickname, as ``/users/me`` gave it when the account connected."""
        with self._session_factory() as session:
            session.execute(update(AccountRow).where(AccountRow.name == account)
                            .values(nickname=nickname)
                            .execution_options(synchronize_session=False))
            session.commit()

    def statuses(self) -> list[AccountStatus]:
        return account_statuses(self._session_factory)


def account_statuses(session_factory: sessionmaker[Session]) -> list[AccountStatus]:
    """Every account as ``accounts list`` shows it (never a token; needs no key)."""
    with session_factory() as session:
        rows = session.scalars(select(AccountRow).order_by(AccountRow.name)).all()
        return [_status(row) for row in rows]


def _status(row: AccountRow) -> AccountStatus:
    account: Account = account_from_row(row)
    return AccountStatus(account=account, connected=row.refresh_token_enc is not None,
                         needs_reconnect=row.revoked_reason is not None,
                         nickname=row.nickname, expires_at=row.token_expires_at,
                         reason=row.revoked_reason or "")
