"""Reading the admin's files: every problem located as file:line:column, nothing partial."""

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.admin_files.csv_file import write_mappings_csv
from adapters.admin_files.tables import load_admin_tables
from connector_core.domain.errors import MappingInvalid
from connector_core.domain.limits import MAX_NAME_LENGTH, MAX_SKU_LENGTH
from connector_core.domain.mapping import Kit, Listing, MappingRow

TOML = """\
[connector]
rate_limit_per_second = 5

[accounts.main]
user_id = 111
site_id = "MLA"
warehouses = ["w1"]

[accounts.second]
user_id = 222
site_id = "MLB"

[kits."KIT-1"]
components = { "A" = 2, "B" = 1 }

[catalog]
skus = ["LOOSE"]

[pricing.default]
min_markup = 0.1
fee_rate = 0.13

[pricing.sku."A"]
max_price = 500

[pricing.listing."main:MLA2/501"]
undercut = "0.5"
strategy = "competitive"
"""

CSV = """\
sku,account,item_id,variation_id,safety_stock,max_quantity,active
A,main,MLA1,,0,,true
B,main,MLA2,501,2,10,yes
KIT-1,second,MLB3,,,,0
"""


def write(tmp_path: Path, csv_text: str = CSV, toml_text: str = TOML) -> tuple[Path, Path]:
    csv_path, toml_path = tmp_path / "mappings.csv", tmp_path / "connector.toml"
    csv_path.write_text(csv_text)
    toml_path.write_text(toml_text)
    return csv_path, toml_path


def problems(tmp_path: Path, csv_text: str = CSV, toml_text: str = TOML,
             stored_accounts: tuple[str, ...] | dict[str, int] = ()) -> list[str]:
    csv_path, toml_path = write(tmp_path, csv_text, toml_text)
    with pytest.raises(MappingInvalid) as info:
        load_admin_tables(csv_path, toml_path, stored_accounts=stored_accounts)
    return [str(p) for p in info.value.problems]


def test_a_valid_pair_of_files_loads(tmp_path: Path) -> None:
    csv_path, toml_path = write(tmp_path)
    table, config = load_admin_tables(csv_path, toml_path)
    assert table.rows == (
        MappingRow("A", Listing("main", "MLA1")),
        MappingRow("B", Listing("main", "MLA2", 501), safety_stock=2, max_quantity=10),
        MappingRow("KIT-1", Listing("second", "MLB3"), active=False))
    assert list(table.kits) == [Kit("KIT-1", {"A": 2, "B": 1})]
    assert [a.name for a in config.accounts] == ["main", "second"]
    assert config.accounts[0].warehouses == frozenset({"w1"})
    assert config.catalog_skus == ("LOOSE",)
    assert config.policy is not None
    assert config.policy.default.fee_rate == Decimal("0.13")
    assert config.policy.by_sku["A"].max_price == Decimal(500)
    assert config.policy.by_listing[Listing("main", "MLA2", 501)].undercut == Decimal("0.5")


def test_csv_problems_name_line_and_column(tmp_path: Path) -> None:
    bad = CSV + ("A,main,MLA1,,0,,true\n"          # line 5: duplicate listing
                 "C,ghost,MLA9,,0,,true\n"         # line 6: unknown account
                 "D,main,MLA7,abc,x,-1,maybe\n"    # line 7: bad numbers and boolean
                 "E,main,MLA8\n")                  # line 8: missing fields
    found = problems(tmp_path, bad)
    path = tmp_path / "mappings.csv"
    assert f"{path}:5:3: listing main:MLA1 appears more than once (first on line 2)" in found
    assert any(p.startswith(f"{path}:6:2: unknown account 'ghost'") for p in found)
    assert any(p.startswith(f"{path}:7:4: variation_id must be") for p in found)
    assert any(p.startswith(f"{path}:7:5: safety_stock must be a whole number") for p in found)
    assert any(p.startswith(f"{path}:7:6: max_quantity must be a whole number") for p in found)
    assert any(p.startswith(f"{path}:7:7: active: expected true or false") for p in found)
    assert any(p.startswith(f"{path}:8:1: expected 7 fields") for p in found)


def test_missing_and_unknown_columns(tmp_path: Path) -> None:
    found = problems(tmp_path, "sku,account,item_id,colour\nA,main,MLA1,red\n")
    path = tmp_path / "mappings.csv"
    assert found[0].startswith(f"{path}:1:1: missing column(s): variation_id")
    assert found[1].startswith(f"{path}:1:4: unknown column 'colour'")


def test_kit_problems_point_at_the_toml(tmp_path: Path) -> None:
    toml = TOML.replace('components = { "A" = 2, "B" = 1 }',
                        'components = { "A" = 2, "NOPE" = 1 }')
    toml += '\n[kits."KIT-2"]\ncomponents = { "KIT-3" = 1 }\n' \
            '\n[kits."KIT-3"]\ncomponents = { "KIT-2" = 1 }\n'
    found = problems(tmp_path, CSV, toml)
    path = tmp_path / "connector.toml"
    assert any(p.startswith(f"{path}:13:1: component 'NOPE' is not a known SKU") for p in found)
    assert any("kit cycle: KIT-2 -> KIT-3 -> KIT-2" in p and p.startswith(f"{path}:")
               for p in found)


def test_toml_value_problems_point_at_the_key(tmp_path: Path) -> None:
    toml = (TOML.replace("user_id = 222", "user_id = -4")
            .replace("max_price = 500", "max_price = true")
            .replace('strategy = "competitive"', 'strategy = "cheap"')
            .replace("fee_rate = 0.13", "fee_rate = 0.13\nbogus = 1"))
    found = problems(tmp_path, CSV, toml)
    path = tmp_path / "connector.toml"
    assert any(p.startswith(f"{path}:10:1: account 'second': user_id") for p in found)
    assert any(p.startswith(f"{path}:25:1: [pricing.sku.\"A\"]: max_price") for p in found)
    assert any(p.startswith(f"{path}:22:1: unknown key 'bogus' in [pricing.default] (known:")
               for p in found)
    assert any("[pricing.listing.\"main:MLA2/501\"]" in p and "cheap" in p for p in found)


def test_toml_syntax_errors_are_located(tmp_path: Path) -> None:
    found = problems(tmp_path, CSV, TOML + "\n[kits\n")
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'connector.toml'}:")
    assert "TOML syntax" in found[0]


def test_a_user_id_belongs_to_one_account(tmp_path: Path) -> None:
    found = problems(tmp_path, CSV, TOML.replace("user_id = 222", "user_id = 111"))
    assert any(p.startswith(f"{tmp_path / 'connector.toml'}:10:1: account 'second': user_id "
                            "111 is used by account 'main' too") for p in found)
    found = problems(tmp_path, stored_accounts={"legacy": 222})
    assert any("user_id 222 already belongs to account 'legacy' in the database" in p
               for p in found)


def test_accounts_known_only_from_the_database_are_accepted(tmp_path: Path) -> None:
    csv_text = CSV + "C,legacy,MLA9,,0,,true\n"
    csv_path, toml_path = write(tmp_path, csv_text)
    table, _ = load_admin_tables(csv_path, toml_path, stored_accounts=("legacy",))
    assert len(table.rows) == 4


def test_many_problems_are_capped_in_one_message(tmp_path: Path) -> None:
    bad = CSV + "".join(f"X{i},ghost,MLA{i},,0,,true\n" for i in range(100))
    found = problems(tmp_path, bad)
    assert len(found) == 26 and found[-1] == "... and 75 more problems"


def test_export_format_reads_back_identically(tmp_path: Path) -> None:
    csv_path, toml_path = write(tmp_path)
    table, _ = load_admin_tables(csv_path, toml_path)
    out = tmp_path / "export.csv"
    with out.open("w", newline="") as handle:
        write_mappings_csv(table.rows, handle)
    again, _ = load_admin_tables(out, toml_path)
    assert again.rows == table.rows


def test_the_bundled_example_files_are_valid() -> None:
    root = Path(__file__).resolve().parents[3] / "config"
    table, config = load_admin_tables(root / "mappings.csv", root / "connector.toml")
    assert table.rows and list(table.kits) and config.policy is not None
    assert any(r.listing.variation_id is not None for r in table.rows)
    assert config.policy.by_sku or config.policy.by_listing


def test_names_longer_than_the_database_holds_are_problems(tmp_path: Path) -> None:
    long_sku, long_item = "S" * (MAX_SKU_LENGTH + 1), "M" * (MAX_NAME_LENGTH + 1)
    csv_text = CSV + f"{long_sku},main,MLA5,,0,,true\nC,main,{long_item},,0,,true\n"
    toml = (TOML.replace('warehouses = ["w1"]', f'warehouses = ["{"w" * 65}"]')
            .replace('skus = ["LOOSE"]', f'skus = ["{long_sku}"]')
            + f'\n[kits."{long_sku}"]\ncomponents = {{ "A" = 1 }}\n')
    found = problems(tmp_path, csv_text, toml)
    path = tmp_path / "mappings.csv"
    assert f"{path}:5:1: sku is longer than 128 characters" in found
    assert f"{path}:6:3: item_id is longer than 64 characters" in found
    assert any("warehouses must be a list of names of 1 to 64 characters" in p for p in found)
    assert any("[catalog] skus: a SKU is longer than 128 characters" in p for p in found)
    assert any("is longer than 128 characters" in p and "kit 'SSS" in p for p in found)
    # the longest names that fit load
    longest_item = "MLA" + "9" * (MAX_NAME_LENGTH - 3)
    fits = CSV + f"{'S' * MAX_SKU_LENGTH},main,{longest_item},,0,,true\n"
    csv_path, toml_path = write(tmp_path, fits)
    table, _ = load_admin_tables(csv_path, toml_path)
    assert len(table.rows) == 4


def test_the_limits_are_the_database_columns() -> None:
    from adapters.sql.rows.accounts import AccountRow
    from adapters.sql.rows.catalog import (
        CatalogSkuRow,
        ErpPriceRow,
        KitComponentRow,
        ListingMappingRow,
    )
    from adapters.sql.rows.stock import HoldRow, StockReportRow

    def length(row: type, column: str) -> int:
        return int(row.__table__.c[column].type.length)  # type: ignore[attr-defined]

    skus = [(ListingMappingRow, "sku"), (KitComponentRow, "kit_sku"),
            (KitComponentRow, "component_sku"), (CatalogSkuRow, "sku"),
            (StockReportRow, "sku"), (HoldRow, "sku"), (ErpPriceRow, "sku")]
    names = [(ListingMappingRow, "item_id"), (ListingMappingRow, "account"), (AccountRow, "name"),
             (StockReportRow, "warehouse")]
    assert {length(row, column) for row, column in skus} == {MAX_SKU_LENGTH}
    assert {length(row, column) for row, column in names} == {MAX_NAME_LENGTH}


def test_ids_that_would_become_other_urls_are_problems(tmp_path: Path) -> None:
    """Issue 17 item 4: item ids become ``/items/{id}``; variation ids are digits."""
    csv_text = CSV + "C,main,../../users/me?x=,,0,,true\nD,main,MLA7,\u00b2,0,,true\n"
    toml = TOML + '\n[pricing.listing."main:MLA1/../../x"]\nfee_rate = 0.1\n' \
                  '\n[pricing.listing."main:users/me"]\nfee_rate = 0.1\n'
    found = problems(tmp_path, csv_text, toml)
    path = tmp_path / "mappings.csv"
    assert f"{path}:5:3: item_id '../../users/me?x=' is not an ML item id (three capital " \
           "letters and digits, e.g. MLA1234567890)" in found
    assert any(p.startswith(f"{path}:6:4: variation_id must be a positive whole number")
               for p in found)
    assert any('[pricing.listing."main:MLA1/../../x"]: variation_id: expected an ML '
               "variation id" in p for p in found)
    assert any('[pricing.listing."main:users/me"]: item_id: expected an ML item id' in p
               for p in found)
