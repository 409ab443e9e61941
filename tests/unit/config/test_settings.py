"""Settings: the TOML file, overridden by the environment, with one-line errors."""

from pathlib import Path

import pytest

from config.settings import Settings
from connector_core.domain.errors import InvalidInput


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(text)
    return path


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, '[connector]\nrate_limit_per_second = 4\nredis_url = "redis://x/1"\n')
    settings = Settings.load({"REDIS_URL": "redis://y/2", "CONNECTOR_CONFIG": str(path)})
    assert settings.rate_limit_per_second == 4 and settings.redis_url == "redis://y/2"
    assert settings.database_url == "sqlite:///connector.db"


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.load({})
    assert settings.redis_url is None and settings.ml_api_url == "https://api.mercadolibre.com"
    assert settings.push_delay_seconds == 0
    assert (settings.inbox_retention_days, settings.audit_retention_days,
            settings.erp_events_retention_days) == (30, 90, 0)


def test_retention_from_the_file(tmp_path):
    path = write(tmp_path, "[connector]\ninbox_retention_days = 7\naudit_retention_days = 0\n"
                           "erp_events_retention_days = 365\n")
    settings = Settings.load({"CONNECTOR_CONFIG": str(path)})
    assert (settings.inbox_retention_days, settings.audit_retention_days,
            settings.erp_events_retention_days) == (7, 0, 365)


def test_push_delay_from_the_file(tmp_path):
    path = write(tmp_path, "[connector]\npush_delay_seconds = 1.5\n")
    assert Settings.load({"CONNECTOR_CONFIG": str(path)}).push_delay_seconds == 1.5


@pytest.mark.parametrize(("text", "message"), [
    ("[connector]\nrate_limit = 3\n", "[connector] has unknown keys: rate_limit"),
    ("[webhook]\nallowed = []\n", "[webhook] has unknown keys: allowed"),
    ("[connector]\nrate_limit_per_second = 0\n", "rate_limit_per_second must be > 0"),
    ("[connector]\npush_delay_seconds = -1\n", "push_delay_seconds must be >= 0"),
    ("[connector]\ninbox_retention_days = -1\n",
     "inbox_retention_days must be a whole number of days >= 0 (0 keeps the rows for ever), "
     "got -1"),
    ("[connector]\naudit_retention_days = 2.5\n", "audit_retention_days must be a whole number"),
    ('[connector]\nerp_events_retention_days = "30"\n',
     "erp_events_retention_days must be a whole number of days >= 0"),
    ("[connector]\ninbox_retention_days = true\n", "inbox_retention_days must be a whole"),
    ("[connector]\nretention_days = 30\n", "[connector] has unknown keys: retention_days"),
    ("[connector\n", "connector.toml"),
])
def test_bad_files_are_one_line_errors(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as err:
        Settings.load({"CONNECTOR_CONFIG": str(path)})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_named_config_file_must_exist(tmp_path):
    with pytest.raises(InvalidInput, match="no such config file"):
        Settings.load({"CONNECTOR_CONFIG": str(tmp_path / "missing.toml")})


def test_the_secret_key_is_required_to_store_tokens():
    with pytest.raises(InvalidInput, match="CONNECTOR_SECRET_KEY is not set"):
        Settings().require_secret_key()


@pytest.mark.parametrize(("token", "message"), [
    (" ", "ERP_API_TOKEN is too weak: it has 1 character(s), the minimum is 16"),
    ("erp-token", "the minimum is 16"),
    ("sixteen chars ok", "printable ASCII characters without spaces"),
    ("abcdefghijklmnop\t", "printable ASCII"),
    ("ñandú-ñandú-ñandú", "printable ASCII"),
])
def test_a_weak_erp_token_is_refused_at_start(tmp_path, monkeypatch, token, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput) as err:
        Settings.load({"ERP_API_TOKEN": token})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_strong_erp_token_is_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    token = "Zq3-9xT_v8L2pR7mK4sW"
    assert Settings.load({"ERP_API_TOKEN": token}).erp_api_token == token
