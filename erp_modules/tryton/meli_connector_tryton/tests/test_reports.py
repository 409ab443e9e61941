"""Stock and price changes in a real Tryton reach a real connector, in-process and over
HTTP, and from there the ML sandbox's listings."""

import socket
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DBTestCase, with_transaction

from .. import client
from .connector_world import ACCOUNT, MUG_ITEM, MUG_ITEM_2, SELLER, ConnectorWorld
from .tryton_data import create_account, receive, run_tasks, setup_catalog


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))


class ReportsTestCase(DBTestCase):
    "Stock and prices to the connector"
    module = "meli_connector"
    extras = ("product_kit",)

    def world(self):
        world = ConnectorWorld()
        self.addCleanup(world.stop)
        return world.start()

    def price(self, world, item_id):
        return world.listing(item_id)["price"]

    @with_transaction()
    def test_in_process_connector_gets_stock_and_average_cost(self):
        world = self.world()
        client.use_bridge(world.in_process_bridge())
        self.addCleanup(client.use_bridge, None)
        company = create_company()
        with set_company(company):
            mug, _kit = setup_catalog()
            create_account(company, "in_process")
            receive(mug, 10, "3000", company)
            run_tasks()
            world.await_figures((10, 10, 5))
            world.wait_for_price(MUG_ITEM, lambda p: p == 7000)  # the list price, in bounds

            # Move.do writes the new average cost (6000): the floor now lifts the price.
            receive(mug, 10, "9000", company)
            run_tasks()
            world.await_figures((20, 20, 10))
            world.wait_for_price(MUG_ITEM_2, lambda p: p >= 6000 * 1.15 / 0.87)

            # The feed through the bridge: an order the connector recovers by reconciling.
            order = world.control("orders", {"seller_id": SELLER, "item_id": MUG_ITEM,
                                             "quantity": 3, "status": "paid",
                                             "notify": False})["order"]["id"]
            world.cli("reconcile", "--account", ACCOUNT)
            Pool().get("meli.account").fetch_events()
            sale, = Pool().get("sale.sale").search([("meli_order_id", "=", str(order))])
            self.assertEqual([(line.product, line.quantity) for line in sale.lines], [(mug, 3)])
            self.assertEqual(sale.state, "processing")
            run_tasks()  # order_accounted through the bridge
            self.assertTrue(sale.meli_accounted_sent)

            # Its shipment came through the bridge's feed too; ML prints no label yet, and
            # the bridge's refusal reaches the user as the HTTP route's 409 would.
            shipment, = sale.shipments
            self.assertEqual(shipment.meli_shipping_status, "handling")
            with self.assertRaises(UserError) as refused:
                Pool().get("stock.shipment.out").meli_fetch_label([shipment])
            self.assertIn(f"cannot print the label of shipment {shipment.meli_shipment_id}",
                          str(refused.exception))

    @with_transaction()
    def test_http_connector_gets_stock_and_prices(self):
        world = self.world()
        url = world.start_serve()
        company = create_company()
        with set_company(company):
            mug, _kit = setup_catalog()
            create_account(company, "http", url, world.token)
            receive(mug, 7, "3000", company)
            run_tasks()
            world.await_figures((7, 7, 3))
            world.wait_for_price(MUG_ITEM, lambda p: p == 7000)

    @with_transaction()
    def test_no_cost_no_price_what_reports_hold_and_the_hourly_full_report(self):
        Account = Pool().get("meli.account")
        Template = Pool().get("product.template")
        recorder = Recorder()
        company = create_company()
        with set_company(company):
            mug, _kit = setup_catalog()
            account = create_account(company, "in_process")
            Account.client = lambda self: recorder
            self.addCleanup(delattr, Account, "client")
            Template.write([mug.template], {"list_price": 7500})
            run_tasks()
            self.assertEqual(recorder.calls, [])  # no cost yet: nothing

            receive(mug, 4, "1000", company)
            run_tasks()
            reports = len(recorder.calls)
            Cron = Pool().get("ir.cron")
            Cron.run_once(Cron.search([("method", "=", "meli.account|report_all_stock")]))
            self.assertEqual(recorder.calls[reports:], [
                ("stock_changed", [{"sku": "MUG-01", "quantity": 4, "warehouse": "WH",
                                    "as_of": recorder.calls[-1][1][0]["as_of"]}])])
        stock = [c for c in recorder.calls if c[0] == "stock_changed"]
        prices = [c for c in recorder.calls if c[0] == "price_changed"]
        self.assertTrue(stock)
        self.assertEqual({(u["sku"], u["warehouse"], u["quantity"]) for u in stock[-1][1]},
                         {("MUG-01", "WH", 4)})
        self.assertTrue(all(u["as_of"].endswith("+00:00") for u in stock[-1][1]))
        self.assertEqual([(u["sku"], Decimal(u["cost"]), Decimal(u["price"]))
                          for u in prices[-1][1]], [("MUG-01", 1000, 7500)])
        self.assertTrue(account.warehouses)

    @with_transaction()
    def test_a_connector_down_costs_tryton_nothing_but_a_warning(self):
        company = create_company()
        with set_company(company):
            mug, _kit = setup_catalog()
            create_account(company, "http", f"http://127.0.0.1:{closed_port()}",
                           "erp-token-0123456789")
            with self.assertLogs("meli_connector_tryton.account", "WARNING") as logs:
                move = receive(mug, 4, "1000", company)
                run_tasks()
        self.assertIn("connector unreachable", "\n".join(logs.output))
        self.assertEqual(move.state, "done")


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


del DBTestCase
