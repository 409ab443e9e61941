"""Formula cells in the admin's CSV files (issue 17 item 3): neutralised, read back as written."""

import csv
import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from adapters.admin_files.csv_cells import neutralise, restore
from adapters.admin_files.csv_file import write_mappings_csv
from adapters.admin_files.tables import load_admin_tables
from connector_core.domain.mapping import Listing, MappingRow
from tests.unit.config.test_files import write

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_SKUS = ['=HYPERLINK("http://x.example","click")', "+SUM(1,2)", "@SUM(A1)", "-42",
                "-SKU-1", "'=A1", "''+1", "'plain", "PLAIN", "=1+2|cmd"]


def test_exported_cells_never_start_a_formula_and_read_back_losslessly(tmp_path: Path) -> None:
    csv_path, toml_path = write(tmp_path)
    skus = [*HOSTILE_SKUS, "A", "B"]  # A and B: the example TOML's kit needs them
    rows = [MappingRow(sku, Listing("main", f"MLA{n}")) for n, sku in enumerate(skus, 1)]
    out = io.StringIO()
    write_mappings_csv(rows, out)
    cells = [cell for line in csv.reader(io.StringIO(out.getvalue())) for cell in line]
    assert not [cell for cell in cells if cell.startswith(TRIGGERS)]
    assert "'-42" in cells and "'=HYPERLINK(\"http://x.example\",\"click\")" in cells
    csv_path.write_text(out.getvalue())
    table, _ = load_admin_tables(csv_path, toml_path)
    assert sorted(r.sku for r in table.rows) == sorted(skus)


def test_a_hand_written_negative_looking_sku_is_read_as_typed(tmp_path: Path) -> None:
    csv_path, toml_path = write(tmp_path, "sku,account,item_id,variation_id\n"
                                          "-7,main,MLA1,\n'-8,main,MLA2,\nA,main,MLA3,\n"
                                          "B,main,MLA4,\n")
    table, _ = load_admin_tables(csv_path, toml_path)
    assert sorted(r.sku for r in table.rows) == ["-7", "-8", "A", "B"]


@given(st.text())
def test_every_value_round_trips_and_none_is_a_formula(value: str) -> None:
    written = neutralise(value)
    assert not written.startswith(TRIGGERS)
    assert restore(written) == value
