"""Linking an ML account: the seller's consent (OAuth), and the pending link's state."""

from datetime import datetime
from typing import Protocol

from attrs import frozen

from connector_core.domain.accounts import TokenSet


@frozen
class Seller:
    """Who a token belongs to on ML."""

    user_id: int
    nickname: str


class MarketplaceAuthorization(Protocol):
    """ML's OAuth endpoints for the connector's application."""

    def authorization_url(self, site_id: str, state: str) -> str:
        """Where to send the seller's browser to authorise the application."""
        ...

    def exchange_code(self, code: str) -> TokenSet: ...

    def seller(self, access_token: str) -> Seller:
        """``GET /users/me`` with a just-exchanged token."""
        ...


class OAuthStates(Protocol):
    """Pending links: single-use states that name the account being linked."""

    def issue(self, account: str, now: datetime) -> str: ...

    def take(self, state: str, now: datetime) -> str:
        """The account of an unused, unexpired ``state``, used up by this call; raises
        ``InvalidInput`` for any other state."""
        ...


class LinkedTokens(Protocol):
    """Where a linked account's tokens (and its ML nickname) are stored."""

    def save(self, account: str, tokens: TokenSet) -> None: ...

    def set_nickname(self, account: str, nickname: str) -> None: ...
