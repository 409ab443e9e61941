"""Settings: the TOML file, overridden by the environment, with one-line errors."""

from pathlib import Path

import pytest

from config.settings import Settings
from connector_core.domain.errors import InvalidInput


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(text)
    return path


def test_business_settings_from_the_file_infrastructure_from_the_environment(tmp_path):
    path = write(tmp_path, "[connector]\nrate_limit_per_second = 4\n")
    settings = Settings.load({"REDIS_URL": "redis://y/2", "CONNECTOR_CONFIG": str(path)})
    assert settings.rate_limit_per_second == 4 and settings.redis_url == "redis://y/2"
    assert settings.database_url == "sqlite:///connector.db"


@pytest.mark.parametrize(("key", "variable"), [
    ("database_url", "DATABASE_URL"), ("redis_url", "REDIS_URL"), ("ml_api_url", "ML_API_URL")])
def test_the_file_cannot_say_where_infrastructure_and_secrets_go(tmp_path, key, variable):
    """The admin edits connector.toml; a URL in it could send the client secret and every
    refresh token elsewhere, or queue arbitrary functions on a hostile Redis."""
    path = write(tmp_path, f'[connector]\nrate_limit_per_second = 4\n{key} = "http://evil/"\n')
    with pytest.raises(InvalidInput) as err:
        Settings.load({"CONNECTOR_CONFIG": str(path)})
    assert str(err.value).startswith(f"{path}:3:1: {key} in [connector] is read from the "
                                     f"environment only: set {variable}")


@pytest.mark.parametrize("url", ["http://api.mercadolibre.com", "http://127.0.0.1:8900",
                                 "ftp://x", "api.mercadolibre.com", "https://"])
def test_the_ml_api_url_must_be_https(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput, match="ML_API_URL"):
        Settings.load({"ML_API_URL": url})
    with pytest.raises(InvalidInput, match="ML_API_URL"):
        Settings(ml_api_url=url)


def test_plain_http_only_for_the_sandbox_chosen_explicitly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput, match="ML_SANDBOX=1"):
        Settings.load({"ML_API_URL": "http://127.0.0.1:8900"})
    settings = Settings.load({"ML_API_URL": "http://127.0.0.1:8900", "ML_SANDBOX": "1"})
    assert settings.ml_api_url == "http://127.0.0.1:8900" and settings.ml_sandbox
    assert Settings.load({"ML_API_URL": "https://ml.example.com"}).ml_api_url \
        == "https://ml.example.com"
    with pytest.raises(InvalidInput, match="ML_SANDBOX must be 1 or 0"):
        Settings.load({"ML_SANDBOX": "maybe"})


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
    ("[connector]\nrate_limit = 3\n", ":2:1: unknown key 'rate_limit' in [connector] (known: "),
    ("[webhook]\nallowed = []\n", ":2:1: unknown key 'allowed' in [webhook]"),
    ("[webhook]\ntrusted_proxies = 1\n", ":2:1: trusted_proxies in [webhook] was replaced by "
                                         "trusted_proxy_networks"),
    ('[webhook]\ntrusted_proxy_networks = ["10.0.0.0/33"]\n',
     ":2:1: [webhook] trusted_proxy_networks: '10.0.0.0/33' is not an IP address or CIDR"),
    ('[webhook]\nallowed_ips = "54.88.218.97"\n', ":2:1: [webhook] allowed_ips: expected a "
                                                  "list"),
    ("[webhook]\nmax_body_bytes = 10\n", ":2:1: [webhook] max_body_bytes: expected a whole"),
    ("connector = 3\n", ":1:1: [connector] must be a table"),
    ("[connector]\nrate_limit_per_second = 0\n", "rate_limit_per_second must be > 0"),
    ("[connector]\npush_delay_seconds = -1\n", "push_delay_seconds must be >= 0"),
    ("[connector]\ninbox_retention_days = -1\n",
     "inbox_retention_days must be a whole number of days >= 0 (0 keeps the rows for ever), "
     "got -1"),
    ("[connector]\naudit_retention_days = 2.5\n", "audit_retention_days must be a whole number"),
    ('[connector]\nerp_events_retention_days = "30"\n',
     "erp_events_retention_days must be a whole number of days >= 0"),
    ("[connector]\ninbox_retention_days = true\n", "inbox_retention_days must be a whole"),
    ("[connector]\nretention_days = 30\n", "unknown key 'retention_days' in [connector]"),
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


def test_the_ml_application_is_required_to_call_ml_and_to_link_accounts():
    with pytest.raises(InvalidInput, match="ML_CLIENT_ID and ML_CLIENT_SECRET are not set"):
        Settings(ml_client_id="123").require_ml_app()
    with pytest.raises(InvalidInput, match="ML_CLIENT_ID and ML_REDIRECT_URI must be set"):
        Settings(ml_client_id="123", ml_client_secret="shh").require_redirect()
    app = Settings(ml_client_id="123", ml_client_secret="shh", ml_redirect_uri="https://c/cb")
    assert (app.require_ml_app(), app.require_redirect()) == (("123", "shh"),
                                                              ("123", "https://c/cb"))


def test_sellers_authorise_on_mls_own_hosts_unless_the_api_is_a_sandbox():
    assert Settings().auth_base is None
    sandbox = Settings(ml_api_url="http://127.0.0.1:8900", ml_sandbox=True)
    assert sandbox.auth_base == "http://127.0.0.1:8900"


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


def test_the_webhook_settings_from_the_file(tmp_path):
    path = write(tmp_path, '[webhook]\nallowed_ips = ["54.88.218.97", "18.0.0.0/8"]\n'
                           'trusted_proxy_networks = ["10.0.0.0/8", "fd00::/8"]\n'
                           "max_body_bytes = 2048\n")
    settings = Settings.load({"CONNECTOR_CONFIG": str(path)})
    assert settings.allowed_ips == ("54.88.218.97", "18.0.0.0/8")
    assert settings.trusted_proxy_networks == ("10.0.0.0/8", "fd00::/8")
    assert settings.max_body_bytes == 2048
    assert Settings().allowed_ips is None and Settings().trusted_proxy_networks == ()
