"""Settings: business settings from a TOML file (``config/connector.toml`` or
``$CONNECTOR_CONFIG``), infrastructure and secrets from the environment only (CONTRACT §2).
Built once per process by :meth:`Settings.load`.

The TOML file is edited by the mapping admin; where the database, Redis and the ML API are
(and so where the client secret and every token go) is the operator's. A TOML that still
names ``database_url``, ``redis_url`` or ``ml_api_url`` is refused with a message naming the
variable to use, and so is every table or key :mod:`adapters.admin_files.toml_schema` does
not declare.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from attrs import field, frozen

from adapters.admin_files.answer_rules import parse_answer_rules
from adapters.admin_files.toml_file import read_toml
from adapters.admin_files.toml_schema import schema_problems
from connector_core.domain.errors import InvalidInput, MappingInvalid, Problem
from connector_core.services.retention import DEFAULT_RETENTION, Retention
from webhook_app.proxies import parse_networks

DEFAULT_CONFIG = Path("config/connector.toml")
ML_API_URL = "https://api.mercadolibre.com"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# The variables read from the environment, and the field each sets.
ENVIRONMENT = {"DATABASE_URL": "database_url", "REDIS_URL": "redis_url",
               "ML_API_URL": "ml_api_url", "ML_CLIENT_ID": "ml_client_id",
               "ML_CLIENT_SECRET": "ml_client_secret", "ML_REDIRECT_URI": "ml_redirect_uri",
               "CONNECTOR_SECRET_KEY": "secret_key", "ERP_API_TOKEN": "erp_api_token"}
TRUE, FALSE = frozenset({"1", "true", "yes"}), frozenset({"", "0", "false", "no"})


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


def ml_api_url_problem(url: str, sandbox: bool) -> str | None:
    """Why ``url`` cannot be the ML API's (None: it can). The client secret and every
    refresh token are sent there, so it must be https, unless the operator chose the
    sandbox explicitly (``ML_SANDBOX=1``: the bundled emulator, over plain http)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"ML_API_URL {url!r} is not a URL"
    if parts.scheme not in ("https", "http") or not host:
        return f"ML_API_URL {url!r} is not an http(s) URL"
    if parts.scheme != "https" and not sandbox:
        return (f"ML_API_URL {url!r} is not https: the client secret and the sellers' tokens "
                f"are sent there. Use https, or set ML_SANDBOX=1 to talk to the bundled "
                f"sandbox (meli-connector sandbox) over http")
    return None


def _ml_api_url(instance: "Settings", _attribute: Any, value: str) -> None:
    problem = ml_api_url_problem(value, instance.ml_sandbox)
    if problem:
        raise InvalidInput(problem)


@frozen(kw_only=True)
class Settings:
    # from the environment only
    database_url: str = "sqlite:///connector.db"
    redis_url: str | None = None
    ml_api_url: str = field(default=ML_API_URL, validator=_ml_api_url)
    ml_sandbox: bool = False  # ML_SANDBOX=1: ml_api_url may be http (the bundled sandbox)
    ml_client_id: str | None = None
    ml_client_secret: str | None = field(default=None, repr=False)
    ml_redirect_uri: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    erp_api_token: str | None = field(default=None, repr=False, validator=_erp_token)
    config_path: Path | None = None
    # [connector] section of the TOML file (adapters.admin_files.toml_schema.CONNECTOR_KEYS)
    rate_limit_per_second: float = field(default=10.0, validator=_positive)
    reconcile_interval_minutes: float = field(default=10.0, validator=_positive)
    ml_timeout_seconds: float = field(default=10.0, validator=_positive)
    application_id: int | None = None
    queue_name: str = "meli-connector"
    job_timeout_seconds: float = field(default=120.0, validator=_positive)
    sweep_interval_seconds: float = field(default=30.0, validator=_positive)
    job_lease_seconds: float = field(default=20.0, validator=_positive)
    push_delay_seconds: float = field(default=0.0, validator=_not_negative)
    # retention (connector_core.services.retention): days kept; 0 keeps for ever
    inbox_retention_days: int = field(default=DEFAULT_RETENTION.inbox_days, validator=_days)
    audit_retention_days: int = field(default=DEFAULT_RETENTION.audit_days, validator=_days)
    erp_events_retention_days: int = field(default=DEFAULT_RETENTION.erp_events_days,
                                           validator=_days)
    # [webhook] section (adapters.admin_files.toml_schema.WEBHOOK_KEYS)
    allowed_ips: tuple[str, ...] | None = None
    trusted_proxy_networks: tuple[str, ...] = ()
    max_body_bytes: int = field(default=DEFAULT_MAX_BODY_BYTES, validator=_positive)
    raw: Mapping[str, Any] = field(factory=dict, repr=False)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             config_path: Path | str | None = None) -> "Settings":
        """Read the TOML file (if any) and the environment variables."""
        env = os.environ if environ is None else environ
        path = Path(config_path or env.get("CONNECTOR_CONFIG") or DEFAULT_CONFIG)
        raw: dict[str, Any] = {}
        values: dict[str, Any] = {}
        if path.exists():
            raw = _file_values(path, values)
        elif config_path is not None or "CONNECTOR_CONFIG" in env:
            raise InvalidInput(f"{path}: no such config file")
        for var, key in ENVIRONMENT.items():
            if env.get(var):
                values[key] = env[var]
        sandbox = env.get("ML_SANDBOX", "").strip().lower()
        if sandbox not in TRUE | FALSE:
            raise InvalidInput(f"ML_SANDBOX must be 1 or 0, got {env['ML_SANDBOX']!r}")
        values["ml_sandbox"] = sandbox in TRUE
        problem = ml_api_url_problem(values.get("ml_api_url", ML_API_URL), sandbox in TRUE)
        if problem:
            raise InvalidInput(problem)
        try:
            return cls(config_path=path if path.exists() else None, raw=raw, **values)
        except (TypeError, ValueError, InvalidInput) as exc:
            raise InvalidInput(f"{path}: {exc}") from exc

    def require_secret_key(self) -> str:
        if not self.secret_key:
            raise InvalidInput("CONNECTOR_SECRET_KEY is not set: it encrypts the ML tokens at "
                               "rest (generate one with `meli-connector keygen`)")
        return self.secret_key

    def require_ml_app(self) -> tuple[str, str]:
        """The ML application's client id and secret, needed by every call to ML."""
        if not (self.ml_client_id and self.ml_client_secret):
            raise InvalidInput("ML_CLIENT_ID and ML_CLIENT_SECRET are not set: the connector "
                               "cannot talk to MercadoLibre without its ML application")
        return self.ml_client_id, self.ml_client_secret

    def require_redirect(self) -> tuple[str, str]:
        """The client id and the redirect URI an authorization link carries."""
        if not (self.ml_client_id and self.ml_redirect_uri):
            raise InvalidInput("ML_CLIENT_ID and ML_REDIRECT_URI must be set: ML sends the "
                               "seller back to the redirect URI registered for the app")
        return self.ml_client_id, self.ml_redirect_uri

    @property
    def auth_base(self) -> str | None:
        """Where sellers authorise the app: None for ML's own host of each site, the API's
        URL otherwise (the sandbox answers both)."""
        return None if self.ml_api_url == ML_API_URL else self.ml_api_url

    @property
    def retention(self) -> Retention:
        return Retention(inbox_days=self.inbox_retention_days,
                         audit_days=self.audit_retention_days,
                         erp_events_days=self.erp_events_retention_days)


def _file_values(path: Path, values: dict[str, Any]) -> dict[str, Any]:
    """The TOML file's data; its ``[connector]`` and ``[webhook]`` settings go to
    ``values``. Every unknown table or key, and every bad ``[webhook]`` value, is a problem
    located as ``file:line:column`` (:class:`MappingInvalid`, one line)."""
    data, loc = read_toml(path)
    problems = schema_problems(data, loc)
    problems += parse_answer_rules(data, loc)[1]
    sections = {}
    for name in ("connector", "webhook"):
        section = data.get(name, {})
        if not isinstance(section, dict):
            problems.append(Problem(loc.where(name), f"[{name}] must be a table"))
            section = {}
        sections[name] = section
    if problems:
        raise MappingInvalid(problems)
    values.update(sections["connector"])
    webhook = sections["webhook"]
    for key in ("allowed_ips", "trusted_proxy_networks"):
        if key not in webhook:
            continue
        listed = webhook[key]
        try:
            if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
                raise ValueError("expected a list of addresses or CIDR networks, e.g. "
                                 '["10.0.0.0/8"]')
            parse_networks(listed)
        except ValueError as exc:
            problems.append(Problem(loc.where("webhook", key), f"[webhook] {key}: {exc}"))
            continue
        values[key] = tuple(listed)
    if "max_body_bytes" in webhook:
        size = webhook["max_body_bytes"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
            problems.append(Problem(loc.where("webhook", "max_body_bytes"),
                                    f"[webhook] max_body_bytes: expected a whole number of "
                                    f"bytes >= 1024, got {size!r}"))
        else:
            values["max_body_bytes"] = size
    if problems:
        raise MappingInvalid(problems)
    return data
