"""Which tables and keys ``connector.toml`` may hold: the one place to extend when a setting or
an admin table is added.

A key nobody reads is worse than an error: ``[rate_limit] requests_per_second = 8`` once
applied cleanly and left the connector at its default rate. So both ``Settings.load`` (every
command) and ``mappings apply`` refuse every table and key not declared in :data:`SCHEMA`,
each located as ``file:line:column``. The values are checked by their readers
(``config.settings``, ``adapters.admin_files``); this module only knows the names.

To add a setting: add its key here, then read it. A table of free names (accounts, kits,
SKUs) is declared with ``each=``; a key that moved elsewhere stays in ``refused`` with the
message that says where.
"""

import re
from collections.abc import Mapping
from typing import Any, Protocol

from attrs import field, frozen

from connector_core.domain.errors import Problem


class Locator(Protocol):
    def where(self, *keys: str) -> str:
        """``file:line:column`` of a table or key."""
        ...


@frozen
class Value:
    """A key's value, checked by whoever reads it (any TOML value, tables included)."""


VALUE = Value()


@frozen
class Table:
    """A table: its ``keys`` (each a :class:`Table` or :data:`VALUE`), or with ``each`` free
    names (``[accounts.NAME]``) each holding what ``each`` says. ``refused`` maps a key to
    the reason it is refused (a setting that moved)."""

    keys: Mapping[str, "Table | Value"] = field(factory=dict)
    each: "Table | Value | None" = None
    refused: Mapping[str, str] = field(factory=dict)


def _values(*names: str) -> dict[str, Value]:
    return dict.fromkeys(names, VALUE)


_FROM_ENVIRONMENT = (
    "is read from the environment only: set {var}. Where the infrastructure lives and where "
    "the secrets go is the operator's, not the admin-edited file's")

# [connector]: business settings (config.settings.Settings has a field for each).
CONNECTOR_KEYS = (
    "rate_limit_per_second", "reconcile_interval_minutes", "ml_timeout_seconds",
    "application_id", "queue_name", "job_timeout_seconds", "sweep_interval_seconds",
    "job_lease_seconds",
    "push_delay_seconds", "inbox_retention_days", "audit_retention_days",
    "erp_events_retention_days")
# [webhook]: the web app's settings (also fields of Settings).
WEBHOOK_KEYS = ("allowed_ips", "trusted_proxy_networks", "max_body_bytes")
ACCOUNT_KEYS = ("user_id", "site_id", "warehouses", "nickname")
ANSWER_RULE_KEYS = ("words", "hours", "text")
RULE_KEYS = ("min_markup", "target_markup", "max_price", "max_markup", "fee_rate",
             "fixed_fee", "shipping_cost", "min_change", "undercut", "strategy")

_RULE = Table(_values(*RULE_KEYS))

SCHEMA = Table({
    "connector": Table(_values(*CONNECTOR_KEYS), refused={
        "database_url": _FROM_ENVIRONMENT.format(var="DATABASE_URL"),
        "redis_url": _FROM_ENVIRONMENT.format(var="REDIS_URL"),
        "ml_api_url": _FROM_ENVIRONMENT.format(var="ML_API_URL"),
    }),
    "webhook": Table(_values(*WEBHOOK_KEYS), refused={
        "trusted_proxies": "was replaced by trusted_proxy_networks, the networks of the "
                           "reverse proxies whose X-Forwarded-For is believed "
                           '(e.g. ["10.0.0.0/8"])',
    }),
    "accounts": Table(each=Table({**_values(*ACCOUNT_KEYS), "stores": Table(
        each=Table(_values("store_id", "network_node_id")))})),
    "kits": Table(each=Table({"components": VALUE})),  # components: SKU = units
    "catalog": Table(_values("skus")),
    "pricing": Table({"default": _RULE, "sku": Table(each=_RULE),
                      "listing": Table(each=_RULE)}),
    "questions": Table({"timezone": VALUE,
                        "rules": Table(each=Table(_values(*ANSWER_RULE_KEYS)))}),
})

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def table_name(path: tuple[str, ...]) -> str:
    """``[pricing.sku."A B"]``: a path written as TOML writes its header."""
    parts = [p if _BARE.fullmatch(p) else '"' + p.replace('"', '\\"') + '"' for p in path]
    return f"[{'.'.join(parts)}]"


def schema_problems(data: Mapping[str, Any], loc: Locator,
                    schema: Table = SCHEMA) -> list[Problem]:
    """Every table and key of ``data`` that ``schema`` does not declare (or refuses)."""
    problems: list[Problem] = []

    def walk(node: Mapping[str, Any], spec: Table, path: tuple[str, ...]) -> None:
        for key, value in node.items():
            inner = (*path, key)
            if key in spec.refused:
                problems.append(Problem(loc.where(*inner), f"{key} in {table_name(path)} "
                                        f"{spec.refused[key]}" if path else
                                        f"{table_name(inner)} {spec.refused[key]}"))
                continue
            child = spec.keys.get(key, spec.each)
            if child is None:
                known = ", ".join(sorted(spec.keys))
                what = (f"unknown table {table_name(inner)}" if isinstance(value, dict)
                        else f"unknown key {key!r}" + (f" in {table_name(path)}" if path
                                                      else " at the top of the file"))
                problems.append(Problem(loc.where(*inner),
                                        f"{what} (known: {known or 'none'})"))
            elif isinstance(child, Table) and isinstance(value, dict):
                walk(value, child, inner)

    walk(data, schema, ())
    return problems
