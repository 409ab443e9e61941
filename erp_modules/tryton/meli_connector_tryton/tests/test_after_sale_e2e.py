"""After the sale end to end: a real Tryton, a running ``meli-connector serve`` and the ML
sandbox posting ``shipments`` and ``questions`` notifications. A sale goes through ML's
shipping statuses with its label printed from Tryton, and buyers' questions are answered
from Tryton, one of them refused by ML."""

import io

from pypdf import PdfReader
from trytond.exceptions import UserError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DBTestCase, with_transaction
from trytond.transaction import Transaction

from .connector_world import MUG_ITEM, ConnectorWorld, wait_for
from .tryton_data import create_account, receive, setup_catalog


class AfterSaleEndToEndTestCase(DBTestCase):
    "Shipping, labels and questions through the connector and the sandbox"
    module = "meli_connector"
    extras = ("product_kit",)

    def setUp(self):
        super().setUp()
        self.world = ConnectorWorld()
        self.addCleanup(self.world.stop)
        self.world.start()
        url = self.world.start_serve()
        self.world.control("config", {"callback_url": f"{url}/notifications",
                                      "notify_topics": ["shipments", "questions"]})

    def fetch(self):
        Pool().get("meli.account").fetch_events()

    def await_feed(self, what, test):
        wait_for(lambda: test(self.world.feed()), 30, what)

    def await_statuses(self, shipment_id, statuses):
        def arrived(feed):
            return [e["shipment"]["status"] for e in feed if e["type"] == "order.shipping"
                    and e["shipment"]["id"] == shipment_id] == statuses
        self.await_feed(f"shipment {shipment_id} to be announced {statuses}", arrived)

    def await_question(self, question_id, types):
        def arrived(feed):
            return [e["type"] for e in feed if e.get("question_id") == question_id] == types
        self.await_feed(f"question {question_id} to be announced {types}", arrived)

    def move(self, shipment_id, status):
        self.world.control(f"shipments/{shipment_id}/status", {"status": status})

    def answer(self, question, text):
        Wizard = Pool().get("meli.question.answer", type="wizard")
        session_id, _, _ = Wizard.create()
        with Transaction().set_context(active_model="meli.question", active_id=question.id,
                                       active_ids=[question.id]):
            Wizard.execute(session_id, {"start": {"text": text}}, "answer")
        Wizard.delete(session_id)

    @with_transaction()
    def test_a_sale_ships_with_its_label_and_questions_are_answered(self):
        pool = Pool()
        ShipmentOut = pool.get("stock.shipment.out")
        Attachment = pool.get("ir.attachment")
        Question = pool.get("meli.question")
        world = self.world
        company = create_company()
        with set_company(company):
            mug, _kit = setup_catalog()
            create_account(company, "http", world.url, world.token)
            receive(mug, 10, "3000", company)

            order_id = world.sell(MUG_ITEM, 1)
            ship_id = world.sandbox.state.orders[order_id]["shipping"]["id"]
            self.await_statuses(ship_id, ["handling"])
            self.fetch()
            sale, = pool.get("sale.sale").search([("meli_order_id", "=", str(order_id))])
            shipment, = sale.shipments
            self.assertEqual((shipment.meli_shipment_id, shipment.meli_shipping_status,
                              shipment.meli_logistic_type, shipment.meli_tracking_number),
                             (str(ship_id), "handling", "drop_off", None))
            self.assertTrue(shipment.meli_receiver)

            with self.assertRaises(UserError) as refused:  # ML prints only ready_to_ship
                ShipmentOut.meli_fetch_label([shipment])
            self.assertIn(f"cannot print the label of shipment {ship_id}",
                          str(refused.exception))

            ShipmentOut.wait([shipment])
            ShipmentOut.assign_try([shipment])
            ShipmentOut.pick([shipment])
            ShipmentOut.pack([shipment])
            self.move(ship_id, "ready_to_ship")
            self.await_statuses(ship_id, ["handling", "ready_to_ship"])
            self.fetch()
            shipment = ShipmentOut(shipment.id)
            tracking = shipment.meli_tracking_number
            self.assertTrue(tracking)
            self.assertEqual(shipment.meli_shipping_status, "ready_to_ship")

            ShipmentOut.meli_fetch_label([shipment])
            ShipmentOut.meli_fetch_label_zpl([shipment])
            pdf, zpl = Attachment.search([("resource", "=", str(shipment))],
                                         order=[("name", "ASC")])
            self.assertEqual(pdf.name, f"ML label {ship_id}.pdf")
            self.assertEqual(len(PdfReader(io.BytesIO(pdf.data)).pages), 1)
            self.assertTrue(zpl.data.startswith(b"^XA"))
            self.assertIn(tracking.encode(), zpl.data)

            announced = ["handling", "ready_to_ship"]
            for status, tryton_state in (("shipped", "shipped"), ("delivered", "done")):
                self.move(ship_id, status)
                announced.append(status)
                self.await_statuses(ship_id, announced)
                self.fetch()
                self.assertEqual(ShipmentOut(shipment.id).state, tryton_state)

            # A question answered from Tryton reaches the buyer on ML.
            asked = world.control("questions", {"item_id": MUG_ITEM,
                                                "text": "¿Tiene garantía?"})["question"]["id"]
            self.await_question(asked, ["question.received"])
            self.fetch()
            question, = Question.search([("ml_id", "=", str(asked))])
            self.assertEqual((question.state, question.product, question.text),
                             ("to_answer", mug, "¿Tiene garantía?"))
            self.answer(question, "Sí, 6 meses.")
            self.assertEqual(world.sandbox.state.questions[asked]["answer"]["text"],
                             "Sí, 6 meses.")
            self.await_question(asked, ["question.received", "question.answered"])
            self.fetch()
            question = Question(question.id)
            self.assertEqual((question.state, question.answered_by, question.answer),
                             ("answered", "erp", "Sí, 6 meses."))

            # ML's moderation bans the next one before Tryton hears of it: ML's refusal.
            banned = world.control("questions", {"item_id": MUG_ITEM,
                                                 "text": "¿Precio mayorista?"})["question"]["id"]
            self.await_question(banned, ["question.received"])
            self.fetch()
            world.control(f"questions/{banned}/ban", {})
            question, = Question.search([("ml_id", "=", str(banned))])
            with self.assertRaises(UserError) as refused:
                self.answer(question, "Sí")
            self.assertIn(f"MercadoLibre refused the answer to question {banned}",
                          str(refused.exception))
            self.assertEqual(Question(question.id).state, "to_answer")
            self.await_question(banned, ["question.received", "question.deleted"])
            self.fetch()
            self.assertEqual(Question(question.id).state, "closed")


del DBTestCase
