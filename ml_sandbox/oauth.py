"""The sandbox's OAuth server: codes, rotating single-use refresh tokens, expiring tokens."""

import base64
import hashlib
import secrets
from typing import Any

from ml_sandbox.common import StateBase, seller_record
from ml_sandbox.errors import MlApiError, invalid_grant, invalid_token


class OAuthRules(StateBase):
    def issue_tokens(self, user_id: int, *, expires_in: int | None = None,
                     access_token: str | None = None,
                     refresh_token: str | None = None) -> dict[str, Any]:
        with self.lock:
            if user_id not in self.sellers:
                self.sellers[user_id] = seller_record(user_id)
            ttl = self.token_ttl if expires_in is None else int(expires_in)
            stamp = self.now().strftime("%m%d%H")
            access = access_token or (f"APP_USR-{self.client_id}-{stamp}-"
                                      f"{secrets.token_hex(12)}-{user_id}")
            refresh = refresh_token or f"TG-{secrets.token_hex(12)}-{user_id}"
            self.access[access] = (user_id, self.clock() + ttl)
            self.refresh_tokens[user_id] = refresh
            return {"access_token": access, "token_type": "bearer", "expires_in": ttl,
                    "scope": "offline_access read write", "user_id": user_id,
                    "refresh_token": refresh}

    def new_code(self, user_id: int, challenge: str | None = None) -> str:
        with self.lock:
            code = f"TG-{secrets.token_hex(10)}-{user_id}"
            self.codes[code] = (user_id, challenge)
            return code

    def token_grant(self, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            grant_type = form.get("grant_type", "")
            record: dict[str, Any] = {"time": self.clock(), "grant_type": grant_type}
            self.grants.append(record)
            try:
                result = self._grant(grant_type, form)
            except MlApiError as exc:
                record.update(ok=False, error=exc.error)
                raise
            record.update(ok=True, user_id=result["user_id"])
            return result

    def _grant(self, grant_type: str, form: dict[str, str]) -> dict[str, Any]:
        if grant_type not in ("authorization_code", "refresh_token"):
            raise MlApiError(400, "unsupported_grant_type",
                             "the grant_type is not supported (authorization_code, "
                             "refresh_token)", [], oauth=True)
        if (form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret):
            raise MlApiError(401, "invalid_client", "invalid client_id or client_secret", [],
                             oauth=True)
        if grant_type == "authorization_code":
            entry = self.codes.pop(form.get("code", ""), None)
            if entry is None:
                raise invalid_grant()
            user_id, challenge = entry
            if self.pkce:
                verifier = form.get("code_verifier")
                if not verifier:
                    raise MlApiError(400, "invalid_request", "code_verifier is required",
                                     [], oauth=True)
                if _s256(verifier) != challenge:
                    raise invalid_grant()
            if self.redirect_uri is not None and form.get("redirect_uri") != self.redirect_uri:
                raise invalid_grant()
            return self.issue_tokens(user_id)
        presented = form.get("refresh_token", "")
        owner = next((u for u, t in self.refresh_tokens.items() if t == presented), None)
        if owner is None:
            raise invalid_grant()
        return self.issue_tokens(owner)

    def authenticate(self, authorization: str | None) -> int | None:
        """The user id behind ``Authorization: Bearer``; None without the header."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            entry = self.access.get(token.strip()) if scheme.lower() == "bearer" else None
            if entry is None or entry[1] <= self.clock():
                raise invalid_token()
            return entry[0]



def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
