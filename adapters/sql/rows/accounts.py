"""The accounts: each one's ML user and (encrypted) tokens, and the pending links of
``accounts connect``."""

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sql.rows.base import Base
from adapters.sql.types import JsonDoc, UtcDateTime


class AccountRow(Base):
    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    site_id: Mapped[str] = mapped_column(String(8))
    warehouses: Mapped[list[str] | None] = mapped_column(JsonDoc)
    stores: Mapped[list[dict[str, str]] | None] = mapped_column(JsonDoc)
    nickname: Mapped[str | None] = mapped_column(String(128))
    # Fernet tokens (never plaintext); see adapters.sql.tokens.
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    token_user_id: Mapped[int | None] = mapped_column(BigInteger)
    token_scope: Mapped[str] = mapped_column(Text, default="")
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    token_refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # last stored

    def __repr__(self) -> str:  # never the tokens
        return f"AccountRow(name={self.name!r}, user_id={self.user_id}, site_id={self.site_id!r})"


class OAuthStateRow(Base):
    """A pending ``accounts connect``: the ``state`` sent to ML, and whose connection it is.

    ML does not check ``state``; the callback does: only a state issued here, unused and
    not expired, completes a connection (and names the account)."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
