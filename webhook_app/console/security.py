"""The console's session cookie, its CSRF token and who is logged in.

The session is Flask's signed cookie (the key derived from ``CONNECTOR_SECRET_KEY``), HttpOnly,
SameSite=Strict, limited to ``/console`` and Secure whenever the request came over https:
directly, or through a proxy of ``[webhook] trusted_proxy_networks`` that says so in
``X-Forwarded-Proto`` (from any other peer the header is ignored).
"""

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Mapping

from flask import Flask, Request, request, session
from flask.sessions import SecureCookieSessionInterface

from webhook_app.proxies import Network

SESSION_SECONDS = 8 * 3600
COOKIE = "connector_console"


def session_key(secret_key: str) -> bytes:
    """A key of its own for signing sessions, derived from the token encryption key (the
    first one while rotating): a leaked session key reveals nothing about the tokens."""
    first = secret_key.split(",", maxsplit=1)[0].strip().encode()
    return hmac.new(first, b"meli-connector console session v1", hashlib.sha256).digest()


def is_https(req: Request, trusted: tuple[Network, ...]) -> bool:
    if req.scheme == "https":
        return True
    peer = req.environ.get("connector.peer_addr", req.remote_addr or "")
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if not any(address in net for net in trusted):
        return False
    forwarded = req.headers.get("X-Forwarded-Proto", "")
    return forwarded.split(",")[-1].strip().lower() == "https"


class ConsoleSessionInterface(SecureCookieSessionInterface):
    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self.trusted = trusted

    def get_cookie_secure(self, app: Flask) -> bool:
        return is_https(request, self.trusted)


def configure(app: Flask, key: bytes, trusted: tuple[Network, ...]) -> None:
    app.secret_key = key
    app.session_interface = ConsoleSessionInterface(trusted)
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_PATH="/console",
                      PERMANENT_SESSION_LIFETIME=SESSION_SECONDS)


def csrf_token() -> str:
    """The session's CSRF token, made on first use (the login form has one too)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    expected = session.get("csrf")
    sent = request.form.get("csrf_token", "")
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), sent.encode())


def _fingerprint(stored_hash: str) -> str:
    return hashlib.sha256(stored_hash.encode()).hexdigest()[:16]


def start_session(operator: str, stored_hash: str) -> None:
    """A new session (new CSRF token) for ``operator``; it ends when the operator's
    password changes."""
    session.clear()
    session.permanent = True
    session["operator"] = operator
    session["pw"] = _fingerprint(stored_hash)
    session["since"] = int(time.time())
    session["csrf"] = secrets.token_urlsafe(32)


def current_operator(operators: Mapping[str, str]) -> str | None:
    """The logged-in operator, if still configured and the session is not too old."""
    name, since = session.get("operator"), session.get("since")
    if not isinstance(name, str) or name not in operators or not isinstance(since, int):
        return None
    if time.time() - since > SESSION_SECONDS:
        return None
    if session.get("pw") != _fingerprint(operators[name]):
        return None
    return name
