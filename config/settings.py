"""Settings: a TOML file (``config/connector.toml`` or ``$CONNECTOR_CONFIG``) overridden by
environment variables (CONTRACT §2). Built once per process by :meth:`Settings.load`."""

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import field, frozen

from connector_core.domain.errors import InvalidInput

DEFAULT_CONFIG = Path("config/connector.toml")
ML_API_URL = "https://api.mercadolibre.com"


def _positive(_instance: object, attribute: Any, value: float) -> None:
    if value <= 0:
        raise InvalidInput(f"{attribute.name} must be > 0, got {value}")


def _not_negative(_instance: object, attribute: Any, value: float) -> None:
    if value < 0:
        raise InvalidInput(f"{attribute.name} must be >= 0, got {value}")


# The /erp/* bearer token: long enough not to be guessed, and only characters that travel in
# an HTTP header unchanged (``meli-connector keygen --erp-token`` prints a good one).
ERP_TOKEN_MIN_LENGTH = 16


def _erp_token(_instance: object, _attribute: Any, value: str | None) -> None:
    if value is None:
        return
    if len(value) < ERP_TOKEN_MIN_LENGTH:
        raise InvalidInput(f"ERP_API_TOKEN is too weak: it has {len(value)} character(s), "
                           f"the minimum is {ERP_TOKEN_MIN_LENGTH} (make one with "
                           f"`meli-connector keygen --erp-token`)")
    if not all("!" <= c <= "~" for c in value):
        raise InvalidInput("ERP_API_TOKEN may hold only printable ASCII characters without "
                           "spaces (make one with `meli-connector keygen --erp-token`)")


def _days(_instance: object, attribute: Any, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{attribute.name} must be a whole number of days >= 0 "
                           f"(0 keeps the rows for ever), got {value!r}")


@frozen(kw_only=True)
class Settings:
    database_url: str = "sqlite:///connector.db"
    redis_url: str | None = None
    ml_api_url: str = ML_API_URL
    ml_client_id: str | None = None
    ml_client_secret: str | None = field(default=None, repr=False)
    ml_redirect_uri: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    erp_api_token: str | None = field(default=None, repr=False, validator=_erp_token)
    config_path: Path | None = None
    # [connector] section of the TOML file
    rate_limit_per_second: float = field(default=10.0, validator=_positive)
    reconcile_interval_minutes: float = field(default=10.0, validator=_positive)
    ml_timeout_seconds: float = field(default=10.0, validator=_positive)
    application_id: int | None = None
    queue_name: str = "meli-connector"
    job_timeout_seconds: float = field(default=120.0, validator=_positive)
    sweep_interval_seconds: float = field(default=30.0, validator=_positive)
    push_delay_seconds: float = field(default=0.0, validator=_not_negative)
    # retention (connector_core.services.retention): days kept; 0 keeps for ever
    inbox_retention_days: int = field(default=30, validator=_days)
    audit_retention_days: int = field(default=90, validator=_days)
    erp_events_retention_days: int = field(default=0, validator=_days)
    raw: Mapping[str, Any] = field(factory=dict, repr=False)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             config_path: Path | str | None = None) -> "Settings":
        """Read the TOML file (if any) then apply the environment variables over it."""
        env = os.environ if environ is None else environ
        path = Path(config_path or env.get("CONNECTOR_CONFIG") or DEFAULT_CONFIG)
        raw: dict[str, Any] = {}
        if path.exists():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise InvalidInput(f"{path}: {exc}") from exc
        elif config_path is not None or "CONNECTOR_CONFIG" in env:
            raise InvalidInput(f"{path}: no such config file")
        section = raw.get("connector", {})
        known = {"rate_limit_per_second", "reconcile_interval_minutes", "ml_timeout_seconds",
                 "application_id", "database_url", "redis_url",
                 "ml_api_url", "queue_name", "job_timeout_seconds", "sweep_interval_seconds",
                 "push_delay_seconds", "inbox_retention_days", "audit_retention_days",
                 "erp_events_retention_days"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise InvalidInput(f"{path}: [connector] has unknown keys: {', '.join(unknown)}")
        webhook = raw.get("webhook", {})
        unknown = sorted(set(webhook) - {"allowed_ips", "trusted_proxies", "max_body_bytes"})
        if unknown:
            raise InvalidInput(f"{path}: [webhook] has unknown keys: {', '.join(unknown)}")
        values: dict[str, Any] = {k: v for k, v in section.items() if k in known}
        for var, key in (("DATABASE_URL", "database_url"), ("REDIS_URL", "redis_url"),
                         ("ML_API_URL", "ml_api_url"), ("ML_CLIENT_ID", "ml_client_id"),
                         ("ML_CLIENT_SECRET", "ml_client_secret"),
                         ("ML_REDIRECT_URI", "ml_redirect_uri"),
                         ("CONNECTOR_SECRET_KEY", "secret_key"),
                         ("ERP_API_TOKEN", "erp_api_token")):
            if env.get(var):
                values[key] = env[var]
        try:
            return cls(config_path=path if path.exists() else None, raw=raw, **values)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{path}: {exc}") from exc

    def require_secret_key(self) -> str:
        if not self.secret_key:
            raise InvalidInput("CONNECTOR_SECRET_KEY is not set: it encrypts the ML tokens at "
                               "rest (generate one with `meli-connector keygen`)")
        return self.secret_key
