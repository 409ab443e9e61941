"""The User Products side of ``meli-connector accounts``: the seller model in ``accounts
list`` (``--refresh`` reads it again from ML, with the UP of every mapped item), and
``accounts stores ACCOUNT`` (the seller's ML stores, for ``[accounts.NAME.stores]``)."""

import argparse
import json
import sys
from typing import Any

from connector_core.domain.errors import InvalidInput


def models(connector: Any) -> dict[str, Any]:
    """Account name -> its cached :class:`SellerModel` (absent: never read from ML)."""
    with connector.uow as uow:
        found = {a.name: uow.user_products.seller_model(a.name) for a in uow.accounts.list()}
    return {name: model for name, model in found.items() if model is not None}


def model_fields(model: Any) -> dict[str, Any]:
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


def _ups(connector: Any) -> Any:
    ups = connector.user_products
    if ups is None:
        raise InvalidInput("the ML adapter in use has no User Products endpoints")
    return ups


def register_stores(acc: Any) -> None:
    stores = acc.add_parser("stores", help="the seller's ML stores (multi-origin stock)")
    stores.add_argument("name")
    stores.add_argument("--json", action="store_true", help="print JSON")
    stores.set_defaults(handler=_stores)


def replacements_finder(connector: Any) -> Any:
    """``replacements(account, sku)`` for ``mappings verify``: the items a migration made
    that sell ``sku`` (as the connector recorded them), else the seller's open items that
    ML finds under that SKU."""
    def replacements(account: Any, sku: str) -> list[str]:
        with connector.uow as uow:
            recorded = uow.user_products.migrated_in(account.name, [sku]).get(sku, [])
        if recorded:
            return list(recorded)
        return list(_ups(connector).items_by_sku(account, sku))
    return replacements
