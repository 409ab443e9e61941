"""Both admin files together: validated as one before anything is applied."""

from collections.abc import Iterable, Mapping
from pathlib import Path

from adapters.admin_files.csv_file import read_mappings_csv
from adapters.admin_files.toml_file import AdminConfig, TomlLocator, load_admin_config
from connector_core.domain.errors import MappingInvalid, Problem
from connector_core.domain.mapping import Kit, MappingTable

MAX_REPORTED = 25


def load_admin_tables(mappings_path: Path, config_path: Path | None, *,
                      stored_accounts: Iterable[str] | Mapping[str, int] = (),
                      stored_kits: Iterable[Kit] = (),
                      stored_catalog: Iterable[str] = (),
                      mappings_text: str | None = None,
                      ) -> tuple[MappingTable, AdminConfig]:
    """Validate the CSV (and the TOML, when given) together; raise :class:`MappingInvalid`
    with every problem, located, or return the table and the config to apply.

    Without a TOML file the stored kits and catalog SKUs stand and only stored accounts are
    known. ``stored_accounts`` may map names to user ids, to catch a TOML account taking
    another account's user id."""
    problems: list[Problem] = []
    config = AdminConfig()
    loc: TomlLocator | None = None
    if config_path is not None:
        config, loc = load_admin_config(config_path, problems)
    if isinstance(stored_accounts, Mapping) and loc is not None:
        owner = {user_id: name for name, user_id in stored_accounts.items()}
        for account in config.accounts:
            other = owner.get(account.user_id)
            if other is not None and other != account.name:
                problems.append(Problem(loc.where("accounts", account.name, "user_id"),
                                        f"account {account.name!r}: user_id "
                                        f"{account.user_id} already belongs to account "
                                        f"{other!r} in the database"))
    kits = list(config.kits) if config_path is not None else list(stored_kits)
    catalog = list(config.catalog_skus) if config_path is not None else list(stored_catalog)
    known = set(stored_accounts) | {a.name for a in config.accounts}
    rows, locations = read_mappings_csv(mappings_path, known, problems, mappings_text)
    table = MappingTable([])
    if not problems:
        try:
            table = MappingTable(rows, kits, extra_skus=catalog, row_locations=locations)
        except MappingInvalid as exc:
            problems.extend(_relocate(p, loc) for p in exc.problems)
    if problems:
        raise MappingInvalid(_capped(problems))
    return table, config


def _relocate(problem: Problem, loc: TomlLocator | None) -> Problem:
    """A kit's problem at the kit's line of ``connector.toml``."""
    if problem.kit is not None and loc is not None:
        return Problem(loc.where("kits", problem.kit), problem.message, kit=problem.kit)
    return problem


def _capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_REPORTED:
        return problems
    return [*problems[:MAX_REPORTED],
            Problem("", f"... and {len(problems) - MAX_REPORTED} more problems")]
