"""A large mapping table (20,000 rows here; bench/ measures 100,000) applies, diffs and
exports quickly and exactly, on SQLite and PostgreSQL."""

import io
import time
from pathlib import Path

from sqlalchemy import Engine

from adapters.admin_files.csv_file import write_mappings_csv
from adapters.admin_files.tables import load_admin_tables
from adapters.sql.admin import TableDiff, apply_admin_tables, stored_table
from adapters.sql.engine import make_session_factory
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork

ROWS = 20_000
TOML = '[accounts.north]\nuser_id = 1\nsite_id = "MLA"\n' \
       '[accounts.south]\nuser_id = 2\nsite_id = "MLB"\n' \
       '[kits."KIT-1"]\ncomponents = { "SKU-000001" = 2, "SKU-000002" = 1 }\n'


def csv_text(rows: int, changes: bool = False) -> str:
    lines = ["sku,account,item_id,variation_id,safety_stock,max_quantity,active"]
    for n in range(rows):
        if changes and n % 200 == 0:
            continue  # removed
        safety = 5 if changes and n % 200 == 1 else 0  # changed
        account = "north" if n % 2 else "south"
        variation = str(900 + n) if n % 3 == 0 else ""
        lines.append(f"SKU-{n // 2:06d},{account},MLA{n // 3 * 10 + n % 3},{variation},"
                     f"{safety},,true")
    if changes:
        lines += [f"NEW-{n},north,MLX{n},,0,,true" for n in range(100)]  # added
    return "\n".join(lines) + "\n"


def test_twenty_thousand_rows_apply_export_and_diff(engine: Engine, tmp_path: Path) -> None:
    toml = tmp_path / "connector.toml"
    toml.write_text(TOML)
    source = tmp_path / "mappings.csv"
    source.write_text(csv_text(ROWS))
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))

    def apply(path: Path) -> TableDiff:
        table, config = load_admin_tables(path, toml)
        with uow:
            diff = apply_admin_tables(uow.session, table, catalog_skus=config.catalog_skus,
                                      policy=config.policy, accounts=config.accounts)
            uow.commit()
        return diff

    start = time.perf_counter()
    first = apply(source)
    assert len(first.added) == ROWS

    exported = io.StringIO()
    with uow:
        rows, _, _ = stored_table(uow.session)
    write_mappings_csv(rows, exported)
    (tmp_path / "exported.csv").write_text(exported.getvalue())
    assert not apply(tmp_path / "exported.csv")  # export -> apply is a no-op

    (tmp_path / "edited.csv").write_text(csv_text(ROWS, changes=True))
    diff = apply(tmp_path / "edited.csv")
    assert (len(diff.added), len(diff.changed), len(diff.removed)) == (100, 100, 100)
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"20k rows took {elapsed:.1f}s"

    with uow:
        # SKU-000000: row 0 removed, row 1 changed
        assert [r.safety_stock for r in uow.mappings.rows_for_skus(["SKU-000000"])] == [5]
        assert len(uow.mappings.rows_for_skus([f"NEW-{n}" for n in range(100)])) == 100
        assert uow.mappings.rows_for_skus(["SKU-000100"])[0].listing.account == "north"
