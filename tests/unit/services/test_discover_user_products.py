"""`mappings discover` on a User Products seller: the items of one UP are one product
whatever their titles; one SKU on two UPs is a conflict."""

from decimal import Decimal

from connector_core.domain.accounts import Account
from connector_core.domain.items import MarketItem
from connector_core.services.catalog_discovery import discover
from tests.fakes import FakeMarketplace

ACCOUNT = Account("up", 7, "MLA")


def item(item_id: str, sku: str, title: str, up: str | None) -> MarketItem:
    return MarketItem(id=item_id, site_id="MLA", seller_id=7, status="active",
                      price=Decimal(100), currency_id="ARS", available_quantity=1,
                      seller_sku=sku, title=title, user_product_id=up)


def test_items_of_one_up_are_one_product_whatever_their_titles():
    ml = FakeMarketplace([item("MLA1", "MATE", "Mate de calabaza", "MLAU1"),
                          item("MLA2", "MATE", "Mate calabaza premium envío gratis", "MLAU1"),
                          item("MLA3", "TERMO", "Termo negro", "MLAU2"),
                          item("MLA4", "TERMO", "Termo negro", "MLAU3")])
    report = discover(ml, ACCOUNT, [])
    assert sorted((r.sku, r.listing.item_id) for r in report.proposed) == [
        ("MATE", "MLA1"), ("MATE", "MLA2")]
    assert [c.sku for c in report.conflicts] == ["TERMO"]
