"""The User Products topics (ml_api.md §5): ``stock-location`` (a UP's stock changed on
ML's side: a sale, Full, a recount) and ``user-products-families`` (a family's UPs changed,
e.g. a migration made new items). Both are re-read, never trusted."""

import re

from connector_core.domain.accounts import Account
from connector_core.domain.commands import Command, PushUserProduct, RefreshUserProducts
from connector_core.domain.notifications import Notification
from connector_core.ports.unit_of_work import UnitOfWork

STOCK_LOCATION = "stock-location"
FAMILIES = "user-products-families"
UP_TOPICS = frozenset({STOCK_LOCATION, FAMILIES})
_STOCK = re.compile(r"^/user-products/([A-Z]{3}U[0-9]{1,20})/stock/?$")
_FAMILY = re.compile(r"^/sites/[A-Z]{3}/user-products-families/([0-9]{1,20})/?$")


def route_up_notification(notification: Notification, account: Account,
                          uow: UnitOfWork) -> tuple[Command | None, str]:
    """What a UP topic's notification leads to (inside an open unit of work): the UP's push
    (rule 1 compared with ML's stock, corrected when they differ), or a refresh of what the
    connector knows of the family's items; else why it is only recorded."""
    resource = notification.resource.split("?")[0]
    if notification.topic == STOCK_LOCATION:
        match = _STOCK.fullmatch(resource)
        if match is None:
            return None, f"unexpected stock-location resource {notification.resource!r}"
        up_id = match.group(1)
        if not uow.user_products.items_of(account.name, up_id):
            return None, f"user product {up_id} sells no mapped item"
        return PushUserProduct(account.name, up_id), ""
    match = _FAMILY.fullmatch(resource)
    if match is None:
        return None, f"unexpected user-products-families resource {notification.resource!r}"
    return RefreshUserProducts(account.name, family_id=match.group(1)), ""
