"""End to end against a real Tryton, a running ``meli-connector serve`` and the ML sandbox:
stock in, an ML sale of kits, its sale in Tryton, accounting, a cancellation, and a crash
between creating the sales and saving the cursor."""

from trytond import backend
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DBTestCase, with_transaction
from trytond.transaction import Transaction

from .connector_world import KIT_ITEM, MUG_ITEM, ConnectorWorld
from .tryton_data import create_account, receive, run_tasks, setup_catalog

CREATED_PAID = ["order.created", "order.paid"]


def commit_and_run_tasks():
    """What Tryton does at the end of a request or a cron run."""
    Transaction().commit()
    run_tasks()
    Transaction().commit()


class OrdersTestCase(DBTestCase):
    "ML orders into Tryton sales"
    module = "meli_connector"
    extras = ("product_kit",)

    def sales(self, order_id):
        return Pool().get("sale.sale").search([("meli_order_id", "=", str(order_id))])

    @with_transaction()
    def test_mugs_kits_accounting_cancellation_and_crash_before_the_cursor(self):
        Account = Pool().get("meli.account")
        world = ConnectorWorld()
        self.addCleanup(world.stop)
        world.start()
        url = world.start_serve()
        company = create_company()
        with set_company(company):
            mug, kit = setup_catalog()
            account = create_account(company, "http", url, world.token)
            receive(mug, 10, "3000", company)
            commit_and_run_tasks()
            world.await_figures((10, 10, 5))  # every listing of the mug, and the kit

            # ML sells 2 kits of 2: the connector holds 4 mugs, every listing follows.
            order_id = world.sell(KIT_ITEM, 2)
            world.await_figures((6, 6, 3))
            world.await_events(order_id, CREATED_PAID)

            Account.fetch_events()
            sale, = self.sales(order_id)
            self.assertEqual(sale.state, "processing")
            self.assertEqual([(line.product, line.quantity) for line in sale.lines], [(kit, 2)])
            self.assertEqual([(m.product, m.quantity) for m in sale.moves], [(mug, 4)])
            self.assertIsNotNone(sale.meli_accounted_at)
            commit_and_run_tasks()  # order_accounted and the stock report, in any order
            self.assertTrue(self.sales(order_id)[0].meli_accounted_sent)

            # One more mug arrives: 11 - 4 = 7 everywhere, so the hold is gone and the
            # 4 mugs were not subtracted twice.
            receive(mug, 1, "3000", company)
            commit_and_run_tasks()
            world.await_figures((7, 7, 3))

            # The buyer cancels: the undelivered shipment is cancelled, the units come back.
            world.cancel(order_id)
            world.await_events(order_id, [*CREATED_PAID, "order.cancelled"])
            Account.fetch_events()
            sale, = self.sales(order_id)
            self.assertEqual({s.state for s in sale.shipments}, {"cancelled"})
            commit_and_run_tasks()
            world.await_figures((11, 11, 5))

            # Two more orders; the cron crashes after creating their sales, before the cursor.
            second, third = world.sell(MUG_ITEM, 1), world.sell(KIT_ITEM, 1)
            world.await_events(second, CREATED_PAID)
            world.await_events(third, CREATED_PAID)
            cursor = Account(account.id).event_cursor

            def crash(self, cursor):
                raise RuntimeError("killed before the cursor was saved")

            Account.save_cursor = crash
            try:
                with self.assertRaises(RuntimeError):
                    Account.fetch_events()
            finally:
                del Account.save_cursor
            Transaction().rollback()
            Transaction().tasks.clear()
            if backend.name == "postgresql":
                # trytond's SQLite backend shares one connection per database, and its cache
                # sync commits that connection at times: only PostgreSQL rolls back whole.
                self.assertEqual((self.sales(second), self.sales(third)), ([], []))
                self.assertEqual(Account(account.id).event_cursor, cursor)

            Account.fetch_events()
            commit_and_run_tasks()
            Account.write([Account(account.id)], {"event_cursor": 0})  # read it all again
            Account.fetch_events()
            commit_and_run_tasks()
            for order in (order_id, second, third):
                self.assertEqual(len(self.sales(order)), 1, order)
            world.await_figures((8, 8, 4))  # 11 - 1 - 2, with nothing held any more
            receive(mug, 2, "3000", company)
            commit_and_run_tasks()
            world.await_figures((10, 10, 5))


del DBTestCase
