"""Pending OAuth connections: ``accounts connect`` issues a state, the callback takes it.

A state is single use and lives 30 minutes (ML's codes live about 10). Anything else that
reaches the callback (a forged or replayed link) is refused without calling ML.
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.sql.rows.accounts import AccountRow, OAuthStateRow
from connector_core.domain.errors import InvalidInput, UnknownAccount

STATE_TTL = timedelta(minutes=30)


class SqlOAuthStates:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def issue(self, account: str, now: datetime) -> str:
        """A fresh state for ``account`` (older expired ones are cleared on the way)."""
        state = secrets.token_urlsafe(24)
        with self._session_factory() as session:
            if session.get(AccountRow, account) is None:
                raise UnknownAccount(f"unknown account {account!r} (add it to connector.toml "
                                     f"and apply, or `meli-connector accounts add`)")
            session.execute(delete(OAuthStateRow)
                            .where(OAuthStateRow.created_at < now - STATE_TTL))
            session.add(OAuthStateRow(state=state, account=account, created_at=now))
            session.commit()
        return state

    def take(self, state: str, now: datetime) -> str:
        """The account of an unused, unexpired ``state``, which is used up by this call."""
        with self._session_factory() as session:
            row = session.scalar(select(OAuthStateRow).where(OAuthStateRow.state == state))
            if row is None:
                raise InvalidInput("this link was not issued by `meli-connector accounts "
                                   "connect` (unknown state); start again from that command")
            if row.used_at is not None:
                raise InvalidInput("this link was already used; run `meli-connector accounts "
                                   f"connect {row.account}` for a new one")
            if row.created_at < now - STATE_TTL:
                raise InvalidInput("this link has expired; run `meli-connector accounts "
                                   f"connect {row.account}` for a new one")
            taken = session.execute(
                update(OAuthStateRow)
                .where(OAuthStateRow.state == state, OAuthStateRow.used_at.is_(None))
                .values(used_at=now).execution_options(synchronize_session=False))
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                raise InvalidInput("this link was already used")
            session.commit()
            return row.account
