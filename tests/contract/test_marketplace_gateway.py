"""One contract for the MarketplaceGateway port, run against the fake and the real adapter.

The real adapter talks to the bundled sandbox over real sockets, so the fake's behaviour is
checked against an emulation of ML's rules rather than against our own assumptions.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.ml_api import HttpxMercadoLibreGateway
from adapters.redis_locks import RedisLocks, ThreadLocks
from connector_core.domain.errors import MarketplaceNotFound, MarketplaceRejected
from connector_core.domain.items import ItemUpdate, MarketItem, MarketVariation, VariationUpdate
from connector_core.domain.orders import Order, OrderLine
from connector_core.ports.locks import Locks
from connector_core.ports.marketplace import MarketplaceGateway
from ml_sandbox import start_sandbox
from tests.fakes import FakeMarketplace, FakeTokenStore
from tests.ml_support import (
    ACCOUNT,
    SELLER_ID,
    build_gateway,
    create_sandbox_order,
    item_spec,
    seed_tokens,
)

NOW = datetime.now(UTC).replace(microsecond=0)


def plain(item_id: str, qty: int = 10, sku: str | None = "SKU-1",
          status: str = "active") -> MarketItem:
    return MarketItem(id=item_id, site_id="MLA", seller_id=SELLER_ID, status=status,
                      price=Decimal("1500"), currency_id="ARS", available_quantity=qty,
                      seller_sku=sku, title=f"item {item_id}")


def with_variations(item_id: str = "MLA900") -> MarketItem:
    variations = (MarketVariation(501, 4, Decimal("2000"), "VAR-A"),
                  MarketVariation(502, 6, Decimal("2000"), "VAR-B"),
                  MarketVariation(503, 0, Decimal("2000"), "VAR-C"))
    return MarketItem(id=item_id, site_id="MLA", seller_id=SELLER_ID, status="active",
                      price=Decimal("2000"), currency_id="ARS", available_quantity=10,
                      variations=variations, title="with variations")


def order(order_id: int, item_id: str, last_updated: datetime, *,
          variation_id: int | None = None, qty: int = 1) -> Order:
    return Order(id=order_id, account=ACCOUNT.name, status="paid", last_updated=last_updated,
                 lines=(OrderLine(item_id, variation_id, None, qty, Decimal("1500"), "ARS"),),
                 currency_id="ARS")


class World:
    """A marketplace to test plus a way to put items and orders in it."""

    gateway: MarketplaceGateway

    def add_items(self, *items: MarketItem) -> None:
        raise NotImplementedError

    def add_orders(self, *orders: Order) -> None:
        raise NotImplementedError


class FakeWorld(World):
    def __init__(self) -> None:
        self.fake = FakeMarketplace()
        self.gateway = self.fake

    def add_items(self, *items: MarketItem) -> None:
        for item in items:
            self.fake.items[item.id] = item

    def add_orders(self, *orders: Order) -> None:
        for o in orders:
            self.fake.orders[o.id] = o


class SandboxWorld(World):
    def __init__(self, sandbox: object) -> None:
        self.sandbox = sandbox

    def add_items(self, *items: MarketItem) -> None:
        self.sandbox.state.seed({"items": [item_spec(i) for i in items]})  # type: ignore[attr-defined]

    def add_orders(self, *orders: Order) -> None:
        for o in orders:
            create_sandbox_order(self.sandbox, o)


class MarketplaceGatewayContract:
    @pytest.fixture
    def world(self) -> Iterator[World]:
        raise NotImplementedError

    def test_get_item_reads_skus_and_variations(self, world: World) -> None:
        world.add_items(plain("MLA1", sku="MUG-1"), with_variations("MLA900"))
        item = world.gateway.get_item(ACCOUNT, "MLA1")
        assert (item.id, item.available_quantity, item.price, item.seller_sku) == (
            "MLA1", 10, Decimal("1500"), "MUG-1")
        varied = world.gateway.get_item(ACCOUNT, "MLA900")
        assert [(v.id, v.available_quantity, v.seller_sku) for v in varied.variations] == [
            (501, 4, "VAR-A"), (502, 6, "VAR-B"), (503, 0, "VAR-C")]

    def test_unknown_item_is_not_found(self, world: World) -> None:
        with pytest.raises(MarketplaceNotFound):
            world.gateway.get_item(ACCOUNT, "MLA404")

    def test_get_items_beyond_one_multiget_with_per_entry_errors(self, world: World) -> None:
        world.add_items(*[plain(f"MLA{n}", qty=n) for n in range(1, 26)])
        wanted = [f"MLA{n}" for n in range(1, 26)] + ["MLA777"]
        found = world.gateway.get_items(ACCOUNT, wanted)
        assert set(found) == set(wanted)
        assert isinstance(found["MLA777"], MarketplaceNotFound)
        for n in range(1, 26):
            entry = found[f"MLA{n}"]
            assert isinstance(entry, MarketItem) and entry.available_quantity == n

    def test_plain_quantity_and_price_round_trip(self, world: World) -> None:
        world.add_items(plain("MLA1"))
        after = world.gateway.update_item(ACCOUNT, ItemUpdate(
            item_id="MLA1", available_quantity=3, price=Decimal("1999.90")))
        assert (after.available_quantity, after.price, after.status) == (
            3, Decimal("1999.9"), "active")
        again = world.gateway.get_item(ACCOUNT, "MLA1")
        assert (again.available_quantity, again.price) == (3, Decimal("1999.9"))

    def test_quantity_zero_pauses_and_stock_reactivates(self, world: World) -> None:
        world.add_items(plain("MLA1"))
        assert world.gateway.update_item(
            ACCOUNT, ItemUpdate(item_id="MLA1", available_quantity=0)).status == "paused"
        assert world.gateway.update_item(
            ACCOUNT, ItemUpdate(item_id="MLA1", available_quantity=2)).status == "active"

    def test_pause_and_activate(self, world: World) -> None:
        world.add_items(plain("MLA1", qty=4))
        paused = world.gateway.update_item(ACCOUNT, ItemUpdate(item_id="MLA1", status="paused"))
        assert (paused.status, paused.available_quantity) == ("paused", 4)
        active = world.gateway.update_item(ACCOUNT, ItemUpdate(item_id="MLA1", status="active"))
        assert active.status == "active"

    def test_variation_update_keeps_every_variation(self, world: World) -> None:
        world.add_items(with_variations())
        item = world.gateway.get_item(ACCOUNT, "MLA900")
        update = ItemUpdate(item_id=item.id, variations=(
            VariationUpdate(501), VariationUpdate(502, available_quantity=9),
            VariationUpdate(503)))
        after = world.gateway.update_item(ACCOUNT, update)
        assert [(v.id, v.available_quantity) for v in after.variations] == [
            (501, 4), (502, 9), (503, 0)]
        assert after.available_quantity == 13

    def test_variation_price_goes_to_all(self, world: World) -> None:
        world.add_items(with_variations())
        world.gateway.get_item(ACCOUNT, "MLA900")
        after = world.gateway.update_item(ACCOUNT, ItemUpdate(item_id="MLA900", variations=tuple(
            VariationUpdate(v, price=Decimal("2500")) for v in (501, 502, 503))))
        assert {v.price for v in after.variations} == {Decimal("2500")}

    def test_variations_put_omitting_one_is_refused(self, world: World) -> None:
        world.add_items(with_variations())
        world.gateway.get_item(ACCOUNT, "MLA900")
        with pytest.raises((MarketplaceRejected, AssertionError)):
            world.gateway.update_item(ACCOUNT, ItemUpdate(item_id="MLA900", variations=(
                VariationUpdate(501, available_quantity=1), VariationUpdate(502))))
        assert [v.id for v in world.gateway.get_item(ACCOUNT, "MLA900").variations] == [
            501, 502, 503]

    def test_get_order(self, world: World) -> None:
        world.add_items(plain("MLA1"))
        world.add_orders(order(2000000000000101, "MLA1", NOW - timedelta(minutes=5), qty=2))
        got = world.gateway.get_order(ACCOUNT, 2000000000000101)
        assert (got.id, got.account, got.status, got.last_updated) == (
            2000000000000101, "main", "paid", NOW - timedelta(minutes=5))
        assert [(line.item_id, line.quantity) for line in got.lines] == [("MLA1", 2)]

    def test_unknown_order_is_not_found(self, world: World) -> None:
        with pytest.raises(MarketplaceNotFound):
            world.gateway.get_order(ACCOUNT, 2000000000999999)

    def test_search_orders_respects_the_window_despite_hour_truncation(
            self, world: World) -> None:
        world.add_items(plain("MLA1", qty=50))
        stamps = {2000000000000201: NOW - timedelta(hours=3),
                  2000000000000202: NOW - timedelta(minutes=90),
                  2000000000000203: NOW - timedelta(minutes=10)}
        world.add_orders(*[order(oid, "MLA1", at) for oid, at in stamps.items()])
        since = sorted(o.id for o in world.gateway.search_orders(
            ACCOUNT, NOW - timedelta(hours=2)))
        assert since == [2000000000000202, 2000000000000203]
        window = [o.id for o in world.gateway.search_orders(
            ACCOUNT, NOW - timedelta(hours=2), NOW - timedelta(minutes=30))]
        assert window == [2000000000000202]

    def test_search_orders_pages_past_fifty(self, world: World) -> None:
        world.add_items(plain("MLA1", qty=500))
        world.add_orders(*[order(2000000000001000 + n, "MLA1", NOW - timedelta(minutes=n))
                           for n in range(1, 121)])
        found = [o.id for o in world.gateway.search_orders(ACCOUNT, NOW - timedelta(hours=3))]
        assert sorted(found) == [2000000000001000 + n for n in range(1, 121)]

    def test_list_item_ids_returns_the_whole_catalog(self, world: World) -> None:
        world.add_items(*[plain(f"MLA{n}") for n in range(1, 131)])
        world.add_items(MarketItem(id="MLB1", site_id="MLB", seller_id=999, status="active",
                                   price=Decimal(1), currency_id="BRL", available_quantity=1))
        assert sorted(world.gateway.list_item_ids(ACCOUNT)) == sorted(
            f"MLA{n}" for n in range(1, 131))

    def test_list_item_ids_past_the_offset_limit(self, world: World) -> None:
        world.add_items(*[plain(f"MLA{n}") for n in range(1, 1251)])
        ids = list(world.gateway.list_item_ids(ACCOUNT))
        assert len(ids) == len(set(ids)) == 1250

    def test_missed_notifications_is_a_list(self, world: World) -> None:
        assert world.gateway.missed_notifications(ACCOUNT) == []


class TestFakeMarketplace(MarketplaceGatewayContract):
    @pytest.fixture
    def world(self) -> Iterator[World]:
        yield FakeWorld()


@pytest.mark.integration
class TestHttpxGatewayOnSandbox(MarketplaceGatewayContract):
    @pytest.fixture
    def world(self) -> Iterator[World]:
        with start_sandbox() as sandbox:
            issued = sandbox.state.seed({"sellers": [{"id": SELLER_ID, "site_id": "MLA"}],
                                         "tokens": [{"user_id": SELLER_ID}]})
            tokens = FakeTokenStore()
            seed_tokens(tokens, issued["tokens"][str(SELLER_ID)])
            gateway, client = build_gateway(sandbox.url, tokens, ThreadLocks())
            world = SandboxWorld(sandbox)
            world.gateway = gateway
            try:
                yield world
            finally:
                client.close()



def _conforms(gateway: HttpxMercadoLibreGateway, redis_locks: RedisLocks,
              thread_locks: ThreadLocks) -> None:
    """Static check (mypy): the adapters implement the core's ports."""
    port: MarketplaceGateway = gateway
    locks: list[Locks] = [redis_locks, thread_locks]
    del port, locks
