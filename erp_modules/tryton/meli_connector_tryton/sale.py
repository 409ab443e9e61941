"""ML orders as Tryton sales: one sale per ML order (its id stored and unique), created,
processed and cancelled from the connector's event feed."""

import datetime as dt
import logging
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model import Unique, fields
from trytond.pool import Pool, PoolMeta

from .client import ConnectorError

log = logging.getLogger(__name__)

UNDELIVERED = ("draft", "waiting", "assigned", "picked", "packed")


class Sale(metaclass=PoolMeta):
    __name__ = "sale.sale"

    meli_order_id = fields.Char("ML Order", readonly=True)
    meli_account = fields.Many2One("meli.account", "ML Account", readonly=True,
                                   ondelete="RESTRICT")
    meli_pack_id = fields.Char("ML Pack", readonly=True,
                               help="The ML cart (pack) this order was bought in: its orders "
                                    "share one ML shipment.")
    meli_accounted_at = fields.Timestamp(
        "ML Accounted At", readonly=True,
        help="When the sale was processed: the instant sent to the connector as accounted.")
    meli_accounted_sent = fields.Boolean("ML Accounted Sent", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ("meli_order_id_uniq", Unique(table, table.meli_order_id),
             "An ML order makes one sale."),
        ]

    @classmethod
    def copy(cls, sales, default=None):
        default = dict(default or {})
        for name in ("meli_order_id", "meli_account", "meli_accounted_at", "meli_pack_id"):
            default.setdefault(name, None)
        default.setdefault("meli_accounted_sent", False)
        return super().copy(sales, default=default)

    # --- the event feed ------------------------------------------------------------------

    @classmethod
    def meli_apply_event(cls, account, event):
        """Apply one order event; applying it again changes nothing."""
        kind, order = event["type"], event["order"]
        order_id = str(event["order_id"])
        sales = cls.search([("meli_order_id", "=", order_id)])
        if kind == "order.created":
            if not sales:
                cls.meli_create(account, order)
        elif kind == "order.paid":
            sale, = sales or [cls.meli_create(account, order)]
            cls.meli_process(sale)
        elif kind == "order.cancelled":
            for sale in sales:
                cls.meli_cancel(sale)
        else:
            log.info("ML order %s: event %s ignored", order_id, kind)

    @classmethod
    def meli_create(cls, account, order):
        pool = Pool()
        Line = pool.get("sale.line")
        Product = pool.get("product.product")
        Currency = pool.get("currency.currency")
        sale = cls(company=account.company, warehouse=account.sale_warehouse,
                   party=_buyer(account, order.get("buyer_id")),
                   meli_order_id=str(order["id"]), meli_account=account,
                   meli_pack_id=str(order["pack_id"]) if order.get("pack_id") else None,
                   meli_accounted_sent=False, reference=f"ML {order['id']}")
        sale.on_change_party()
        currencies = Currency.search([("code", "=", order.get("currency_id") or "")])
        sale.currency = currencies[0] if currencies else account.company.currency
        lines = []
        for ml_line in order.get("lines", []):
            sku = ml_line.get("seller_sku") or ""
            products = Product.search([("code", "=", sku)]) if sku else []
            if not products:
                raise UserError(f"ML order {order['id']}: no product has the code {sku!r} "
                                f"(listing {ml_line.get('item_id')}); create it and the "
                                f"order is taken in at the next run")
            line = Line(sale=sale, type="line", product=products[0],
                        quantity=ml_line["quantity"])
            line.on_change_product()
            if ml_line.get("unit_price") is not None:
                line.unit_price = Decimal(str(ml_line["unit_price"])).quantize(
                    Decimal(1) / 10 ** Line.unit_price.digits[1])
            lines.append(line)
        sale.lines = lines
        sale.save()
        log.info("ML order %s: sale %s created", order["id"], sale.rec_name)
        return sale

    @classmethod
    def meli_process(cls, sale):
        """Quote, confirm and process: the sale's outgoing moves take its units out of the
        free quantity in this transaction, and the connector is told after it commits."""
        if sale.state in ("cancelled", "processing", "done"):
            return
        if sale.state == "draft":
            cls.quote([sale])
        if sale.state == "quotation":
            cls.confirm([sale])
        cls.process([sale])
        sale.meli_accounted_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        sale.save()
        cls.__queue__.meli_send_accounted([sale])

    @classmethod
    def meli_cancel(cls, sale):
        """Cancel the sale, or its undelivered shipments once it is processing; the moves
        this cancels give the units back (and queue the stock report)."""
        Shipment = Pool().get("stock.shipment.out")
        if sale.state in ("draft", "quotation"):
            cls.cancel([sale])
        elif sale.state == "confirmed":
            cls.draft([sale])
            cls.cancel([sale])
        elif sale.state == "processing":
            shipments = [s for s in sale.shipments if s.state in UNDELIVERED]
            if shipments:
                Shipment.cancel(shipments)
            leftovers = [m for line in sale.lines for m in line.moves
                         if m.state in ("staging", "draft") and not m.shipment]
            if leftovers:
                Pool().get("stock.move").cancel(leftovers)
        log.info("ML order %s cancelled: sale %s is %s", sale.meli_order_id, sale.rec_name,
                 sale.state)

    # --- order_accounted: queued after commit, re-sent by the cron until it went through --

    @classmethod
    def meli_send_accounted(cls, sales):
        for sale in sales:
            if sale.meli_accounted_sent or not sale.meli_accounted_at:
                continue
            as_of = sale.meli_accounted_at.replace(tzinfo=dt.UTC).isoformat()
            try:
                sale.meli_account.client().order_accounted(sale.meli_order_id, as_of)
            except ConnectorError as exc:
                log.warning("ML order %s: order_accounted failed (sent again next minute): %s",
                            sale.meli_order_id, exc)
                continue
            sale.meli_accounted_sent = True
            sale.save()
            products = {line.product.id for line in sale.lines if line.product}
            products |= {m.product.id for line in sale.lines for m in line.moves}
            Pool().get("meli.account").send_stock([sale.meli_account], sorted(products))

    @classmethod
    def meli_resend_accounted(cls, before):
        """Queue again the calls that did not go through for sales processed before
        ``before`` (a sale processed since still has its first call queued)."""
        pending = cls.search([("meli_accounted_at", "!=", None),
                              ("meli_accounted_at", "<", before),
                              ("meli_accounted_sent", "=", False)])
        if pending:
            cls.__queue__.meli_send_accounted(pending)


def _buyer(account, buyer_id):
    """The party of an ML buyer, created on their first order."""
    Party = Pool().get("party.party")
    if not buyer_id:
        return account.party
    parties = Party.search([("meli_buyer_id", "=", str(buyer_id))], limit=1)
    if parties:
        return parties[0]
    party = Party(name=f"MercadoLibre buyer {buyer_id}", meli_buyer_id=str(buyer_id),
                  addresses=[Pool().get("party.address")()])
    party.save()
    return party

