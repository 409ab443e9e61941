"""The admin's commands as a user runs them, on SQLite and PostgreSQL."""

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from adapters.sql.engine import make_session_factory
from adapters.sql.migrate import head_revision
from adapters.sql.rows.base import Base
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from config.cli import main
from connector_core.domain.mapping import Listing

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_CSV = ROOT / "config" / "mappings.csv"
EXAMPLE_TOML = ROOT / "config" / "connector.toml"


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CONNECTOR_CONFIG", str(EXAMPLE_TOML))
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.chdir(tmp_path)

    def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
                for t in Base.metadata.sorted_tables}


def test_db_upgrade_is_idempotent(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli("db", "upgrade", capsys=capsys)
    assert code == 0 and f"revision {head_revision()}" in out


def test_apply_dry_run_apply_export_reapply(cli: Any, engine: Engine, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(engine)
    code, out, _ = cli("mappings", "apply", str(EXAMPLE_CSV), "--dry-run", capsys=capsys)
    assert code == 0
    assert "mappings: 10 added, 0 changed, 0 removed" in out and "dry run" in out
    assert snapshot(engine) == before

    code, out, _ = cli("mappings", "apply", str(EXAMPLE_CSV), capsys=capsys)
    assert code == 0 and "applied" in out
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    with uow:
        assert [a.name for a in uow.accounts.list()] == ["demo", "up"]
        assert [s.store_id for s in uow.accounts.get("up").stores] == ["70001", "70002"]
        assert "MUG-01-X2" in uow.mappings.kits()
        row = uow.mappings.row_for_listing(Listing("demo", "MLA1000000004"))
        assert row is not None and (row.safety_stock, row.max_quantity) == (2, 30)
        assert uow.prices.policy().by_sku["YERBA-1KG"].max_price == 7000

    code, exported, _ = cli("mappings", "export", capsys=capsys)
    assert code == 0 and exported.startswith("sku,account,item_id,variation_id")
    (tmp_path / "exported.csv").write_text(exported)
    applied = snapshot(engine)
    code, out, _ = cli("mappings", "apply", "exported.csv", capsys=capsys)
    assert code == 0
    assert "0 added, 0 changed, 0 removed" in out and "nothing to apply" in out
    assert snapshot(engine) == applied


def test_a_change_shows_in_the_diff(cli: Any, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("mappings", "apply", str(EXAMPLE_CSV), capsys=capsys)[0] == 0
    lines = EXAMPLE_CSV.read_text().splitlines()
    edited = [line.replace("YERBA-1KG,demo,MLA1000000004,,2,30", "YERBA-1KG,demo,"
                           "MLA1000000004,,5,30") for line in lines if "TEE-BLK-L" not in line]
    edited.append("TEE-WHT-L,demo,MLA1000000003,180000000104,0,,true")
    (tmp_path / "edited.csv").write_text("\n".join(edited) + "\n")
    code, out, _ = cli("mappings", "apply", "edited.csv", capsys=capsys)
    assert code == 0
    assert "mappings: 1 added, 1 changed, 1 removed" in out
    assert "+ demo:MLA1000000003/180000000104 -> TEE-WHT-L" in out
    assert "~ demo:MLA1000000004: safety_stock 2 -> 5" in out
    assert "- demo:MLA1000000003/180000000102 -> TEE-BLK-L" in out


BROKEN = {
    "duplicate listing": "MUG-01,demo,MLA1000000001,,0,,true\n",
    "unknown account": "MUG-01,ghost,MLA9,,0,,true\n",
    "bad number": "MUG-01,demo,MLA9,,lots,,true\n",
    "bad boolean": "MUG-01,demo,MLA9,,0,,perhaps\n",
    "short row": "MUG-01,demo\n",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_changes_nothing(cli: Any, engine: Engine, tmp_path: Path, case: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("mappings", "apply", str(EXAMPLE_CSV), capsys=capsys)[0] == 0
    applied = snapshot(engine)
    broken = tmp_path / "broken.csv"
    # a valid change first (removing a row), then the broken line: nothing may be applied
    kept = [line for line in EXAMPLE_CSV.read_text().splitlines() if "TEE-BLK-L" not in line]
    broken.write_text("\n".join(kept) + "\n" + BROKEN[case])
    code, out, err = cli("mappings", "apply", str(broken), capsys=capsys)
    assert code != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("meli-connector mappings: ") and f"{broken}:" in err
    assert snapshot(engine) == applied


def test_a_kit_cycle_in_the_toml_changes_nothing(cli: Any, engine: Engine, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("mappings", "apply", str(EXAMPLE_CSV), capsys=capsys)[0] == 0
    applied = snapshot(engine)
    toml = tmp_path / "cyclic.toml"
    toml.write_text(EXAMPLE_TOML.read_text() + '\n[kits."MUG-01"]\ncomponents = '
                    '{ "MUG-01-X2" = 1 }\n')
    code, _, err = cli("mappings", "apply", str(EXAMPLE_CSV), "--config", str(toml),
                       capsys=capsys)
    assert code != 0 and "kit cycle" in err and f"{toml}:" in err
    assert snapshot(engine) == applied


def test_accounts_add_and_list_never_show_a_token(cli: Any,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli("accounts", "add", "shop", "--user-id", "777", "--site", "MLM",
                       "--refresh-token", "TG-very-secret", "--warehouse", "w1", capsys=capsys)
    assert code == 0 and "TG-very-secret" not in out
    code, out, _ = cli("accounts", "list", capsys=capsys)
    assert code == 0 and "shop" in out and "secret" not in out
    code, out, _ = cli("accounts", "list", "--json", capsys=capsys)
    [listed] = json.loads(out)
    assert listed["name"] == "shop" and listed["connected"] and listed["warehouses"] == ["w1"]
    assert "secret" not in out
    code, _, err = cli("accounts", "add", "clone", "--user-id", "777", "--site", "MLM",
                       capsys=capsys)
    assert code != 0 and "already belongs to account 'shop'" in err
    code, _, err = cli("accounts", "add", "bad", "--user-id", "1", "--site", "XXX",
                       capsys=capsys)
    assert code != 0 and len(err.strip().splitlines()) == 1


def test_config_accounts_and_cli_accounts_share_one_table(
        cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("accounts", "add", "demo", "--user-id", "123456789", "--site", "MLA",
               "--refresh-token", "TG-1", capsys=capsys)[0] == 0
    assert cli("mappings", "apply", str(EXAMPLE_CSV), capsys=capsys)[0] == 0
    code, out, _ = cli("accounts", "list", "--json", capsys=capsys)
    assert code == 0
    demo, up = json.loads(out)
    assert demo["warehouses"] == ["main"]  # from connector.toml
    assert demo["connected"]  # the token from `accounts add` is kept
    assert up["stores"] == {"central": "70001", "norte": "70002"}
    assert up["model"] == "unknown"  # not read from ML yet (`accounts list --refresh`)


def test_an_unmigrated_database_is_a_one_line_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("CONNECTOR_CONFIG", str(EXAMPLE_TOML))
    assert main(["mappings", "export"]) != 0
    err = capsys.readouterr().err
    assert "meli-connector db upgrade" in err and len(err.strip().splitlines()) == 1


def test_adding_a_token_after_apply_keeps_the_configured_warehouses(
        cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("mappings", "apply", str(EXAMPLE_CSV), capsys=capsys)[0] == 0
    assert cli("accounts", "add", "demo", "--user-id", "123456789", "--site", "MLA",
               "--refresh-token", "TG-1", capsys=capsys)[0] == 0
    demo, _up = json.loads(cli("accounts", "list", "--json", capsys=capsys)[1])
    assert demo["warehouses"] == ["main"] and demo["connected"]
    assert cli("accounts", "add", "demo", "--user-id", "123456789", "--site", "MLA",
               "--warehouse", "north", capsys=capsys)[0] == 0
    demo, _up = json.loads(cli("accounts", "list", "--json", capsys=capsys)[1])
    assert demo["warehouses"] == ["north"]


def test_the_refresh_token_comes_from_stdin_or_the_environment(
        cli: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from adapters.sql.tokens import SqlTokenStore

    key = __import__("os").environ["CONNECTOR_SECRET_KEY"]
    store = SqlTokenStore(make_session_factory(engine), key)
    monkeypatch.setattr("sys.stdin", io.StringIO("TG-from-stdin\n"))
    code, out, err = cli("accounts", "add", "a", "--user-id", "1", "--site", "MLA",
                         "--refresh-token-stdin", capsys=capsys)
    assert code == 0 and "stored encrypted" in out and "TG-" not in out + err
    assert store.load("a").refresh_token == "TG-from-stdin"
    monkeypatch.setenv("ML_REFRESH_TOKEN", "TG-from-env")
    code, out, err = cli("accounts", "add", "b", "--user-id", "2", "--site", "MLA",
                         capsys=capsys)
    assert code == 0 and store.load("b").refresh_token == "TG-from-env" and err == ""
    code, _, err = cli("accounts", "add", "c", "--user-id", "3", "--site", "MLA",
                       "--refresh-token", "TG-argv", capsys=capsys)
    assert code == 0 and "shows in `ps`" in err and "TG-argv" not in err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    code, _, err = cli("accounts", "add", "d", "--user-id", "4", "--site", "MLA",
                       "--refresh-token-stdin", capsys=capsys)
    assert code == 2 and "from stdin is empty" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("accounts", "add", "d", "--user-id", "4", "--site", "MLA",
                       "--refresh-token-stdin", "--refresh-token", "x", capsys=capsys)
    assert code == 2 and "one way" in err


def test_a_wrong_key_stops_commands_that_need_the_tokens(
        cli: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.sql.rows.jobs import JobRow
    from adapters.sql.tokens import SqlTokenStore
    from config import jobs

    old = __import__("os").environ["CONNECTOR_SECRET_KEY"]
    new = Fernet.generate_key().decode()
    assert cli("mappings", "apply", str(EXAMPLE_CSV), capsys=capsys)[0] == 0
    assert cli("accounts", "add", "demo", "--user-id", "123456789", "--site", "MLA",
               "--refresh-token", "TG-1", capsys=capsys)[0] == 0
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", new)
    for argv in (["sync", "stock", "--all"], ["reconcile"], ["mappings", "verify"],
                 ["jobs", "retry", "--all"]):
        monkeypatch.setattr(jobs, "_connector", None)  # each command builds its own
        try:
            code, out, err = cli(*argv, capsys=capsys)
        finally:
            if jobs._connector is not None:
                jobs._connector.close()
        assert code == 2 and out == "", argv
        assert "does not decrypt the stored tokens" in err and len(err.splitlines()) == 1
    with engine.connect() as conn:
        assert conn.execute(select(JobRow.id)).all() == []  # nothing queued in vain
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", f"{new},{old}")
    code, out, _ = cli("rekey", capsys=capsys)
    assert code == 0 and "re-encrypted the tokens of 1 account(s)" in out
    assert SqlTokenStore(make_session_factory(engine), new).load("demo").refresh_token == "TG-1"


@pytest.mark.parametrize(("argv", "message"), [
    (("accounts", "add", "big", "--user-id", str(2**63), "--site", "MLA"),
     "account 'big': 'user_id' must be <= 9223372036854775807"),
    (("accounts", "add", "a b", "--user-id", "5", "--site", "MLA"),
     "account 'a b': 'name' must match regex"),
    (("jobs", "retry", "job-\u00b2"), "job id: expected an id `jobs failed` lists"),
    (("sync", "stock", "--sku", "A\udcff"),  # a byte that is not UTF-8, as Python passes it
     "--sku 'A\\udcff': contains a lone surrogate"),
])
def test_hostile_arguments_are_one_line_errors(cli: Any, engine: Engine,
                                               capsys: pytest.CaptureFixture[str],
                                               argv: tuple[str, ...], message: str) -> None:
    before = snapshot(engine)
    code, _, err = cli(*argv, capsys=capsys)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert snapshot(engine) == before


def test_an_item_id_that_is_a_path_is_refused(cli: Any, engine: Engine, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 17 item 4: ``../../users/me?x=`` as an item id turned /items/{id} into another
    endpoint, read with the seller's token."""
    bad = tmp_path / "bad.csv"
    bad.write_text(EXAMPLE_CSV.read_text() + "MUG-01,demo,../../users/me?x=,,0,,true\n")
    before = snapshot(engine)
    code, _, err = cli("mappings", "apply", str(bad), capsys=capsys)
    line = len(bad.read_text().splitlines())
    assert code == 2
    assert f"{bad}:{line}:3: item_id '../../users/me?x=' is not an ML item id" in err
    assert snapshot(engine) == before
