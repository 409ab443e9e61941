"""``meli-connector console hash-password``: a password hash for ``CONSOLE_OPERATORS``.

The password is read from stdin (one line; piped, or typed twice at a terminal), never from
the command line, where ``ps`` and the shell's history would keep it."""

import argparse
import sys
from typing import Any

from connector_core.domain.errors import InvalidInput

MIN_LENGTH = 12


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise InvalidInput("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _hash_password(args: argparse.Namespace) -> int:
    from webhook_app.console.passwords import hash_password

    password = _read_password()
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"the password has {len(password)} character(s); the minimum is "
                           f"{MIN_LENGTH}")
    hashed = hash_password(password)
    print(f"{args.name}:{hashed}" if args.name else hashed)
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("console", help="the operator's console (docs/console.md)")
    actions = parser.add_subparsers(dest="console_command", metavar="ACTION", required=True)
    p = actions.add_parser("hash-password",
                           help="read a password on stdin, print its hash for CONSOLE_OPERATORS")
    p.add_argument("--name", help="print name:HASH, ready for CONSOLE_OPERATORS")
    p.set_defaults(handler=_hash_password)
