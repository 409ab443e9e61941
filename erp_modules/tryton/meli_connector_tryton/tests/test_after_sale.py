"""After the sale in a real Tryton, fed by a stubbed connector over HTTP: a pack of two
orders through ML's shipping statuses (tracking number, labels, shipped, done), a
cancellation, a Full shipment left alone, questions answered and refused, and every event
read twice (the cursor lowered to 0) with no second effect."""

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DBTestCase, with_transaction
from trytond.transaction import Transaction

from .connector_stub import (
    TOKEN,
    ConnectorStub,
    order_event,
    question_event,
    shipping_event,
)
from .connector_world import MUG
from .tryton_data import create_account, receive, setup_catalog

A, B, C, D, F = ("2000000000000001", "2000000000000002", "2000000000000003",
                 "2000000000000005", "2000000000000004")
PACK, SHIP, SHIP_C, SHIP_F = 2000000000000900, 40000000001, 40000000003, 40000000004
RECEIVER = {"name": "Ana Pérez", "phone": "11 5555-0000",
            "address": {"street_name": "Av. Siempreviva", "street_number": "742",
                        "address_line": None, "comment": "Timbre 2", "zip_code": "1414",
                        "city": "Palermo", "state": "Buenos Aires", "country": "Argentina",
                        "neighborhood": None}}


class AfterSaleTestCase(DBTestCase):
    "Shipping and questions from the connector's feed"
    module = "meli_connector"
    extras = ("product_kit",)

    def setup_world(self):
        stub = ConnectorStub().start()
        self.addCleanup(stub.stop)
        company = create_company()
        return stub, company

    def fetch(self):
        Pool().get("meli.account").fetch_events()

    def replay_all(self, account):
        """Lower the cursor to 0 and read the whole feed again."""
        Account = Pool().get("meli.account")
        Account.write([Account(account.id)], {"event_cursor": 0})
        self.fetch()

    def shipment(self, order_id):
        sale, = Pool().get("sale.sale").search([("meli_order_id", "=", order_id)])
        shipment, = sale.shipments
        return shipment

    def state(self, shipment):
        return Pool().get("stock.shipment.out")(shipment.id).state

    def attachments(self, shipment):
        return Pool().get("ir.attachment").search([("resource", "=", str(shipment))],
                                                  order=[("name", "ASC")])

    @with_transaction()
    def test_a_pack_through_shipping_statuses_with_labels_and_no_double_effect(self):
        pool = Pool()
        ShipmentOut = pool.get("stock.shipment.out")
        stub, company = self.setup_world()
        with set_company(company):
            mug, _kit = setup_catalog()
            account = create_account(company, "http", stub.url, TOKEN)
            receive(mug, 10, "3000", company)
            stub.events += [
                order_event(1, "order.created", A, MUG, pack_id=PACK),
                order_event(2, "order.paid", A, MUG, pack_id=PACK),
                order_event(3, "order.created", B, MUG, quantity=2, pack_id=PACK),
                order_event(4, "order.paid", B, MUG, quantity=2, pack_id=PACK),
                order_event(5, "order.paid", D, MUG, pack_id=PACK),
                shipping_event(6, [A, B, D], SHIP, "handling", pack_id=PACK,
                               receiver=RECEIVER),
            ]
            self.fetch()
            first, second, fourth = self.shipment(A), self.shipment(B), self.shipment(D)
            for shipment in (first, second, fourth):
                self.assertEqual((shipment.meli_shipment_id, shipment.meli_shipping_status,
                                  shipment.meli_logistic_type, shipment.meli_tracking_number,
                                  shipment.meli_account),
                                 (str(SHIP), "handling", "drop_off", None, account))
                self.assertEqual(shipment.meli_receiver, "Ana Pérez\n11 5555-0000\n"
                                 "Av. Siempreviva 742\nTimbre 2\n"
                                 "1414, Palermo, Buenos Aires, Argentina")
            sale_a, = pool.get("sale.sale").search([("meli_order_id", "=", A)])
            self.assertEqual((sale_a.meli_pack_id, sale_a.meli_shipment_id),
                             (str(PACK), str(SHIP)))

            # Not printable yet: ML's reason, in a user error; nothing attached.
            stub.label = (409, b'{"error": "not_printable", "message": "shipment '
                               b'40000000001: it is handling", "shipments": []}',
                          "application/json")
            with self.assertRaises(UserError) as refused:
                ShipmentOut.meli_fetch_label([first])
            self.assertIn("cannot print the label of shipment 40000000001", str(refused.exception))
            self.assertIn("it is handling", str(refused.exception))
            self.assertEqual(self.attachments(first), [])

            # The warehouse packs the first parcel; the second is picked but one unit is
            # then taken off it (Tryton's quantity check would ask before packing); the
            # third is only assigned.
            ShipmentOut.wait([first, second, fourth])
            ShipmentOut.assign_try([first, second, fourth])
            ShipmentOut.pick([first, second])
            ShipmentOut.pack([first])
            pool.get("stock.move").write(list(second.outgoing_moves), {"quantity": 1})

            stub.events.append(shipping_event(7, [A, B, D], SHIP, "ready_to_ship",
                                              substatus="ready_to_print", tracking="MMXQP01",
                                              pack_id=PACK))
            self.fetch()
            self.assertEqual([(s.meli_shipping_status, s.meli_shipping_substatus,
                               s.meli_tracking_number, bool(s.meli_receiver))
                              for s in (first, second, fourth)],
                             [("ready_to_ship", "ready_to_print", "MMXQP01", True)] * 3)

            # One label call for the pack's one ML shipment, attached to each; fetched
            # again, it replaces the first.
            stub.label = (200, b"%PDF-1.4 label of 40000000001", "application/pdf")
            before = len(stub.requested("/erp/shipments/labels"))
            ShipmentOut.meli_fetch_label([first, second])
            ShipmentOut.meli_fetch_label([first])
            calls = stub.requested("/erp/shipments/labels")[before:]
            self.assertEqual([c[2] for c in calls], [{"ids": str(SHIP), "format": "pdf"}] * 2)
            stub.label = (200, b"^XA^FDMMXQP01^FS^XZ\n", "text/plain")
            ShipmentOut.meli_fetch_label_zpl([first])
            self.assertEqual([(a.name, a.data) for a in self.attachments(first)],
                             [(f"ML label {SHIP}.pdf", b"%PDF-1.4 label of 40000000001"),
                              (f"ML label {SHIP}.zpl", b"^XA^FDMMXQP01^FS^XZ\n")])
            self.assertEqual([a.name for a in self.attachments(second)],
                             [f"ML label {SHIP}.pdf"])

            # Shipped: the packed parcel follows; the two the warehouse has not finished
            # wait for it, with a warning each, and the feed goes on.
            stub.events.append(shipping_event(8, [A, B, D], SHIP, "shipped"))
            with self.assertLogs("meli_connector_tryton.shipping", "WARNING") as logs:
                self.fetch()
            self.assertIn(f"Tryton shipment {second.rec_name} is not packed",
                          "\n".join(logs.output))
            self.assertIn(f"Tryton shipment {fourth.rec_name} is assigned: left for the "
                          f"warehouse", "\n".join(logs.output))
            self.assertEqual([self.state(s) for s in (first, second, fourth)],
                             ["shipped", "picked", "assigned"])
            stub.events.append(shipping_event(9, [A, B, D], SHIP, "delivered"))
            self.fetch()
            self.assertEqual([self.state(s) for s in (first, second, fourth)],
                             ["done", "picked", "assigned"])
            self.assertEqual(ShipmentOut(first.id).meli_tracking_number, "MMXQP01")  # kept

            # Another order: ML cancels its shipment while the parcel is picked.
            stub.events += [order_event(10, "order.created", C, MUG),
                            order_event(11, "order.paid", C, MUG),
                            shipping_event(12, [C], SHIP_C, "handling")]
            self.fetch()
            third = self.shipment(C)
            ShipmentOut.wait([third])
            ShipmentOut.assign_try([third])
            ShipmentOut.pick([third])
            stub.events.append(shipping_event(13, [C], SHIP_C, "cancelled"))
            self.fetch()
            self.assertEqual(self.state(third), "cancelled")

            # Full: ML ships from its own warehouse; Tryton's shipment stays as the sale
            # left it (waiting).
            stub.events += [order_event(14, "order.created", F, MUG),
                            order_event(15, "order.paid", F, MUG),
                            shipping_event(16, [F], SHIP_F, "delivered",
                                           logistic="fulfillment")]
            self.fetch()
            full = self.shipment(F)
            self.assertEqual((full.state, full.meli_shipping_status, full.meli_logistic_type),
                             ("waiting", "delivered", "fulfillment"))

            # Every event again: nothing changes, nothing is created twice.
            self.replay_all(account)
            self.assertEqual(len(pool.get("sale.sale").search([])), 5)
            self.assertEqual([(self.state(s), ShipmentOut(s.id).meli_shipping_status,
                               ShipmentOut(s.id).meli_shipping_event)
                              for s in (first, second, fourth, third, full)],
                             [("done", "delivered", 9), ("picked", "delivered", 9),
                              ("assigned", "delivered", 9), ("cancelled", "cancelled", 13),
                              ("waiting", "delivered", 16)])
            self.assertEqual(len(self.attachments(first)), 2)
            self.assertEqual(pool.get("meli.account")(account.id).event_cursor, 16)

    @with_transaction()
    def test_a_shipment_described_before_its_sale_is_processed_gets_it(self):
        stub, company = self.setup_world()
        with set_company(company):
            mug, _kit = setup_catalog()
            create_account(company, "http", stub.url, TOKEN)
            receive(mug, 5, "3000", company)
            stub.events += [order_event(1, "order.created", A, MUG),
                            shipping_event(2, [A], SHIP, "pending"),
                            order_event(3, "order.paid", A, MUG)]
            self.fetch()
            shipment = self.shipment(A)
            self.assertEqual((shipment.meli_shipment_id, shipment.meli_shipping_status,
                              shipment.meli_shipping_event), (str(SHIP), "pending", 2))

    @with_transaction()
    def test_a_transition_tryton_refuses_stops_the_run_and_names_the_shipment(self):
        pool = Pool()
        ShipmentOut = pool.get("stock.shipment.out")
        Account = pool.get("meli.account")
        stub, company = self.setup_world()
        with set_company(company):
            mug, _kit = setup_catalog()
            account = create_account(company, "http", stub.url, TOKEN)
            receive(mug, 5, "3000", company)
            stub.events += [order_event(1, "order.paid", A, MUG),
                            shipping_event(2, [A], SHIP, "handling")]
            self.fetch()
            shipment = self.shipment(A)
            ShipmentOut.wait([shipment])
            ShipmentOut.assign_try([shipment])
            ShipmentOut.pick([shipment])
            ShipmentOut.pack([shipment])
            stub.events.append(shipping_event(3, [A], SHIP, "delivered"))

            def do(cls, shipments):
                raise UserError("the stock period is closed")

            ShipmentOut.do = classmethod(do)
            try:
                with self.assertRaises(UserError) as refused:
                    self.fetch()
            finally:
                del ShipmentOut.do
            self.assertEqual(refused.exception.message, (
                f"ML shipment {SHIP}: Tryton refused to do shipment {shipment.rec_name} (the "
                f"stock period is closed); handle it in Tryton and the event is applied at "
                f"the next run"))
            # The cron rolls the run back: the cursor was never moved past the event.
            self.assertEqual(Account(account.id).event_cursor, 2)
            self.assertEqual(self.state(shipment), "packed")

    @with_transaction()
    def test_questions_received_answered_refused_and_closed_once(self):
        pool = Pool()
        Question = pool.get("meli.question")
        stub, company = self.setup_world()
        with set_company(company):
            mug, _kit = setup_catalog()
            account = create_account(company, "http", stub.url, TOKEN)
            q1, q2, q3 = 13000000001, 13000000002, 13000000003
            stub.events += [
                question_event(1, "question.received", q1, text="¿Hacen envíos a Córdoba?"),
                question_event(2, "question.received", q2, sku=None, status="UNDER_REVIEW"),
                question_event(3, "question.received", q3),
            ]
            self.fetch()
            first, = Question.search([("ml_id", "=", str(q1))])
            self.assertEqual((first.state, first.product, first.sku, first.item_id,
                              first.text, first.buyer_id, first.company),
                             ("to_answer", mug, MUG, "MLA1000000001",
                              "¿Hacen envíos a Córdoba?", "74425755", company))
            self.assertEqual(str(first.asked_at), "2026-12-01 15:30:00")  # UTC
            self.assertEqual([q.state for q in Question.search([], order=[("ml_id", "ASC")])],
                             ["to_answer", "under_review", "to_answer"])

            # Answered from Tryton through the wizard: the connector gets the text.
            self.answer(first, "  Sí, a todo el país.  ")
            posted = stub.requested(f"/erp/questions/{q1}/answer")
            self.assertEqual([p[3] for p in posted], [{"text": "Sí, a todo el país."}])
            first = Question(first.id)
            self.assertEqual((first.state, first.answer, first.answered_by),
                             ("answered", "Sí, a todo el país.", "erp"))
            with self.assertRaises(UserError) as again:
                self.answer(first, "otra vez")
            self.assertIn("is answered", str(again.exception))

            # ML refuses, the connector says why, Tryton shows it; nothing changes.
            third, = Question.search([("ml_id", "=", str(q3))])
            refusals = [
                (409, b'{"error": "refused_by_ml", "message": "the question is banned"}',
                 "refused the answer to question 13000000003: the question is banned"),
                (400, b'{"error": "invalid", "message": "text: longer than 2000"}',
                 "was not accepted: text: longer than 2000"),
                (503, b'{"error": "ml_unavailable", "message": "ML unreachable"}',
                 "could not be sent now; nothing was answered, try again later"),
            ]
            for status, body, shown in refusals:
                stub.answer = (status, body, "application/json")
                with self.assertRaises(UserError) as refused:
                    self.answer(third, "Sí")
                self.assertIn(shown, str(refused.exception))
            self.assertEqual(len(stub.requested(f"/erp/questions/{q3}/answer")), 3)  # no retry
            with self.assertRaises(UserError):
                self.answer(third, "   ")
            self.assertEqual(Question(third.id).state, "to_answer")

            stub.events += [
                question_event(4, "question.answered", q1, status="ANSWERED",
                               answered_by="erp", answer="Sí, a todo el país."),
                question_event(5, "question.deleted", q3, status="BANNED"),
                question_event(6, "question.answered", q2, sku=None, status="ANSWERED",
                               answered_by="ml", answer="Respondida en ML"),
            ]
            self.fetch()
            self.replay_all(account)
            self.assertEqual(
                [(q.ml_id, q.state, q.ml_status, q.answered_by, q.answer, q.last_event)
                 for q in Question.search([], order=[("ml_id", "ASC")])],
                [(str(q1), "answered", "ANSWERED", "erp", "Sí, a todo el país.", 4),
                 (str(q2), "answered", "ANSWERED", "ml", "Respondida en ML", 6),
                 (str(q3), "closed", "BANNED", None, None, 5)])

    @with_transaction()
    def test_a_warehouse_user_fetches_labels_and_a_seller_answers(self):
        """Users without access to the ML accounts (sale administrators') still print
        labels (stock users) and answer questions (sale users)."""
        pool = Pool()
        ShipmentOut = pool.get("stock.shipment.out")
        Question = pool.get("meli.question")
        Attachment = pool.get("ir.attachment")
        stub, company = self.setup_world()
        with set_company(company):
            mug, _kit = setup_catalog()
            create_account(company, "http", stub.url, TOKEN)
            receive(mug, 5, "3000", company)
            stub.events += [order_event(1, "order.paid", A, MUG),
                            shipping_event(2, [A], SHIP, "ready_to_ship", tracking="T1"),
                            question_event(3, "question.received", 13000000001)]
            self.fetch()
            shipment = self.shipment(A)
            question, = Question.search([])
            warehouse = user("warehouse", company, ("stock", "group_stock"))
            seller = user("seller", company, ("sale", "group_sale"))
        with Transaction().set_user(warehouse.id), \
                Transaction().set_context(_check_access=True, company=company.id):
            with self.assertRaises(AccessError):  # the accounts are not theirs to read
                pool.get("meli.account").read([shipment.meli_account.id], ["connector_token"])
            ShipmentOut.meli_fetch_label(ShipmentOut.browse([shipment.id]))
            self.assertEqual([a.name for a in Attachment.search(
                [("resource", "=", str(shipment))])], [f"ML label {SHIP}.pdf"])
        with Transaction().set_user(seller.id), \
                Transaction().set_context(_check_access=True, company=company.id):
            self.answer(Question(question.id), "Sí")
            self.assertEqual(Question(question.id).state, "answered")

    def answer(self, question, text):
        """What the client does: the Answer button's wizard, its form filled in."""
        Wizard = Pool().get("meli.question.answer", type="wizard")
        session_id, _, _ = Wizard.create()
        with Transaction().set_context(active_model="meli.question", active_id=question.id,
                                       active_ids=[question.id]):
            Wizard.execute(session_id, {"start": {"text": text}}, "answer")
        Wizard.delete(session_id)


def user(login, company, group):
    pool = Pool()
    group_id = pool.get("ir.model.data").get_id(*group)
    record = pool.get("res.user")(login=login, name=login, companies=[company], company=company,
                                  groups=[group_id])
    record.save()
    return record


del DBTestCase
