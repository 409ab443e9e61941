"""OAuth 2.0 against ML: authorization URL, code exchange, and safe refresh.

Refresh tokens are single use (ml_api.md §1.3). A refresh therefore runs under the account's
lock (the ``Locks`` port, shared by every process), re-reads the stored tokens once it holds
the lock (another process may have refreshed meanwhile), and stores the new pair through the
``TokenStore`` *before* the new access token is handed to anyone. ``invalid_grant`` marks the
account revoked and raises :class:`AuthRevoked`; it is never retried. No token or secret is
ever logged.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

import httpx

from adapters.clock import SystemClock
from adapters.ml_api.converter import MlPayloadError, parse_token, structure
from adapters.ml_api.errors import error_code, error_from_response, transport_error
from adapters.ml_api.ratelimit import SharedRateLimiter
from adapters.ml_api.wire import MlUser
from connector_core.domain.accounts import TokenSet
from connector_core.domain.errors import AuthRevoked, MarketplaceUnavailable
from connector_core.domain.sites import SITES
from connector_core.ports.clock import Clock
from connector_core.ports.locks import Locks
from connector_core.ports.oauth import Seller
from connector_core.ports.tokens import TokenStore

log = logging.getLogger(__name__)

AUTH_HOSTS = {site.id: site.auth_host for site in SITES.values() if site.auth_host}


def authorization_url(site_id: str, client_id: str, redirect_uri: str, state: str, *,
                      code_challenge: str | None = None, auth_base: str | None = None) -> str:
    """Where to send the seller's browser; ``auth_base`` overrides the host (the sandbox)."""
    if auth_base is None:
        host = AUTH_HOSTS.get(site_id)
        if host is None:
            raise ValueError(f"no ML authorization host known for site {site_id!r}")
        auth_base = f"https://{host}"
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "state": state}
    if code_challenge:
        params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
    return f"{auth_base.rstrip('/')}/authorization?{urlencode(params)}"


class MlOAuth:
    """Tokens for every account, over the gateway's ``httpx.Client`` (base URL = ML API)."""

    def __init__(self, client: httpx.Client, *, client_id: str, client_secret: str,
                 redirect_uri: str | None, tokens: TokenStore, locks: Locks,
                 clock: Clock | None = None, limiter: SharedRateLimiter | None = None,
                 timeout: float = 10.0, refresh_margin: timedelta = timedelta(minutes=5),
                 lock_wait: float = 30.0) -> None:
        self._client = client
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._tokens = tokens
        self._locks = locks
        self._clock = clock or SystemClock()
        self._limiter = limiter
        self._timeout = timeout
        self._margin = refresh_margin
        self._lock_wait = lock_wait
        self.refreshes = 0  # refreshes this instance performed (metrics, tests)

    def access_token(self, account: str) -> str:
        """A usable access token, refreshing first when it expires within the margin."""
        tokens = self._load(account)
        if tokens.expires_within(self._clock.now(), self._margin):
            return self.refresh(account, stale=tokens.access_token)
        return tokens.access_token

    def refresh(self, account: str, *, stale: str) -> str:
        """Replace the access token ``stale`` (expiring, or just answered 401).

        At most one refresh per account runs at a time across processes; a process that
        waited for the lock finds the tokens already replaced and uses them.
        """
        try:
            lock = self._locks.hold(f"ml-oauth-refresh:{account}", ttl=self._timeout * 3,
                                    wait=self._lock_wait)
            with lock:
                current = self._load(account)
                if (current.access_token != stale and
                        not current.expires_within(self._clock.now(), self._margin)):
                    return current.access_token  # another process refreshed meanwhile
                fresh = self._grant(account, {"grant_type": "refresh_token",
                                              "refresh_token": current.refresh_token})
                try:
                    self._tokens.save(account, fresh)  # durable before the token is used
                except Exception:
                    log.critical("account %s: ML rotated its refresh token but storing the new "
                                 "one failed; if this persists the account needs reconnecting",
                                 account)
                    raise
                self.refreshes += 1
                log.info("ML tokens refreshed for account %s (expire %s)", account,
                         fresh.expires_at.isoformat())
                return fresh.access_token
        except TimeoutError as exc:
            raise MarketplaceUnavailable(
                f"account {account}: timed out waiting for the token refresh lock") from exc

    def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        """The authorization-code grant. Linking an account with the result (whose tokens
        they are, then storing them) is the use case's: ``services.accounts.AccountLinking``."""
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self._redirect_uri or ""}
        if code_verifier:
            form["code_verifier"] = code_verifier
        return self._grant(None, form)

    def user(self, access_token: str) -> MlUser:
        """``GET /users/me`` with a just-exchanged token: the seller's id and nickname."""
        response = self._post_or_get("GET", "/users/me", "GET /users/me",
                                     headers={"Authorization": f"Bearer {access_token}"})
        if response.status_code != 200:
            raise error_from_response(response, "GET /users/me")
        return structure(response.json(), MlUser, "user")

    # --- internals ------------------------------------------------------------------

    def _load(self, account: str) -> TokenSet:
        tokens = self._tokens.load(account)
        if tokens is None:
            raise AuthRevoked(account, "no ML tokens stored for it")
        return tokens

    def _grant(self, account: str | None, form: dict[str, str]) -> TokenSet:
        form = {**form, "client_id": self._client_id, "client_secret": self._client_secret}
        what = f"POST /oauth/token ({form['grant_type']})"
        response = self._post_or_get("POST", "/oauth/token", what, data=form,
                                     headers={"Accept": "application/json"})
        if response.status_code == 200:
            try:
                return parse_token(response.json(), self._clock.now())
            except (MlPayloadError, ValueError) as exc:
                raise MarketplaceUnavailable(f"{what}: unreadable answer ({exc})") from exc
        if error_code(response) == "invalid_grant" and account is not None:
            reason = "ML answered invalid_grant to a token refresh"
            log.error("account %s: %s; it must be reconnected", account, reason)
            self._tokens.mark_revoked(account, reason)
            raise AuthRevoked(account, reason)
        raise error_from_response(response, what)

    def _post_or_get(self, method: str, path: str, what: str, **kwargs: object) -> httpx.Response:
        grant = self._limiter.acquire() if self._limiter is not None else None
        try:
            return self._client.request(method, path, timeout=self._timeout,
                                        **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            raise transport_error(exc, what) from exc
        finally:
            if grant is not None and self._limiter is not None:
                self._limiter.done(grant)


class MlAuthorization:
    """:class:`~connector_core.ports.oauth.MarketplaceAuthorization` for the application:
    the authorization host of the account's site (``auth_base`` instead, for the sandbox).
    ``oauth`` is called for the code exchange only: a link needs no token store."""

    def __init__(self, oauth: Callable[[], MlOAuth], *, client_id: str, redirect_uri: str,
                 auth_base: str | None = None) -> None:
        self._oauth = oauth
        self._client_id = client_id
        self._redirect_uri = redirect_uri
        self._auth_base = auth_base

    def authorization_url(self, site_id: str, state: str) -> str:
        return authorization_url(site_id, self._client_id, self._redirect_uri, state,
                                 auth_base=self._auth_base)

    def exchange_code(self, code: str) -> TokenSet:
        return self._oauth().exchange_code(code)

    def seller(self, access_token: str) -> Seller:
        user = self._oauth().user(access_token)
        return Seller(user_id=user.id, nickname=user.nickname)

