"""``meli-connector keygen``: print a new CONNECTOR_SECRET_KEY."""

import argparse
from typing import Any


def _keygen(_args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("keygen", help="print a new key for CONNECTOR_SECRET_KEY")
    parser.set_defaults(handler=_keygen)
