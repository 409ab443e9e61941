"""Where each account's OAuth tokens live."""

from typing import Protocol

from connector_core.domain.accounts import TokenSet


class TokenStore(Protocol):
    """Where each account's OAuth tokens live (encrypted at rest by the SQL adapter).

    ``save`` is durable when it returns: a rotated refresh token must be stored before the
    new access token is used (refresh tokens are single use).
    """

    def load(self, account: str) -> TokenSet | None: ...

    def save(self, account: str, tokens: TokenSet) -> None: ...

    def mark_revoked(self, account: str, reason: str) -> None:
        """The grant is gone (``invalid_grant``); the account shows as needing reconnection."""
        ...
