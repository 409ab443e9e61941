"""``SqlTokenStore``: OAuth tokens in the ``accounts`` table, Fernet-encrypted at rest.

Every call runs in its own short transaction and commits before returning (a rotated refresh
token must be durable before the new access token is used: CONTRACT §1 rule 9).
"""

from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.sql.repositories import account_from_row
from adapters.sql.rows import AccountRow
from connector_core.domain.accounts import Account, AccountStatus, TokenSet
from connector_core.domain.errors import InvalidInput, UnknownAccount


class SqlTokenStore:
    def __init__(self, session_factory: sessionmaker[Session], secret_key: str | bytes) -> None:
        self._session_factory = session_factory
        try:
            self._fernet = Fernet(secret_key)
        except (ValueError, TypeError) as exc:
            raise InvalidInput("CONNECTOR_SECRET_KEY is not a valid key (generate one with "
                               "`meli-connector keygen`)") from exc

    def __repr__(self) -> str:
        return "SqlTokenStore()"

    def _decrypt(self, value: str) -> str:
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise InvalidInput("CONNECTOR_SECRET_KEY does not decrypt the stored tokens (was "
                               "the key changed?)") from exc

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
                    token_scope=tokens.scope, revoked_reason=None, revoked_at=None)
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
