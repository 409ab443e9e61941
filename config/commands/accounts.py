"""``meli-connector accounts add|list``: the seller accounts (one table for both sources).

``accounts add`` and the ``[accounts.NAME]`` tables of connector.toml (applied by
``mappings apply``) write the same ``accounts`` table: the last one to run sets user id, site
and warehouses; tokens are only ever written by ``accounts add --refresh-token`` and OAuth.
"""

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from config.commands import _up_accounts as up_accounts
from config.connecting import connector_for
from config.settings import Settings
from connector_core.domain.errors import InvalidInput

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # the access token of a bare refresh token: expired


REFRESH_TOKEN_VARIABLE = "ML_REFRESH_TOKEN"


def _refresh_token(args: argparse.Namespace) -> str | None:
    """The refresh token to store, if any: from stdin (``--refresh-token-stdin``), from
    ``$ML_REFRESH_TOKEN``, or from ``--refresh-token`` (which ``ps`` and the shell history
    show: a warning says so)."""
    given = [name for name, on in (("--refresh-token", args.refresh_token is not None),
                                   ("--refresh-token-stdin", args.refresh_token_stdin))
             if on]
    if len(given) > 1:
        raise InvalidInput("give the refresh token one way: --refresh-token-stdin, "
                           f"${REFRESH_TOKEN_VARIABLE} or --refresh-token")
    if args.refresh_token_stdin:
        token, source = sys.stdin.readline(), "stdin"
    elif args.refresh_token is not None:
        token, source = args.refresh_token, "--refresh-token"
        print("meli-connector accounts add: note: a token given on the command line shows in "
              "`ps` and the shell history; prefer --refresh-token-stdin or "
              f"${REFRESH_TOKEN_VARIABLE}", file=sys.stderr)
    elif os.environ.get(REFRESH_TOKEN_VARIABLE) is not None:
        token, source = os.environ[REFRESH_TOKEN_VARIABLE], f"${REFRESH_TOKEN_VARIABLE}"
    else:
        return None
    token = token.strip()
    if not token:
        raise InvalidInput(f"the refresh token from {source} is empty")
    if not all("!" <= c <= "~" for c in token):
        raise InvalidInput(f"the refresh token from {source} has spaces or characters a "
                           f"token cannot have")
    return token


def _add(args: argparse.Namespace) -> int:
    from connector_core.domain.accounts import Account, TokenSet

    settings = Settings.load(config_path=args.config)
    try:
        account = Account(name=args.name, user_id=args.user_id, site_id=args.site.upper(),
                          warehouses=frozenset(args.warehouse) if args.warehouse else None)
    except ValueError as exc:  # attrs' validators put the message first in args
        raise InvalidInput(f"account {args.name!r}: {exc.args[0] if exc.args else exc}") \
            from exc
    token = _refresh_token(args)
    if token is not None:
        settings.require_secret_key()
    with connector_for(settings) as connector:
        with connector.uow as uow:
            clash = uow.accounts.by_user_id(account.user_id)
            if clash is not None and clash.name != account.name:
                raise InvalidInput(f"user id {account.user_id} already belongs to account "
                                   f"{clash.name!r}")
            existing = uow.accounts.get(account.name)
            if existing is not None and not args.warehouse:
                # adding a token must not forget the warehouses connector.toml gave it
                account = Account(name=account.name, user_id=account.user_id,
                                  site_id=account.site_id, warehouses=existing.warehouses,
                                  stores=existing.stores)
            uow.accounts.upsert(account)
            uow.commit()
        if token is not None:
            connector.tokens.save(account.name, TokenSet(
                access_token="", refresh_token=token, expires_at=NEVER,
                user_id=account.user_id))
    print(f"account {account.name} (user {account.user_id}, {account.site_id}) saved"
          + ("; refresh token stored encrypted" if token is not None else ""))
    return 0


def _list(args: argparse.Namespace) -> int:
    from adapters.sql.tokens import account_statuses

    settings = Settings.load(config_path=args.config)
    if args.refresh:
        up_accounts.refresh_models()
    with connector_for(settings) as connector:
        statuses = account_statuses(connector.session_factory)
        seller_models = up_accounts.models(connector)
    rows: list[dict[str, Any]] = [{
        "name": s.account.name, "user_id": s.account.user_id, "site_id": s.account.site_id,
        "warehouses": None if s.account.warehouses is None else sorted(s.account.warehouses),
        "nickname": s.nickname,
        "connected": s.connected, "needs_reconnect": s.needs_reconnect,
        "expires_at": s.expires_at.isoformat() if s.expires_at else None,
        "reason": s.reason,
        "stores": {st.warehouse: st.store_id for st in s.account.stores} or None,
        **up_accounts.model_fields(seller_models.get(s.account.name)),
    } for s in statuses]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    if not rows:
        print("no accounts (add one with `meli-connector accounts add` or [accounts.NAME] in "
              "connector.toml + `meli-connector mappings apply`)")
        return 0
    for r in rows:
        if r["needs_reconnect"]:
            state = (f"needs reconnecting ({r['reason']}): run `meli-connector accounts "
                     f"connect {r['name']}`")
        elif r["connected"]:
            state = f"connected as {r['nickname']}" if r["nickname"] else "connected"
        else:
            state = f"not connected: run `meli-connector accounts connect {r['name']}`"
        warehouses = ",".join(r["warehouses"]) if r["warehouses"] else "all warehouses"
        print(f"{r['name']}\tuser {r['user_id']}\t{r['site_id']}\t{warehouses}\t"
              f"{r['model']}\t{state}")
    return 0


def _connect(args: argparse.Namespace) -> int:
    """Print the authorization link, or complete the connection with a pasted code."""
    from config.connecting import connector_with_tokens, migrated_connector

    connector = connector_with_tokens() if args.code else migrated_connector()
    if args.code:
        print(connector.accounts.connect(args.name, args.code))
        return 0
    url = connector.accounts.authorization_url(args.name)
    print(url)
    print(f"Open the link as the seller of account {args.name!r} and authorise the app. "
          f"MercadoLibre then sends the browser to {connector.settings.ml_redirect_uri}: "
          f"with `meli-connector serve` behind that address the connection completes "
          f"there; otherwise copy the `code` parameter from the address bar and run\n"
          f"  meli-connector accounts connect {args.name} --code CODE", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("accounts", help="seller accounts")
    acc = parser.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    add = acc.add_parser("add", help="register (or update) an account")
    add.add_argument("name")
    add.add_argument("--user-id", type=int, required=True, help="the seller's ML user id")
    add.add_argument("--site", required=True, help="ML site id, e.g. MLA")
    add.add_argument("--refresh-token", help="a refresh token from the OAuth flow (stored "
                                             "encrypted with CONNECTOR_SECRET_KEY); visible "
                                             "in `ps`: prefer --refresh-token-stdin or "
                                             f"${REFRESH_TOKEN_VARIABLE}")
    add.add_argument("--refresh-token-stdin", action="store_true",
                     help="read the refresh token from the first line of stdin")
    add.add_argument("--warehouse", action="append", help="an ERP warehouse this account "
                                                          "sells from (repeat; default: all)")
    add.add_argument("--config", help="connector.toml for settings")
    add.set_defaults(handler=_add)
    lst = acc.add_parser("list", help="list accounts (never tokens)")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.add_argument("--refresh", action="store_true",
                     help="read each seller's model (User Products? multi-origin?) and the "
                          "User Product of every mapped item again from ML first")
    lst.add_argument("--config", help="connector.toml for settings")
    lst.set_defaults(handler=_list)
    up_accounts.register_stores(acc)
    con = acc.add_parser("connect", help="connect an account to ML through OAuth")
    con.add_argument("name")
    con.add_argument("--code", help="the code ML put in the redirect address (paste mode)")
    con.set_defaults(handler=_connect)
