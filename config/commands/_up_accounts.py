"""The User Products side of ``meli-connector accounts``: the seller model in ``accounts
list`` (``--refresh`` reads it again from ML, with the UP of every mapped item), and
``accounts stores ACCOUNT`` (the seller's ML stores, for ``[accounts.NAME.stores]``)."""

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from config.bootstrap import Connector
from connector_core.domain.accounts import Account
from connector_core.domain.errors import InvalidInput
from connector_core.domain.user_products import SellerModel
from connector_core.ports.user_products import UserProductsGateway
from connector_core.services.up_model import replacement_items, seller_models


def models(connector: Connector) -> dict[str, SellerModel]:
    """Account name -> its cached :class:`SellerModel` (absent: never read from ML)."""
    return seller_models(connector.uow)


def model_fields(model: SellerModel | None) -> dict[str, Any]:
    if model is None:
        return {"model": "unknown", "user_product_seller": None, "multi_origin": None,
                "model_checked_at": None}
    return {"model": model.label, "user_product_seller": model.user_product_seller,
            "multi_origin": model.multi_origin,
            "model_checked_at": model.checked_at.isoformat()}


def refresh_models() -> None:
    """Read every account's model and mapped items again from ML (``--refresh``); an
    account ML cannot answer for is named on stderr and keeps what was known."""
    from config.connecting import connector_with_tokens
    from connector_core.domain.errors import MarketplaceError
    from connector_core.services.up_model import refresh_user_products

    connector = connector_with_tokens()
    ups = _ups(connector)
    with connector.uow as uow:
        accounts = uow.accounts.list()
    for account in accounts:
        try:
            found = refresh_user_products(account, uow=connector.uow,
                                          marketplace=connector.gateway, ups=ups,
                                          clock=connector.clock)
        except MarketplaceError as exc:
            print(f"meli-connector accounts list: {account.name}: not refreshed: {exc}",
                  file=sys.stderr)
            continue
        print(f"{account.name}: {found.model.label}; {found.items} mapped item(s) on "
              f"{found.user_products} user product(s), {len(found.closed)} closed",
              file=sys.stderr)
    connector.jobs.dispatch()


def _stores(args: argparse.Namespace) -> int:
    from config.connecting import connector_with_tokens

    connector = connector_with_tokens()
    with connector.uow as uow:
        account = uow.accounts.get(args.name)
    if account is None:
        raise InvalidInput(f"unknown account {args.name!r}")
    mapped = {s.store_id: s.warehouse for s in account.stores}
    rows = [{"store_id": s.id, "network_node_id": s.network_node_id,
             "description": s.description, "stock_location": s.stock_location,
             "warehouse": mapped.get(s.id)}
            for s in _ups(connector).stores(account)]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    if not rows:
        print(f"{args.name}: ML lists no stock-location store for this seller")
    for r in rows:
        where = (f"warehouse {r['warehouse']}" if r["warehouse"]
                 else "not mapped to a warehouse")
        print(f"{r['store_id']}\t{r['network_node_id']}\t{r['description']}\t{where}")
    unknown = sorted(set(mapped) - {r["store_id"] for r in rows})
    for store_id in unknown:
        print(f"meli-connector accounts stores: store {store_id} of warehouse "
              f"{mapped[store_id]} is not one of the seller's stock locations on ML",
              file=sys.stderr)
    return 1 if unknown else 0


def _ups(connector: Connector) -> UserProductsGateway:
    ups = connector.user_products
    if ups is None:
        raise InvalidInput("the ML adapter in use has no User Products endpoints")
    return ups


def register_stores(acc: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    stores = acc.add_parser("stores", help="the seller's ML stores (multi-origin stock)")
    stores.add_argument("name")
    stores.add_argument("--json", action="store_true", help="print JSON")
    stores.set_defaults(handler=_stores)


def replacements_finder(connector: Connector) -> Callable[[Account, str], list[str]]:
    """``replacements(account, sku)`` for ``mappings verify`` (see
    :func:`~connector_core.services.up_model.replacement_items`)."""
    def replacements(account: Account, sku: str) -> list[str]:
        return replacement_items(account, sku, uow=connector.uow, ups=_ups(connector))
    return replacements
