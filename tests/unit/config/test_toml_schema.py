"""A typo anywhere in connector.toml is an error naming file, line and column, for every command
(``Settings.load``) and for ``mappings apply`` (``load_admin_tables``) alike."""

from pathlib import Path

import attrs
import pytest

from adapters.admin_files.tables import load_admin_tables
from adapters.admin_files.toml_schema import CONNECTOR_KEYS, SCHEMA, WEBHOOK_KEYS, Table
from config.settings import Settings
from connector_core.domain.errors import InvalidInput, MappingInvalid

EXAMPLE_TOML = Path(__file__).resolve().parents[3] / "config" / "connector.toml"
CSV = "sku,account,item_id,variation_id\nA,main,MLA1,\n"
BASE = """\
[connector]
rate_limit_per_second = 5

[accounts.main]
user_id = 111
site_id = "MLA"

[kits."KIT-1"]
components = { "A" = 2 }

[catalog]
skus = ["B"]

[pricing.default]
min_markup = 0.1

[pricing.sku."A"]
max_price = 500

[pricing.listing."main:MLA1"]
fee_rate = 0.1
"""

# (what is added to BASE, the location (line:column) and the message expected)
TYPOS = [
    ("\n[rate_limit]\nrequests_per_second = 8\n", "23:1", "unknown table [rate_limit] (known: "
     "accounts, catalog, connector, kits, pricing, questions, webhook)"),
    ("\n[webhooks]\nallowed_ips = []\n", "23:1", "unknown table [webhooks]"),
    ("\n[pricing.defaults]\nmin_markup = 1\n", "23:1", "unknown table [pricing.defaults] "
     "(known: default, listing, sku)"),
    ("\n[accounts.other]\nuser_id = 2\nsite_id = \"MLB\"\nwarehouse = [\"x\"]\n", "26:1",
     "unknown key 'warehouse' in [accounts.other] (known: nickname, site_id, stores, user_id, "
     "warehouses)"),
    ('\n[kits."KIT-2"]\ncomponents = { "A" = 1 }\nunits = 2\n', "25:1",
     "unknown key 'units' in [kits.KIT-2] (known: components)"),
    ('\n[pricing.sku."B"]\nmax_prize = 10\n', "24:1",
     "unknown key 'max_prize' in [pricing.sku.B]"),
    ("\n[catalog.more]\nskus = []\n", "23:1", "unknown table [catalog.more] (known: skus)"),
]


def write(tmp_path: Path, toml: str) -> tuple[Path, Path]:
    toml_path, csv_path = tmp_path / "connector.toml", tmp_path / "mappings.csv"
    toml_path.write_text(toml)
    csv_path.write_text(CSV)
    return toml_path, csv_path


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    toml_path, csv_path = write(tmp_path, BASE)
    assert Settings.load({"CONNECTOR_CONFIG": str(toml_path)}).rate_limit_per_second == 5
    load_admin_tables(csv_path, toml_path)


@pytest.mark.parametrize(("extra", "where", "message"), TYPOS)
def test_every_unknown_table_and_key_is_located(tmp_path: Path, extra: str, where: str,
                                                message: str) -> None:
    toml_path, csv_path = write(tmp_path, BASE + extra)
    with pytest.raises(InvalidInput) as err:
        Settings.load({"CONNECTOR_CONFIG": str(toml_path)})
    assert str(err.value).startswith(f"{toml_path}:{where}: {message}")
    with pytest.raises(MappingInvalid) as invalid:
        load_admin_tables(csv_path, toml_path)
    assert any(str(p).startswith(f"{toml_path}:{where}: {message}")
               for p in invalid.value.problems)


@pytest.mark.parametrize(("text", "where", "message"), [
    ("top_level = 1\n[connector]\n", "1:1", "unknown key 'top_level' at the top of the file"),
    ("rate_limit.requests_per_second = 8\n", "1:1", "unknown table [rate_limit]"),
    ("[connector]\nrate_limit_per_second = 5\n  queue = 'x'\n", "3:3",
     "unknown key 'queue' in [connector]"),
])
def test_keys_outside_any_header_and_indented_keys_are_located(
        tmp_path: Path, text: str, where: str, message: str) -> None:
    toml_path, _ = write(tmp_path, text)
    with pytest.raises(InvalidInput) as err:
        Settings.load({"CONNECTOR_CONFIG": str(toml_path)})
    assert str(err.value).startswith(f"{toml_path}:{where}: {message}")


def test_mappings_apply_refuses_the_typo_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from config.cli import main

    toml_path, csv_path = write(tmp_path, BASE + TYPOS[0][0])
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    assert main(["mappings", "apply", str(csv_path), "--config", str(toml_path)]) == 2
    err = capsys.readouterr().err
    assert f"{toml_path}:23:1: unknown table [rate_limit]" in err and err.count("\n") == 1
    assert not (tmp_path / "c.db").exists()


def test_every_declared_setting_is_a_field_of_settings() -> None:
    """The schema is the one list of what the file may say; Settings reads each of them."""
    fields = {f.name for f in attrs.fields(Settings)}
    assert set(CONNECTOR_KEYS) <= fields and set(WEBHOOK_KEYS) <= fields
    connector, webhook = SCHEMA.keys["connector"], SCHEMA.keys["webhook"]
    assert isinstance(connector, Table) and isinstance(webhook, Table)
    assert set(connector.keys) == set(CONNECTOR_KEYS)
    assert set(webhook.keys) == set(WEBHOOK_KEYS)
    assert not set(connector.refused) & fields - {"database_url", "redis_url", "ml_api_url"}


def test_the_example_file_is_valid() -> None:
    Settings.load({"CONNECTOR_CONFIG": str(EXAMPLE_TOML)})
