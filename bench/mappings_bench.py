"""Benchmark: a 100,000-row mapping table (CONTRACT §3, issue 5 "Scale").

    .venv/bin/python bench/mappings_bench.py                      # SQLite (temporary file)
    .venv/bin/python bench/mappings_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/mappings_bench.py --rows 20000         # smaller

With a PostgreSQL URL a throwaway database is created next to the one named, and dropped.
Prints: validate, apply (empty table), re-apply (no-op diff), export, and a single-SKU
lookup through the repository against a full-table scan measured in the same run.
"""

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import TextClause, create_engine, text
from sqlalchemy.engine import make_url

from adapters.admin_files.csv_file import write_mappings_csv
from adapters.admin_files.tables import load_admin_tables
from adapters.sql.admin import TableDiff, apply_admin_tables, stored_table
from adapters.sql.engine import make_engine, make_session_factory
from adapters.sql.migrate import upgrade
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork

T = TypeVar("T")


def write_inputs(folder: Path, rows: int) -> tuple[Path, Path, list[str]]:
    """A CSV of ``rows`` listings (2 accounts, ~1/4 variations, 2 listings per SKU) and a
    TOML with the accounts, 200 kits and a pricing policy."""
    rnd = random.Random(1)
    skus = [f"SKU-{i:06d}" for i in range(rows // 2)]
    lines = ["sku,account,item_id,variation_id,safety_stock,max_quantity,active"]
    for n in range(rows):
        sku = skus[n // 2]
        account = "north" if n % 2 == 0 else "south"
        if n % 4 == 3:
            item, variation = f"MLA{700000000 + n // 8}", str(100000 + n)
        else:
            item, variation = f"MLA{500000000 + n}", ""
        safety = rnd.choice(["0", "0", "1", "2"])
        max_q = rnd.choice(["", "", "50"])
        lines.append(f"{sku},{account},{item},{variation},{safety},{max_q},true")
    csv_path = folder / "mappings.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    toml = ['[accounts.north]\nuser_id = 1001\nsite_id = "MLA"\n',
            '[accounts.south]\nuser_id = 1002\nsite_id = "MLA"\nwarehouses = ["w1"]\n',
            "[pricing.default]\nmin_markup = 0.15\ntarget_markup = 0.4\nfee_rate = 0.13\n"]
    for k in range(200):
        a, b = skus[(k * 7) % len(skus)], skus[(k * 13 + 1) % len(skus)]
        toml.append(f'[kits."KIT-{k:04d}"]\ncomponents = {{ "{a}" = 2, "{b}" = 1 }}\n')
    toml_path = folder / "connector.toml"
    toml_path.write_text("\n".join(toml))
    return csv_path, toml_path, skus


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@contextmanager
def database(url: str | None, folder: Path) -> Iterator[str]:
    if url is None or make_url(url).get_backend_name() == "sqlite":
        yield url or f"sqlite:///{folder / 'bench.db'}"
        return
    name = f"connector_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _scan(uow: SqlAlchemyUnitOfWork, query: TextClause, sku: str) -> list[Any]:
    return list(uow.session.execute(query, {"sku": sku}).all())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--lookups", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, Path(tmp)) as url:
        folder = Path(tmp)
        csv_path, toml_path, skus = write_inputs(folder, args.rows)
        engine = make_engine(url)
        upgrade(engine)
        uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
        print(f"database: {engine.dialect.name}; {args.rows:,} mapping rows, "
              f"{len(skus):,} SKUs, 200 kits")

        t_validate, (table, config) = timed(lambda: load_admin_tables(csv_path, toml_path))

        def apply() -> TableDiff:
            with uow:
                diff = apply_admin_tables(uow.session, table, catalog_skus=config.catalog_skus,
                                          policy=config.policy, accounts=config.accounts)
                uow.commit()
            return diff

        t_apply, diff = timed(apply)
        t_reapply, again = timed(apply)
        assert len(diff.added) == args.rows and not again

        def export() -> str:
            out = io.StringIO()
            with uow:
                rows, _, _ = stored_table(uow.session)
            write_mappings_csv(rows, out)
            return out.getvalue()

        t_export, exported = timed(export)
        assert isinstance(exported, str) and exported.count("\n") == args.rows + 1

        rnd = random.Random(2)
        sample = [rnd.choice(skus) for _ in range(args.lookups)]
        lookup_times, scan_times = [], []
        scan = text("SELECT * FROM mapping_rows WHERE sku || '' = :sku")  # defeats the index
        with uow:
            for sku in sample:
                t, found = timed(partial(uow.mappings.rows_for_skus, [sku]))
                assert len(found) == 2
                lookup_times.append(t)
            for sku in sample[: max(10, args.lookups // 10)]:
                scan_times.append(timed(partial(_scan, uow, scan, sku))[0])
            explain = ("EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ")
            plan = " | ".join(str(r[-1]) for r in uow.session.execute(text(
                explain + "SELECT * FROM mapping_rows WHERE sku = 'SKU-000001'")))
        engine.dispose()

    lookup_ms = statistics.median(lookup_times) * 1000
    scan_ms = statistics.median(scan_times) * 1000
    print(f"validate (parse CSV + TOML, build MappingTable): {t_validate:7.2f} s")
    print(f"apply to an empty table (one transaction):       {t_apply:7.2f} s")
    print(f"re-apply the same files (diff only, no-op):      {t_reapply:7.2f} s")
    print(f"export the table as CSV:                         {t_export:7.2f} s")
    print(f"single-SKU lookup (rows_for_skus, median):       {lookup_ms:7.3f} ms")
    print(f"same query as a full-table scan (median):        {scan_ms:7.3f} ms")
    print(f"scan / indexed lookup:                           {scan_ms / lookup_ms:7.0f} x")
    print(f"plan: {plan}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
