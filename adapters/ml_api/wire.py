"""Mirrors of the ML JSON the adapter reads: only the fields it uses, everything else ignored.

Field names are ML's own. Required fields have no default: a payload without them fails to
parse with an error naming the field (see :mod:`adapters.ml_api.converter`).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import field, frozen


@frozen
class MlAttribute:
    id: str | None = None
    value_name: str | None = None
    value_id: str | None = None


@frozen
class MlVariation:
    id: int
    available_quantity: int
    price: Decimal | None = None
    attributes: list[MlAttribute] = field(factory=list)
    seller_custom_field: str | None = None


@frozen
class MlShipping:
    logistic_type: str | None = None


@frozen
class MlItem:
    id: str
    site_id: str
    price: Decimal
    currency_id: str
    available_quantity: int
    status: str
    seller_id: int | None = None
    title: str = ""
    sub_status: list[str] = field(factory=list)
    attributes: list[MlAttribute] = field(factory=list)
    variations: list[MlVariation] = field(factory=list)
    seller_custom_field: str | None = None
    last_updated: str | None = None
    user_product_id: str | None = None
    tags: list[str] = field(factory=list)
    shipping: MlShipping | None = None


@frozen
class MlMultigetEntry:
    code: int
    body: dict[str, Any] | None = None


@frozen
class MlPaging:
    total: int = 0
    offset: int = 0
    limit: int = 0


@frozen
class MlItemSearch:
    results: list[str]
    paging: MlPaging = field(factory=MlPaging)
    scroll_id: str | None = None


@frozen
class MlOrderItemRef:
    id: str
    variation_id: int | None = None
    seller_sku: str | None = None
    seller_custom_field: str | None = None


@frozen
class MlOrderItemStock:
    store_id: str | None = None
    node_id: str | None = None


@frozen
class MlOrderItem:
    item: MlOrderItemRef
    quantity: int
    unit_price: Decimal
    currency_id: str = ""
    stock: MlOrderItemStock | None = None


@frozen
class MlUserRef:
    id: int | None = None
    nickname: str | None = None


@frozen
class MlOrder:
    id: int
    status: str
    order_items: list[MlOrderItem]
    date_created: datetime | None = None
    date_closed: datetime | None = None
    last_updated: datetime | None = None
    date_last_updated: datetime | None = None
    pack_id: int | None = None
    total_amount: Decimal | None = None
    currency_id: str = ""
    buyer: MlUserRef | None = None
    shipping: MlUserRef | None = None  # only its id


@frozen
class MlOrderSearch:
    results: list[dict[str, Any]]
    paging: MlPaging = field(factory=MlPaging)


@frozen
class MlNotification:
    topic: str
    resource: str
    user_id: int | None = None
    application_id: int | None = None
    attempts: int | None = None
    sent: datetime | None = None
    received: datetime | None = None
    recieved: datetime | None = None  # ML's spelling on some topics
    ml_id: str | None = None  # "_id" on the wire
    id: str | None = None  # the subtopic model's name for it


@frozen
class MlMissedFeeds:
    messages: list[MlNotification] = field(factory=list)


@frozen
class MlToken:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    user_id: int | None = None
    scope: str = ""
    token_type: str = "bearer"


@frozen
class MlUser:
    id: int
    nickname: str = ""
    site_id: str | None = None
