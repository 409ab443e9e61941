"""Every fixture in tests/fixtures/ml parses into domain objects, or fails naming the field."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.ml_api.converter import (
    MlPayloadError,
    parse_item,
    parse_notification,
    parse_order,
    parse_token,
    structure,
)
from adapters.ml_api.errors import error_from_response
from adapters.ml_api.wire import MlItemSearch, MlMultigetEntry, MlOrderSearch, MlVariation
from connector_core.domain.errors import (
    MarketplaceNotFound,
    MarketplaceRejected,
    MarketplaceUnavailable,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ml"
MINUS_4 = timezone(timedelta(hours=-4))


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def check_item_custom_variations(data: Any) -> None:
    item = parse_item(data)
    assert (item.id, item.site_id, item.seller_id, item.status) == (
        "MLB803848501", "MLB", 231401236, "closed")
    assert item.closed and item.price == Decimal("369.55")
    assert [(v.id, v.price, v.available_quantity) for v in item.variations] == [
        (13065333854, Decimal("139"), 168), (13064397485, Decimal("369.55"), 13)]


def check_item_public(data: Any) -> None:
    item = parse_item(data)
    assert item.id == "MLB1442042006" and item.currency_id == "BRL"
    assert len(item.variations) == 4
    assert all(v.seller_sku is None for v in item.variations)  # public view: no SKU
    assert item.available_quantity == sum(v.available_quantity for v in item.variations)


def check_variations_with_sku(data: Any) -> None:
    variations = structure(data["variations"], list[MlVariation], "variations")
    item = parse_item({"id": "MLC1", "site_id": "MLC", "price": 65.99, "currency_id": "CLP",
                       "available_quantity": 80, "status": "active",
                       "variations": data["variations"]})
    assert len(variations) == 2
    assert [(v.id, v.seller_sku, v.price) for v in item.variations] == [
        (187898795824, "SC-1520", Decimal("65.99")),
        (187898795826, "70079889", Decimal("65.99"))]


def check_multiget(data: Any) -> None:
    entries = structure(data, list[MlMultigetEntry], "multiget")
    assert [e.code for e in entries] == [200, 404]
    with pytest.raises(MlPayloadError, match=r"required field missing @ \$\.status"):
        parse_item(entries[0].body)  # the doc example omits status: named, not guessed
    assert entries[1].body is not None and entries[1].body["error"] == "resource not found"


def check_multiget_projection(data: Any) -> None:
    entries = structure(data, list[MlMultigetEntry], "multiget")
    with pytest.raises(MlPayloadError) as failure:
        parse_item(entries[0].body)
    for field in ("site_id", "currency_id", "available_quantity", "status"):
        assert f"$.{field}" in str(failure.value)


def check_search(data: Any) -> None:
    page = structure(data, MlItemSearch, "items search")
    assert page.results == ["CBT2518294370", "CBT2777715207"]
    assert (page.paging.total, page.paging.offset, page.scroll_id) == (2, 0, None)


def check_scan(data: Any) -> None:
    page = structure(data, MlItemSearch, "items search")
    assert page.scroll_id and page.scroll_id.startswith("eyJ") and len(page.results) == 2


def check_scan_end(data: Any) -> None:
    page = structure(data, MlItemSearch, "items search")
    assert page.scroll_id == "" and page.results == []


def check_order_gpupo(data: Any) -> None:
    order = parse_order(data, "main")
    assert (order.id, order.status, order.account, order.buyer_id) == (
        1068825849, "paid", "main", 123456789)
    # no last_updated in this 2013 shape: the closing date stands in
    assert order.last_updated == datetime(2013, 5, 27, 10, 4, 7, tzinfo=MINUS_4)
    assert [(line.item_id, line.quantity, line.unit_price) for line in order.lines] == [
        ("MLB12345678", 1, Decimal("499"))]


def check_order_gs(data: Any) -> None:
    order = parse_order(data, "main")
    assert order.id == 2000003508419013  # 16 digits: int64
    assert order.last_updated == datetime(2020, 1, 31, 18, 3, 36, tzinfo=MINUS_4)
    assert order.lines[0].unit_price == Decimal("15.1") and order.lines[0].variation_id is None


def check_order_variation(data: Any) -> None:
    order = parse_order(data, "main")
    line = order.lines[0]
    assert (line.item_id, line.variation_id, line.quantity) == ("MLB2608564035", 174390848694, 1)
    assert order.total_amount == Decimal("50") and order.buyer_id is None


def check_orders_search(data: Any) -> None:
    page = structure(data, MlOrderSearch, "orders search")
    assert (page.paging.total, page.paging.limit) == (1, 50)
    orders = [parse_order(raw, "main") for raw in page.results]
    assert orders[0].id == 1068825849
    assert orders[0].last_updated == datetime(2016, 2, 25, 15, 55, 44, 973000, tzinfo=UTC)


def check_notification_orders(data: Any) -> None:
    n = parse_notification(data)
    assert (n.topic, n.resource, n.user_id, n.ml_id) == (
        "orders_v2", "/orders/2195160686", 468424240, None)
    assert n.resource_id() == "2195160686"
    assert n.sent == datetime(2019, 10, 30, 16, 19, 20, 129000, tzinfo=UTC)


def check_notification_items(data: Any) -> None:
    n = parse_notification(data)
    assert (n.topic, n.resource_id(), n.ml_id) == (
        "items", "MLA686791111", "f9f08571-1f65-4c46-9e0a-c0f43faas1557e")


def check_notification_stock(data: Any) -> None:
    n = parse_notification(data)
    assert (n.topic, n.attempts, n.user_id) == ("stock-location", 4, 123456789)


def check_missed_feeds(data: Any) -> None:
    found = [parse_notification(m) for m in data["messages"]]
    assert [(n.topic, n.user_id) for n in found] == [
        ("messages", 465432224), ("items", 468424240)]  # the string user_id became an int
    assert found[1].resource_id() == "MLA820048955"


def check_token(data: Any) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    tokens = parse_token(data, now)
    assert tokens.expires_at == now + timedelta(seconds=data["expires_in"])
    assert tokens.user_id == data["user_id"] and tokens.refresh_token.startswith("TG-")
    assert tokens.access_token not in repr(tokens)


def error_check(expected: type, status: int, code: str, causes: list[str]) -> Any:
    def check(data: Any) -> None:
        response = httpx.Response(data["status"], json=data)
        error = error_from_response(response, "GET /x")
        assert type(error) is expected
        if isinstance(error, MarketplaceRejected):
            assert (error.status, error.error, list(error.causes)) == (status, code, causes)
    return check


NOT_READ = {  # shapes the adapter never reads (kept for other issues and as documentation)
    "item_prices_embedded_MLB2141104659.json", "pack_gs_doc.json", "question_gs_doc.json",
    "questions_search_gs_doc.json", "shipment_gs_doc.json",
    "user_product_stock_seller_warehouse_ml_doc.json",
    "user_product_stock_selling_address_ml_doc.json",
}

CHECKS = {
    "item_with_custom_variations_MLB803848501_gpupo.json": check_item_custom_variations,
    "item_with_variations_public_MLB1442042006.json": check_item_public,
    "item_variations_with_seller_sku_gs_doc.json": check_variations_with_sku,
    "multiget_items_gs_doc.json": check_multiget,
    "multiget_items_attributes_filter_gs_doc.json": check_multiget_projection,
    "users_items_search_gs_doc.json": check_search,
    "users_items_search_scan_gs_doc.json": check_scan,
    "users_items_search_scan_end_gs_doc.json": check_scan_end,
    "order_gpupo_item.json": check_order_gpupo,
    "order_gs_doc_2000003508419013.json": check_order_gs,
    "order_with_variation_ml_doc_2000003508897196_trimmed.json": check_order_variation,
    "orders_search_gpupo_list.json": check_orders_search,
    "notification_orders_v2_ml_doc.json": check_notification_orders,
    "notification_items_ml_doc.json": check_notification_items,
    "notification_stock_locations_ml_doc.json": check_notification_stock,
    "missed_feeds_ml_doc_repaired.json": check_missed_feeds,
    "oauth_token_response_gs_doc.json": check_token,
    "oauth_refresh_token_response_gs_doc.json": check_token,
    "error_bad_request_with_cause_gs_doc.json": error_check(
        MarketplaceRejected, 400, "bad_request",
        ['/reason: value must be one of "FRAGILE", "ANOTHER_WAREHOUSE", "IRREGULAR_SHAPE", '
         '"DIMENSIONS_EXCEEDED", "OTHER_MOTIVE"']),
    "error_invalid_grant_ml_doc.json": error_check(MarketplaceRejected, 400, "invalid_grant",
                                                   []),
    "error_order_not_found_gpupo.json": error_check(MarketplaceNotFound, 404,
                                                    "order_not_found", []),
    "error_too_many_requests_ml_doc.json": error_check(MarketplaceUnavailable, 429, "", []),
    "error_validation_missing_required_gs_doc.json": error_check(
        MarketplaceRejected, 400, "validation_error",
        ["item.attributes.missing_required: One or more required attributes are not present "
         "in the item. Check the attribute is present in the attributes list or in the "
         "variations attributes_combination or attributes."]),
    "error_validation_official_store_ml_doc.json": error_check(
        MarketplaceRejected, 400, "validation_error",
        ["item.official_store_id.invalid: Users type brand have to provide a official store "
         "id"]),
}


def test_every_fixture_is_classified() -> None:
    present = {p.name for p in FIXTURES.glob("*.json")}
    assert present == set(CHECKS) | NOT_READ


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_fixture_parses(name: str) -> None:
    CHECKS[name](load(name))


@pytest.mark.parametrize("name", sorted(NOT_READ))
def test_unread_fixtures_are_valid_json(name: str) -> None:
    assert load(name)


class TestTolerance:
    def test_string_numbers_and_unknown_keys(self) -> None:
        item = parse_item({"id": "MLA1", "site_id": "MLA", "price": "10.50", "currency_id": "ARS",
                           "available_quantity": "3", "status": "active", "new_field": [1]})
        assert (item.price, item.available_quantity) == (Decimal("10.50"), 3)

    def test_price_is_exact_decimal(self) -> None:
        item = parse_item({"id": "MLA1", "site_id": "MLA", "price": 0.1, "currency_id": "ARS",
                           "available_quantity": 1, "status": "active"})
        assert item.price == Decimal("0.1")

    def test_seller_custom_field_is_the_fallback_sku(self) -> None:
        base = {"id": "MLA1", "site_id": "MLA", "price": 1, "currency_id": "ARS",
                "available_quantity": 1, "status": "active", "seller_custom_field": "CUSTOM"}
        assert parse_item(base).seller_sku == "CUSTOM"
        with_attr = {**base, "attributes": [{"id": "SELLER_SKU", "value_name": "ATTR"}]}
        assert parse_item(with_attr).seller_sku == "ATTR"

    def test_bad_types_name_the_field(self) -> None:
        with pytest.raises(MlPayloadError, match=r"\$\.variations\[0\]\.id"):
            parse_item({"id": "MLA1", "site_id": "MLA", "price": 1, "currency_id": "ARS",
                        "available_quantity": 1, "status": "active",
                        "variations": [{"id": "abc", "available_quantity": 1}]})
        with pytest.raises(MlPayloadError, match=r"\$\.order_items\[0\]\.quantity"):
            parse_order({"id": 1, "status": "paid", "date_created": "2024-01-01T00:00:00Z",
                         "order_items": [{"item": {"id": "MLA1"}, "quantity": True,
                                          "unit_price": 1}]}, "main")

    def test_order_without_any_date_names_last_updated(self) -> None:
        with pytest.raises(MlPayloadError, match="last_updated"):
            parse_order({"id": 1, "status": "paid", "order_items": []}, "main")

    def test_recieved_spelling_and_string_user_id(self) -> None:
        n = parse_notification({"topic": "public_offers", "resource": "/x/1", "user_id": "42",
                                "recieved": "2024-05-01T10:00:00.000Z"})
        assert n.user_id == 42 and n.received == datetime(2024, 5, 1, 10, tzinfo=UTC)


class TestUserProducts:
    def test_an_order_line_names_the_node_its_units_leave_from(self) -> None:
        line = {"item": {"id": "MLA1"}, "quantity": 1, "unit_price": 1,
                "stock": {"store_id": "70001", "node_id": "ARP70001"}}
        order = parse_order({"id": 1, "status": "paid", "date_created": "2024-01-01T00:00:00Z",
                             "order_items": [line, {**line, "stock": {"node_id": "../x"}},
                                             {**line, "stock": None}]}, "main")
        assert [x.origin_node for x in order.lines] == ["ARP70001", None, None]

    def test_the_documented_up_stock_and_its_version(self) -> None:
        from adapters.ml_api.user_products import _stock

        stock = _stock(load("user_product_stock_seller_warehouse_ml_doc.json"), "12", "GET")
        assert stock.version == 12 and stock.user_product_id == "MLAU123456789"
        assert stock.store_quantity("9876543") == 15
        with pytest.raises(MarketplaceRejected, match="x-version"):
            _stock(load("user_product_stock_seller_warehouse_ml_doc.json"), None, "GET")
