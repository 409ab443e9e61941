"""``meli-connector``: the command line (CONTRACT §4).

Each public module in :mod:`config.commands` contributes subcommands through a
``register(subparsers)`` function (a ``_module`` there is a part shared by commands); this
module only finds them and reports errors. Every
command exits non-zero with a one-line reason on bad input.
"""

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from config import commands
from connector_core.domain.errors import ConnectorError, InvalidInput
from connector_core.domain.inputs import text_problem


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meli-connector",
        description="Keeps stock, prices and orders in sync between an ERP and MercadoLibre.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    """Arguments that are not valid text (bytes that are not UTF-8 reach Python as lone
    surrogates) can be neither stored nor printed: refuse them up front."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and text_problem(text):
                raise InvalidInput(f"--{name.replace('_', '-')} {text!r}: "
                                   f"{text_problem(text)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        _check_arguments(args)
        result = args.handler(args)
    except ConnectorError as exc:
        print(f"meli-connector {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
