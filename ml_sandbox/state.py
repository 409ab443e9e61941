"""The sandbox's world: sellers, tokens, items, orders, notifications, and ML's rules on them.

Everything lives in memory behind one lock; :mod:`ml_sandbox.app` only translates HTTP. The
rules follow ``ml_api.md`` §8 (emulator checklist) and live in :mod:`ml_sandbox.oauth`
(rotating single-use refresh tokens, expiring access tokens), :mod:`ml_sandbox.catalog`
(seller-only fields hidden without ``include_attributes=all``, the variations deletion and
equal-price rules, quantity 0 pausing an item as ``out_of_stock``, closed items immutable, scan),
:mod:`ml_sandbox.user_products`, :mod:`ml_sandbox.up_stock` and :mod:`ml_sandbox.replication`
(UP stock per location with ``x-version``, stores, families, the delayed copy of a UP's stock
to its items), :mod:`ml_sandbox.migration` (UPtin), :mod:`ml_sandbox.orders`
(orders taking and cancellations restoring listing or UP stock), :mod:`ml_sandbox.shipping`
(shipments, labels, packs) and :mod:`ml_sandbox.questions` (questions and answers).
"""

import copy
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from ml_sandbox.common import int_arg, ml_time, parse_time, seller_record
from ml_sandbox.errors import forbidden
from ml_sandbox.migration import MigrationRules
from ml_sandbox.oauth import OAuthRules
from ml_sandbox.questions import QuestionRules
from ml_sandbox.replication import DEFAULT_REPLICATION_DELAY
from ml_sandbox.shipping import ShippingRules

DEFAULT_TOKEN_TTL = 21600

__all__ = ["DEFAULT_REPLICATION_DELAY", "DEFAULT_TOKEN_TTL", "SandboxState", "ml_time",
           "parse_time"]


class SandboxState(OAuthRules, QuestionRules, ShippingRules, MigrationRules):
    """All the sandbox knows; every public method takes the lock."""

    def __init__(self, *, client_id: str = "sandbox-app", client_secret: str = "sandbox-secret",
                 application_id: int = 5503910054141466, redirect_uri: str | None = None,
                 token_ttl: int = DEFAULT_TOKEN_TTL,
                 replication_delay: float = DEFAULT_REPLICATION_DELAY,
                 clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.application_id = application_id
        self.redirect_uri = redirect_uri
        self.token_ttl = token_ttl
        self.sellers: dict[int, dict[str, Any]] = {}
        self.access: dict[str, tuple[int, float]] = {}
        self.refresh_tokens: dict[int, str] = {}  # the only refresh token valid per user
        self.codes: dict[str, tuple[int, str | None]] = {}  # code -> (user, PKCE challenge)
        self.pkce = False  # the app has "use PKCE" ticked
        self.items: dict[str, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.next_order_id = 2000003508419013
        self.next_variation_id = 180000000001
        self.scrolls: dict[str, tuple[list[str], float]] = {}
        self.missed: list[dict[str, Any]] = []
        self.deleted_variations: list[dict[str, Any]] = []
        self.grants: list[dict[str, Any]] = []
        self.callback_url: str | None = None
        self.partial_orders = False
        self.notify_topics: set[str] = set()
        self.orders_search_max_limit = 50
        self.next_number = 5100000000  # generated item, user product, pack, question ids
        self.stores: dict[str, dict[str, Any]] = {}
        self.user_products: dict[str, dict[str, Any]] = {}
        self.families: dict[int, dict[str, Any]] = {}
        self.replication_delay = replication_delay
        self.pending_syncs: list[dict[str, Any]] = []
        self.timers: list[threading.Timer] = []
        self.order_stock: dict[int, list[dict[str, Any]]] = {}
        self.shipments: dict[int, dict[str, Any]] = {}
        self.packs: dict[int, dict[str, Any]] = {}
        self.questions: dict[int, dict[str, Any]] = {}
        self.notify_hook: Callable[[dict[str, Any], dict[str, Any]],
                                   list[dict[str, Any]]] | None = None

    @property
    def notify_items(self) -> bool:
        """An ``items`` notification for every item change (``notify_topics`` has items)."""
        return "items" in self.notify_topics

    @notify_items.setter
    def notify_items(self, value: bool) -> None:
        if value:
            self.notify_topics.add("items")
        else:
            self.notify_topics.discard("items")


    # --- seeding ------------------------------------------------------------------

    def seed(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add sellers (with their ``tags`` and ``stores``), items and tokens; returns the
        tokens issued per user id."""
        with self.lock:
            app = data.get("app") or {}
            self.client_id = str(app.get("client_id", self.client_id))
            self.client_secret = str(app.get("client_secret", self.client_secret))
            self.application_id = int(app.get("application_id", self.application_id))
            self.redirect_uri = app.get("redirect_uri", self.redirect_uri)
            self.pkce = bool(app.get("pkce", self.pkce))
            for seller in data.get("sellers", []):
                user_id = int(seller["id"])
                self.sellers[user_id] = seller_record(user_id, seller)
                for store in seller.get("stores", []):
                    self.add_store(user_id, store)
            for item in data.get("items", []):
                self.add_item(item)
            issued: dict[str, Any] = {}
            for token in data.get("tokens", []):
                issued[str(token["user_id"])] = self.issue_tokens(
                    int(token["user_id"]), expires_in=token.get("expires_in"),
                    access_token=token.get("access_token"),
                    refresh_token=token.get("refresh_token"))
            return {"tokens": issued}


    # --- notifications ------------------------------------------------------------

    def record_missed(self, payload: dict[str, Any], url: str, http_code: int | None,
                      body: str, req_time_ms: int) -> None:
        with self.lock:
            data = _json_text(payload)
            self.missed.append({
                **payload, "_id": secrets.token_hex(12),
                "request": {"url": url, "headers": {
                    "accept": "application/json", "content-type": "application/json",
                    "content-length": len(data)}, "data": data},
                "response": {"req_time": req_time_ms, "http_code": http_code, "body": body,
                             "headers": {}}})

    def missed_feeds(self, args: dict[str, str], caller: int) -> dict[str, Any]:
        """The caller's undelivered notifications: a seller's token never reads another's."""
        if str(args.get("app_id")) != str(self.application_id):
            raise forbidden("app_id does not match the caller's application")
        offset = int_arg(args, "offset", 0)
        limit = int_arg(args, "limit", 10)
        with self.lock:
            messages = [copy.deepcopy(m) for m in self.missed
                        if str(m.get("user_id")) == str(caller)
                        and (not args.get("topic") or m.get("topic") == args["topic"])]
        return {"messages": messages[offset:offset + limit]}




def _json_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))
