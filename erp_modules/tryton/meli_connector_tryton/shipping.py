"""ML shipments on Tryton: each ``order.shipping`` event of the feed writes the ML shipment
(id, status, logistic type, tracking number, receiver) on the sales of its orders and on
their customer shipments, and moves those shipments only where it is safe: a parcel the
warehouse has picked or packed follows ML to shipped and done; one that has not left yet is
cancelled with ML's shipment. Labels are fetched through the connector and attached."""

import datetime as dt
import logging

from trytond.exceptions import UserError
from trytond.exceptions import UserWarning as TrytonWarning
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .client import ConnectorError

log = logging.getLogger(__name__)

LOGISTIC_TYPES = [
    (None, ""),
    ("drop_off", "Drop Off"),
    ("cross_docking", "Cross Docking"),
    ("self_service", "Flex (Self Service)"),
    ("fulfillment", "Full (Fulfillment)"),
    ("other", "Other"),
]
SHIPPING_FIELDS = ("meli_shipment_id", "meli_shipping_status", "meli_shipping_substatus",
                   "meli_logistic_type", "meli_tracking_number", "meli_receiver",
                   "meli_shipping_event")
NOT_LEFT = ("draft", "waiting", "assigned", "picked", "packed")  # the parcel is still here
LABEL_FORMATS = {"pdf": "pdf", "zpl2": "zpl"}


class MeliShippingMixin:
    """The ML shipment as the feed last told it."""
    __slots__ = ()
    meli_shipment_id = fields.Char("ML Shipment", readonly=True)
    meli_shipping_status = fields.Char(
        "ML Shipping Status", readonly=True,
        help="pending, handling, ready_to_ship, shipped, delivered, not_delivered, cancelled")
    meli_shipping_substatus = fields.Char("ML Shipping Substatus", readonly=True)
    meli_logistic_type = fields.Selection(
        LOGISTIC_TYPES, "ML Logistic Type", readonly=True,
        help="Full: ML ships from its own warehouse. Flex: the seller delivers.")
    meli_tracking_number = fields.Char("ML Tracking Number", readonly=True)
    meli_receiver = fields.Text("ML Receiver", readonly=True,
                                help="The receiver and address ML gave for this shipment.")
    meli_shipping_event = fields.Integer(
        "ML Shipping Event", readonly=True,
        help="The last order.shipping event of the connector's feed applied here.")

    @classmethod
    def copy(cls, records, default=None):
        default = dict(default or {})
        for name in SHIPPING_FIELDS:
            default.setdefault(name, None)
        return super().copy(records, default=default)


def shipping_values(event):
    """The fields an ``order.shipping`` event writes; a tracking number or receiver ML no
    longer shows (null) keeps the one already stored."""
    ml = event["shipment"]
    logistic = ml.get("logistic_type")
    values = {"meli_shipment_id": str(ml["id"]), "meli_shipping_status": ml.get("status"),
              "meli_shipping_substatus": ml.get("substatus"),
              "meli_logistic_type": logistic if logistic in dict(LOGISTIC_TYPES) else "other",
              "meli_shipping_event": int(event["id"])}
    if ml.get("tracking_number"):
        values["meli_tracking_number"] = str(ml["tracking_number"])
    receiver = _receiver_text(ml.get("receiver"))
    if receiver:
        values["meli_receiver"] = receiver
    return values


def _receiver_text(receiver):
    if not receiver:
        return None
    address = receiver.get("address") or {}
    street = address.get("address_line") or " ".join(
        str(p) for p in (address.get("street_name"), address.get("street_number")) if p)
    place = ", ".join(str(address[k]) for k in ("neighborhood", "zip_code", "city", "state",
                                                "country") if address.get(k))
    lines = [receiver.get("name"), receiver.get("phone"), street, address.get("comment"), place]
    return "\n".join(str(line) for line in lines if line) or None


class Sale(MeliShippingMixin, metaclass=PoolMeta):
    __name__ = "sale.sale"

    @classmethod
    def meli_process(cls, sale):
        """A shipment the feed described before the sale was processed (ML ``pending``)
        gets what the sale holds."""
        super().meli_process(sale)
        sale = cls(sale.id)
        if sale.meli_shipping_event:
            ShipmentOut = Pool().get("stock.shipment.out")
            values = {name: getattr(sale, name) for name in SHIPPING_FIELDS}
            fresh = [s for s in sale.shipments
                     if (s.meli_shipping_event or 0) < sale.meli_shipping_event]
            if fresh:
                ShipmentOut.write(fresh, {**values, "meli_account": sale.meli_account.id})


class ShipmentOut(MeliShippingMixin, metaclass=PoolMeta):
    __name__ = "stock.shipment.out"

    meli_account = fields.Many2One("meli.account", "ML Account", readonly=True,
                                   ondelete="RESTRICT")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        hidden = ~Eval("meli_shipment_id") | (Eval("meli_logistic_type") == "fulfillment")
        cls._buttons.update({
            "meli_fetch_label": {"invisible": hidden,
                                 "depends": ["meli_shipment_id", "meli_logistic_type"]},
            "meli_fetch_label_zpl": {"invisible": hidden,
                                     "depends": ["meli_shipment_id", "meli_logistic_type"]},
        })

    @classmethod
    def copy(cls, shipments, default=None):
        default = dict(default or {})
        default.setdefault("meli_account", None)
        return super().copy(shipments, default=default)

    # --- the event feed ------------------------------------------------------------------

    @classmethod
    def meli_apply_event(cls, account, event):
        """Apply one ``order.shipping`` event to the sales of its orders and their
        shipments; a record that already took this event (or a later one) is left as is."""
        Sale = Pool().get("sale.sale")
        event_id = int(event["id"])
        order_ids = [str(o) for o in event.get("order_ids") or []]
        sales = Sale.search([("meli_order_id", "in", order_ids)]) if order_ids else []
        ml = event["shipment"]
        if not sales:
            log.info("ML shipment %s: no sale for the orders %s; event %d ignored",
                     ml["id"], order_ids, event_id)
            return
        values = shipping_values(event)
        fresh_sales = [s for s in sales if (s.meli_shipping_event or 0) < event_id]
        if fresh_sales:
            Sale.write(fresh_sales, values)
        shipments = {s.id: s for sale in sales for s in sale.shipments
                     if (s.meli_shipping_event or 0) < event_id}
        if not shipments:
            return
        cls.write(list(shipments.values()), {**values, "meli_account": account.id})
        cls.meli_follow(list(shipments), ml.get("status"), values["meli_logistic_type"])
        log.info("ML shipment %s is %s: Tryton shipment(s) %s", ml["id"], ml.get("status"),
                 ", ".join(s.rec_name for s in cls.browse(list(shipments))))

    @classmethod
    def meli_follow(cls, ids, status, logistic_type):
        """Move the shipments (ids) where ML's status makes it safe. Full shipments leave
        from ML's warehouse: Tryton's are not touched."""
        if logistic_type == "fulfillment":
            return
        if status in ("shipped", "delivered"):
            cls._meli_step(ids, "picked", cls.pack, check=cls._meli_packable)
            if status == "shipped":
                cls._meli_step(ids, "packed", cls.ship)
            else:
                cls._meli_step(ids, ("packed", "shipped"), cls.do)
            for shipment in cls.browse(ids):
                if shipment.state in NOT_LEFT:
                    log.warning("ML says shipment %s is %s but Tryton shipment %s is %s: "
                                "left for the warehouse", shipment.meli_shipment_id, status,
                                shipment.rec_name, shipment.state)
        elif status == "cancelled":
            cls._meli_step(ids, NOT_LEFT, cls.cancel)
            for shipment in cls.browse(ids):
                if shipment.state == "shipped":
                    log.warning("ML cancelled shipment %s but Tryton shipment %s has left "
                                "(shipped): left as is", shipment.meli_shipment_id,
                                shipment.rec_name)

    @classmethod
    def _meli_step(cls, ids, states, transition, check=None):
        """One transition per shipment. One Tryton refuses stops the run with an error
        naming it (like an unknown SKU): nothing of the run is applied, and the event is
        applied again at the next run, once the shipment is handled in Tryton."""
        states = (states,) if isinstance(states, str) else states
        for shipment in cls.browse(ids):
            if shipment.state not in states or (check and not check(shipment)):
                continue
            try:
                transition([shipment])
            except (UserError, TrytonWarning) as exc:
                raise UserError(
                    f"ML shipment {shipment.meli_shipment_id}: Tryton refused to "
                    f"{transition.__name__} shipment {shipment.rec_name} ({exc.message}); "
                    f"handle it in Tryton and the event is applied at the next run") from exc

    @staticmethod
    def _meli_packable(shipment):
        """Packing is the warehouse's word when what was picked is not what was sold:
        Tryton's own quantity check (it writes nothing) decides."""
        try:
            if any(m.state not in ("done", "cancelled") for m in shipment.inventory_moves):
                raise TrytonWarning("check_inventory", "some inventory moves are not done")
            if shipment.warehouse_storage != shipment.warehouse_output:
                shipment.check_quantity()
        except TrytonWarning as exc:
            log.warning("ML shipment %s has left but Tryton shipment %s is not packed: %s",
                        shipment.meli_shipment_id, shipment.rec_name, exc.message)
            return False
        return True

    # --- labels ----------------------------------------------------------------------------

    @classmethod
    @ModelView.button
    def meli_fetch_label(cls, shipments):
        cls.meli_store_labels(shipments, "pdf")

    @classmethod
    @ModelView.button
    def meli_fetch_label_zpl(cls, shipments):
        cls.meli_store_labels(shipments, "zpl2")

    @classmethod
    def meli_store_labels(cls, shipments, label_format="pdf"):
        """Fetch each ML shipment's label through the connector and attach it to its
        Tryton shipments (``ML label <id>.pdf|zpl``, replacing an older one). One shipment
        that cannot be printed stops the whole action: nothing is attached."""
        Attachment = Pool().get("ir.attachment")
        groups = {}
        for shipment in shipments:
            if not shipment.meli_shipment_id or not shipment.meli_account:
                raise UserError(f"Shipment {shipment.rec_name} has no MercadoLibre shipment: "
                                f"its label is printed where it was sold.")
            key = (shipment.meli_account, shipment.meli_shipment_id)
            groups.setdefault(key, []).append(shipment)
        for (account, ml_id), group in groups.items():
            try:
                label = account.client().shipment_labels([ml_id], label_format)
            except ConnectorError as exc:
                raise UserError(label_error(ml_id, exc)) from exc
            name = f"ML label {ml_id}.{LABEL_FORMATS[label_format]}"
            resources = [str(s) for s in group]
            Attachment.delete(Attachment.search([("resource", "in", resources),
                                                 ("name", "=", name)]))
            Attachment.create([{"name": name, "resource": resource, "type": "data",
                                "data": label.content,
                                "description": f"{label.content_type}, fetched "
                                               f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"}
                               for resource in resources])
            log.info("ML shipment %s: %s label attached to %s", ml_id, label_format,
                     ", ".join(s.rec_name for s in group))


def label_error(ml_id, exc):
    if exc.status == 409:
        return (f"MercadoLibre cannot print the label of shipment {ml_id} now: "
                f"{exc.message} (a label exists only while the shipment is ready to ship).")
    if exc.status == 404:
        return (f"The connector does not know ML shipment {ml_id} (it has not announced it "
                f"yet): {exc.message}")
    if exc.status is not None and exc.status < 500:
        return f"The connector refused the label of shipment {ml_id}: {exc.message}"
    return (f"The label of shipment {ml_id} could not be fetched now; try again later "
            f"({exc.message}).")
