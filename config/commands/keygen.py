"""``meli-connector keygen`` (a new CONNECTOR_SECRET_KEY, or an ERP_API_TOKEN) and
``meli-connector rekey`` (every stored token re-encrypted with the first key)."""

import argparse
from typing import Any


def _keygen(args: argparse.Namespace) -> int:
    if args.erp_token:
        import secrets

        print(secrets.token_urlsafe(32))  # 43 characters, header-safe
        return 0
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def _rekey(args: argparse.Namespace) -> int:
    """Key rotation: CONNECTOR_SECRET_KEY="NEW,OLD", run this, then CONNECTOR_SECRET_KEY=NEW."""
    from config.connecting import connector_for
    from config.settings import Settings

    settings = Settings.load(config_path=args.config)
    key = settings.require_secret_key()
    with connector_for(settings) as connector:
        rewritten = connector.tokens.rekey()
    keys = len(key.split(","))
    print(f"re-encrypted the tokens of {rewritten} account(s) with the first of {keys} key(s)"
          + ("; the other keys can now be removed from CONNECTOR_SECRET_KEY" if keys > 1
             else ""))
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("keygen", help="print a new key for CONNECTOR_SECRET_KEY")
    parser.add_argument("--erp-token", action="store_true",
                        help="print a new random ERP_API_TOKEN instead")
    parser.set_defaults(handler=_keygen)
    rekey = sub.add_parser("rekey", help="re-encrypt every stored token with the first key of "
                                         "CONNECTOR_SECRET_KEY (key rotation)")
    rekey.add_argument("--config", help="connector.toml for settings")
    rekey.set_defaults(handler=_rekey)
