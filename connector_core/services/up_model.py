"""What the connector knows of each account's item model, and how a push finds its way.

Per account: is the seller on User Products, with multi-origin stock? (``GET /users/{id}``
tags, cached for ``MODEL_MAX_AGE``, refreshed by ``accounts list --refresh``.) Per item: its
``user_product_id``, and whether it is closed (a UPtin migration closes the old item): both
recorded whenever the connector reads the item. Pushes go per UP for the items of a known
UP (:func:`pushes_for_items`), never to an item known to be closed.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from attrs import frozen

from connector_core.domain.accounts import Account
from connector_core.domain.commands import PushItem, PushUserProduct
from connector_core.domain.items import MarketItem
from connector_core.domain.user_products import MIGRATION_TAG, SellerModel
from connector_core.ports.clock import Clock
from connector_core.ports.marketplace import MarketplaceGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.ports.user_products import KnownItem, UserProductsGateway

MODEL_MAX_AGE = timedelta(hours=24)
Push = PushItem | PushUserProduct


def known_item(item: MarketItem) -> KnownItem:
    return KnownItem(item_id=item.id, user_product_id=item.user_product_id,
                     sku=item.seller_sku, closed=item.closed,
                     migrated_in=MIGRATION_TAG in item.tags)


def record_items(account: Account, items: Iterable[MarketItem], *, uow: UnitOfWork,
                 clock: Clock) -> None:
    """Remember what ML just said of these items (their UP, closed or not)."""
    known = [known_item(i) for i in items]
    if known:
        with uow:
            uow.user_products.save_items(account.name, known, clock.now())
            uow.commit()


def seller_model(account: Account, *, uow: UnitOfWork, ups: UserProductsGateway,
                 clock: Clock, refresh: bool = False) -> SellerModel:
    """The cached model, read again from ML when asked, missing or older than a day."""
    with uow:
        model = uow.user_products.seller_model(account.name)
    if model is not None and not refresh and clock.now() - model.checked_at < MODEL_MAX_AGE:
        return model
    model = SellerModel.from_tags(ups.seller_tags(account), clock.now())
    with uow:
        uow.user_products.save_seller_model(account.name, model)
        uow.commit()
    return model


@frozen
class RefreshResult:
    model: SellerModel
    items: int
    user_products: int
    closed: tuple[str, ...]


def refresh_user_products(account: Account, *, uow: UnitOfWork,
                          marketplace: MarketplaceGateway, ups: UserProductsGateway,
                          clock: Clock, family_id: str | None = None) -> RefreshResult:
    """Read the seller model and every mapped item again (multiget), and queue a push for
    each UP whose items changed hands, so nothing waits for the next ERP change. With
    ``family_id`` (a ``user-products-families`` notification) the items of the family's UPs
    are read too: that is how the items a migration made get recorded."""
    model = seller_model(account, uow=uow, ups=ups, clock=clock, refresh=True)
    with uow:
        mapped = [item_id for _, item_id in uow.mappings.items(account.name)]
    item_ids = mapped
    if family_id is not None:
        family = ups.family_user_products(account, family_id)
        item_ids = sorted({*item_ids, *ups.items_of_user_products(account, family)})
    with uow:
        before = uow.user_products.known_items(account.name, item_ids)
    answers = marketplace.get_items(account, item_ids)
    items = [a for a in answers.values() if isinstance(a, MarketItem)]
    record_items(account, items, uow=uow, clock=clock)
    changed = [i.id for i in items if i.id in mapped and (
        before.get(i.id) is None or before[i.id].user_product_id != i.user_product_id)]
    with uow:
        for push in pushes_for_items(uow, [(account.name, i) for i in changed]):
            uow.jobs.add(push)
        uow.commit()
    return RefreshResult(model=model, items=len(items),
                         user_products=len({i.user_product_id for i in items
                                            if i.user_product_id}),
                         closed=tuple(sorted(i.id for i in items if i.closed)))


def pushes_for_items(uow: UnitOfWork, items: Iterable[tuple[str, str]]) -> list[Push]:
    """One push per UP for the items of a known UP (on a UP seller), one per item for the
    rest, none for items known to be closed. Inside an open unit of work."""
    by_account: dict[str, list[str]] = defaultdict(list)
    for account, item_id in items:
        by_account[account].append(item_id)
    pushes: dict[str, Push] = {}
    for account, item_ids in sorted(by_account.items()):
        model = uow.user_products.seller_model(account)
        known = uow.user_products.known_items(account, item_ids)
        for item_id in sorted(set(item_ids)):
            k = known.get(item_id)
            push: Push = PushItem(account, item_id)
            if k is not None and k.closed:
                continue
            if (k is not None and k.user_product_id is not None and model is not None
                    and model.user_product_seller):
                push = PushUserProduct(account, k.user_product_id)
            pushes[push.dedup_key] = push
    return list(pushes.values())


@frozen
class Route:
    """Where a :class:`PushItem` goes: the item itself, its UP, or nowhere (closed)."""

    push: Push | None
    reason: str = ""


def route_item_push(cmd: PushItem, account: Account, *, uow: UnitOfWork,
                    marketplace: MarketplaceGateway, ups: UserProductsGateway,
                    clock: Clock) -> Route:
    """A push asked for one item: on a UP seller it becomes its UP's push (the item is read
    once to learn its UP); an item known to be closed is not pushed again."""
    with uow:
        known = uow.user_products.known_items(account.name, [cmd.item_id]).get(cmd.item_id)
        mapped = any(r.active for r in uow.mappings.rows_for_item(account.name, cmd.item_id))
    if not mapped:
        return Route(cmd)  # nothing to publish: the item push says so, without a call
    model = seller_model(account, uow=uow, ups=ups, clock=clock)
    if known is not None and known.closed:
        return Route(None, f"{cmd.item_id} is closed on ML (see `mappings verify`)")
    if not model.user_product_seller:
        return Route(cmd)
    if known is None or known.user_product_id is None:
        item = marketplace.get_item(account, cmd.item_id)
        record_items(account, [item], uow=uow, clock=clock)
        known = known_item(item)
        if known.closed:
            return Route(None, f"{cmd.item_id} is closed on ML (see `mappings verify`)")
    if known.user_product_id is None:
        return Route(cmd)
    return Route(PushUserProduct(account.name, known.user_product_id))


def replacement_items(account: Account, sku: str, *, uow: UnitOfWork,
                      ups: UserProductsGateway) -> list[str]:
    """The items that replace a closed item selling ``sku`` (``mappings verify``): those a
    migration made, as the connector recorded them, else the seller's open items that ML finds
    under that SKU."""
    with uow:
        recorded = uow.user_products.migrated_in(account.name, [sku]).get(sku, [])
    if recorded:
        return list(recorded)
    return list(ups.items_by_sku(account, sku))


def seller_models(uow: UnitOfWork) -> dict[str, SellerModel]:
    """Account name -> its cached seller model (absent: never read from ML)."""
    with uow:
        found = {a.name: uow.user_products.seller_model(a.name) for a in uow.accounts.list()}
    return {name: model for name, model in found.items() if model is not None}
