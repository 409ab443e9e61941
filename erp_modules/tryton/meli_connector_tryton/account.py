"""``meli.account``: one record per ML account the connector knows, and the work that goes
out to the connector (stock, prices) or comes in from it (the order event feed)."""

import datetime as dt
import logging

from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .client import ConnectorError, client_for
from .quantities import free_quantities

log = logging.getLogger(__name__)

EVENT_PAGE = 100
MAX_PAGES_PER_RUN = 20  # the rest waits for the next run (every minute)
PRODUCT_BATCH = 200
HTTP_ONLY = {"invisible": Eval("mode") != "http", "required": Eval("mode") == "http"}


def now_iso():
    """The module's one clock for every ``as_of`` it sends."""
    return dt.datetime.now(dt.UTC).isoformat()


class Account(DeactivableMixin, ModelSQL, ModelView):
    __name__ = "meli.account"

    name = fields.Char("ML Account", required=True,
                       help="The account's name in the connector (connector.toml [accounts.NAME]).")
    company = fields.Many2One("company.company", "Company", required=True)
    mode = fields.Selection([
            ("http", "HTTP"),
            ("in_process", "In-process"),
            ], "Connector Mode", required=True,
        help="HTTP: the connector's /erp/* routes (recommended). In-process: the connector "
             "installed in Tryton's Python, configured from its environment.")
    connector_url = fields.Char("Connector URL", states=HTTP_ONLY)
    connector_token = fields.Char("ERP Token", states=HTTP_ONLY,
                                  help="The connector's ERP_API_TOKEN.")
    warehouses = fields.Many2Many("meli.account-stock.location", "account", "warehouse",
                                  "Warehouses", domain=[("type", "=", "warehouse")],
                                  help="The warehouses this account sells from.")
    sale_warehouse = fields.Many2One("stock.location", "Sale Warehouse", required=True,
                                     domain=[("type", "=", "warehouse")],
                                     help="The warehouse of the sales created from ML orders.")
    party = fields.Many2One("party.party", "Default Customer", required=True,
                            context={"company": Eval("company", -1)}, depends={"company"},
                            help="The customer of an ML order that names no buyer.")
    event_cursor = fields.Integer("Event Cursor", required=True,
                                  help="The last event of the connector's feed taken in.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ("name_uniq", Unique(table, table.name), "Each ML account is set up once."),
        ]

    @staticmethod
    def default_company():
        return Transaction().context.get("company")

    @staticmethod
    def default_mode():
        return "http"

    @staticmethod
    def default_event_cursor():
        return 0

    def client(self):
        return client_for(self.mode, self.connector_url, self.connector_token)

    @property
    def endpoint(self):
        """Accounts that share a connector share one report."""
        return (self.mode, (self.connector_url or "").rstrip("/"))

    @classmethod
    def active_accounts(cls):
        """Every account, whoever made the change that reports to them."""
        with without_check_access():
            return cls.search([("active", "=", True)])

    # --- stock and prices: queued tasks, run after the transaction that caused them ---

    @classmethod
    def queue_stock(cls, product_ids):
        accounts = cls.active_accounts()
        if accounts and product_ids:
            cls.__queue__.send_stock(accounts, sorted(product_ids))

    @classmethod
    def queue_prices(cls, product_ids):
        accounts = cls.active_accounts()
        if accounts and product_ids:
            cls.__queue__.send_prices(accounts, sorted(product_ids))

    @classmethod
    def send_stock(cls, accounts, product_ids):
        """Report the free quantity of these products in each account's warehouses. ``as_of``
        is taken before the quantities are read, so the report never claims a time later
        than what it saw."""
        products = _reportable(product_ids)
        for account in accounts:
            if not products or not account.warehouses:
                continue
            as_of = now_iso()
            with Transaction().set_context(company=account.company.id):
                free = free_quantities([p.id for p in products], account.warehouses)
            updates = [{"sku": product.code, "quantity": free[(product.id, warehouse.id)],
                        "warehouse": warehouse.code or warehouse.name, "as_of": as_of}
                       for product in products for warehouse in account.warehouses]
            account._send("stock_changed", updates)

    @classmethod
    def send_prices(cls, accounts, product_ids):
        """Report cost and list price; a product without a cost yet sends nothing."""
        done = set()
        for account in accounts:
            if account.endpoint in done:
                continue
            done.add(account.endpoint)
            as_of = now_iso()
            updates = []
            with Transaction().set_context(company=account.company.id):
                for product in _reportable(product_ids, kits=True):
                    if not product.cost_price:
                        continue
                    update = {"sku": product.code, "cost": str(product.cost_price),
                              "as_of": as_of}
                    if product.list_price_used:
                        update["price"] = str(product.list_price_used)
                    updates.append(update)
            account._send("price_changed", updates)

    def _send(self, call, updates):
        if not updates:
            return
        try:
            getattr(self.client(), call)(updates)
        except ConnectorError as exc:
            # Stock comes back with the hourly full report, prices with the next change.
            log.warning("ML account %s: %s of %d update(s) failed: %s",
                        self.name, call, len(updates), exc)
        else:
            log.info("ML account %s: %s sent %d update(s)", self.name, call, len(updates))

    # --- scheduled tasks -----------------------------------------------------------------

    @classmethod
    def report_all_stock(cls):
        """Hourly: the free quantity of every product with a code, in case a report was
        lost while the connector was down."""
        Product = Pool().get("product.product")
        ids = [p.id for p in Product.search([("code", "!=", None), ("type", "=", "goods")])]
        for start in range(0, len(ids), PRODUCT_BATCH):
            cls.send_stock(cls.active_accounts(), ids[start:start + PRODUCT_BATCH])

    @classmethod
    def fetch_events(cls):
        """Every minute: take in the connector's events (orders, shipping, questions) from
        each account's cursor. What they change and the new cursor are saved in this one
        transaction."""
        Sale = Pool().get("sale.sale")
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for account in cls.active_accounts():
            with Transaction().set_context(company=account.company.id):
                account._take_events(Sale)
        Sale.meli_resend_accounted(before=started)

    def _take_events(self, Sale):
        client = self.client()
        cursor = self.event_cursor
        for _ in range(MAX_PAGES_PER_RUN):
            try:
                events, next_cursor = client.events(after=cursor, limit=EVENT_PAGE)
            except ConnectorError as exc:
                log.warning("ML account %s: reading events after %d failed: %s",
                            self.name, cursor, exc)
                break
            for event in events:
                if event.get("account") == self.name:
                    self._apply(Sale, event)
            if next_cursor == cursor or not events:
                break
            cursor = next_cursor
        self.save_cursor(cursor)

    def _apply(self, Sale, event):
        kind = event.get("type") or ""
        if kind == "order.shipping":
            Pool().get("stock.shipment.out").meli_apply_event(self, event)
        elif kind.startswith("question."):
            Pool().get("meli.question").meli_apply_event(self, event)
        elif kind.startswith("order."):
            Sale.meli_apply_event(self, event)
        else:
            log.info("ML account %s: event %s of type %s ignored", self.name,
                     event.get("id"), kind)

    def save_cursor(self, cursor):
        if cursor != self.event_cursor:
            self.event_cursor = cursor
            self.save()


def _reportable(product_ids, kits=False):
    """The products the connector knows by SKU: goods (and kits, for prices) with a code."""
    Product = Pool().get("product.product")
    types = ["goods", "kit"] if kits else ["goods"]
    return Product.search([("id", "in", list(product_ids)), ("code", "!=", None),
                           ("type", "in", types)], order=[("id", "ASC")])


class AccountWarehouse(ModelSQL):
    __name__ = "meli.account-stock.location"

    account = fields.Many2One("meli.account", "Account", required=True, ondelete="CASCADE")
    warehouse = fields.Many2One("stock.location", "Warehouse", required=True,
                                ondelete="CASCADE", domain=[("type", "=", "warehouse")])


class Cron(metaclass=PoolMeta):
    __name__ = "ir.cron"

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
            ("meli.account|fetch_events", "Take in MercadoLibre Events"),
            ("meli.account|report_all_stock", "Report All Stock to MercadoLibre"),
        ])
