"""Use cases: link an ML account to the connector (the seller's consent, and its callback)."""

from collections.abc import Callable

from connector_core.domain.accounts import Account
from connector_core.domain.errors import InvalidInput, UnknownAccount
from connector_core.ports.clock import Clock
from connector_core.ports.oauth import LinkedTokens, MarketplaceAuthorization, OAuthStates
from connector_core.ports.unit_of_work import UnitOfWork


class AccountLinking:
    """``authorization`` and ``tokens`` are called when a link needs them: an installation
    may lack the ML application's settings or the key that encrypts the tokens until then
    (they raise ``InvalidInput`` saying which)."""

    def __init__(self, *, uow: UnitOfWork, clock: Clock, states: OAuthStates,
                 tokens: Callable[[], LinkedTokens],
                 authorization: Callable[[], MarketplaceAuthorization]) -> None:
        self._uow = uow
        self._clock = clock
        self._states = states
        self._tokens = tokens
        self._authorization = authorization

    def _account(self, name: str) -> Account:
        with self._uow as uow:
            account = uow.accounts.get(name)
        if account is None:
            raise UnknownAccount(f"unknown account {name!r} (add it to connector.toml and "
                                 f"apply, or `meli-connector accounts add`)")
        return account

    def authorization_url(self, name: str) -> str:
        """A link for the seller to authorise the application; its state names the account."""
        account = self._account(name)
        authorization = self._authorization()
        state = self._states.issue(account.name, self._clock.now())
        return authorization.authorization_url(account.site_id, state)

    def connect(self, name: str, code: str) -> str:
        """Exchange ``code`` for the account's tokens and store them.

        The tokens are checked to belong to the account's ML user *before* they are stored,
        always by ``GET /users/me`` with the new token (the token answer's ``user_id`` may be
        missing, and must agree when present): a seller logged in as someone else gets an
        error, and the account keeps its tokens.
        """
        account = self._account(name)
        authorization = self._authorization()
        tokens = authorization.exchange_code(code.strip())
        seller = authorization.seller(tokens.access_token)
        for owner in (seller.user_id, tokens.user_id):
            if owner is not None and owner != account.user_id:
                raise InvalidInput(f"that code belongs to ML user {owner}, but account "
                                   f"{name!r} is ML user {account.user_id}: log in to "
                                   f"MercadoLibre as that seller and connect again")
        self._tokens().save(name, tokens)
        self._tokens().set_nickname(name, seller.nickname)
        return (f"account {name} connected: ML user {seller.user_id} "
                f"({seller.nickname or 'no nickname'})")

    def oauth_callback(self, code: str, state: str) -> str:
        """``GET /auth/callback``: only a state issued by :meth:`authorization_url` counts."""
        return self.connect(self._states.take(state, self._clock.now()), code)
