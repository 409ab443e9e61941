"""Reconciliation of after-sale work (CONTRACT §1 rule 5): what lost ``shipments`` and
``questions`` notifications missed is re-read at every reconciliation run.

Shipments: every shipment of the account not yet final (delivered, not delivered,
cancelled) and changed in the last ``OPEN_SHIPMENT_DAYS`` days is read again; a status it
reached meanwhile is announced then. Questions: ML's list of the seller's unanswered
questions is compared with the questions the connector holds as open (see
:func:`~connector_core.services.questions.queue_open_questions`). ``/missed_feeds`` brings
back both topics as it does orders.
"""

from datetime import timedelta

from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.clock import Clock
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.questions import queue_open_questions
from connector_core.services.shipments import queue_open_shipments

OPEN_SHIPMENT_DAYS = 30


def reconcile_after_sale(account: str, *, uow: UnitOfWork, gateway: AfterSaleGateway,
                         clock: Clock) -> str:
    shipments = queue_open_shipments(
        account, clock.now() - timedelta(days=OPEN_SHIPMENT_DAYS), uow=uow)
    questions = queue_open_questions(account, uow=uow, gateway=gateway)
    return f"{shipments} open shipment(s) and {questions} question(s) to re-read"
