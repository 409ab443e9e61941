"""Operators' passwords: scrypt hashes as ``scrypt:N:r:p:SALT:HASH`` (base64url, no padding),
a format with no character a shell or ``CONSOLE_OPERATORS`` would split on (``$``, ``,``)."""

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
MAX_N = 2**20  # a hash asking for more memory than this is refused, not computed
DKLEN = 32
# Checked for a name nobody configured, so that a wrong name costs as long as a wrong password.
_DUMMY_SALT = b"meli-connector console dummy salt"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=DKLEN,
                          maxmem=256 * r * (n + 2) + 1024 * 1024)


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("the password is empty")
    salt = secrets.token_bytes(16)
    return f"scrypt:{N}:{R}:{P}:{_b64(salt)}:{_b64(_scrypt(password, salt, N, R, P))}"


def hash_problem(text: str) -> str | None:
    """Why ``text`` is not a hash :func:`hash_password` makes (None: it is)."""
    parts = text.split(":")
    if len(parts) != 6 or parts[0] != "scrypt":
        return "expected scrypt:N:r:p:SALT:HASH (from `meli-connector console hash-password`)"
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return "its numbers or base64 parts do not read"
    if n < 2 or n & (n - 1) or n > MAX_N or not 1 <= r <= 32 or not 1 <= p <= 16:
        return f"its scrypt parameters N={n} r={r} p={p} are out of range"
    if len(salt) < 8 or len(digest) != DKLEN:
        return "its salt or hash has the wrong length"
    return None


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such operator; the work is done
    anyway and False returned)."""
    if stored is None or hash_problem(stored) is not None:
        _scrypt(password, _DUMMY_SALT, N, R, P)
        return False
    _, n, r, p, salt, digest = stored.split(":")
    computed = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    return hmac.compare_digest(computed, _unb64(digest))
