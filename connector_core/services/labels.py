"""Use case: the labels of shipments ready to ship, for the ERP (CONTRACT §5).

Only shipments the connector has announced (an ``order.shipping`` event) can be asked for:
their account says whose token prints them, and an id from anywhere else is refused. ML
prints at most 50 per call, so the ids go in batches of 50 per account, in the order asked.
ML refuses a whole call when one shipment is not printable; that refusal names each such
shipment (:class:`LabelsNotPrintable`), and nothing is returned.
"""

from collections.abc import Sequence

from connector_core.domain.errors import InvalidInput, UnknownAccount
from connector_core.domain.ids import order_id as numeric_id
from connector_core.ports.after_sale import (
    LABEL_FORMATS,
    LABELS_PER_CALL,
    AfterSaleGateway,
    NotAnnounced,
)
from connector_core.ports.unit_of_work import UnitOfWork

MAX_LABELS_PER_REQUEST = 500


def parse_label_request(shipment_ids: Sequence[object], label_format: object) -> list[int]:
    """The distinct shipment ids, in the order given; InvalidInput naming what is wrong."""
    if label_format not in LABEL_FORMATS:
        raise InvalidInput(f"format: expected one of {', '.join(LABEL_FORMATS)}, "
                           f"got {str(label_format)[:40]!r}")
    if not shipment_ids:
        raise InvalidInput("ids: give at least one shipment id")
    if len(shipment_ids) > MAX_LABELS_PER_REQUEST:
        raise InvalidInput(f"ids: at most {MAX_LABELS_PER_REQUEST} shipments per request, "
                           f"got {len(shipment_ids)}")
    parsed = [numeric_id(value, f"ids[{n}]") for n, value in enumerate(shipment_ids)]
    return list(dict.fromkeys(parsed))


def shipment_labels(shipment_ids: Sequence[object], label_format: str, *, uow: UnitOfWork,
                    gateway: AfterSaleGateway) -> list[bytes]:
    """ML's answers, one per batch of at most 50 shipments of one account.

    ``NotAnnounced`` names the shipments the connector does not know;
    :class:`LabelsNotPrintable` the ones ML will not print."""
    wanted = parse_label_request(shipment_ids, label_format)
    with uow:
        owners = uow.shipments.accounts_of(wanted)
        accounts = {a.name: a for a in uow.accounts.list()}
    unknown = [i for i in wanted if i not in owners]
    if unknown:
        raise NotAnnounced("unknown shipment(s) " + ", ".join(map(str, unknown[:20]))
                          + (" ..." if len(unknown) > 20 else "")
                          + ": only shipments announced by an order.shipping event have labels")
    by_account: dict[str, list[int]] = {}
    for shipment_id in wanted:
        by_account.setdefault(owners[shipment_id], []).append(shipment_id)
    files = []
    for name, shipment_list in by_account.items():
        account = accounts.get(name)
        if account is None:
            raise UnknownAccount(f"shipment {shipment_list[0]} belongs to account {name!r}, "
                                 f"which is no longer configured")
        for start in range(0, len(shipment_list), LABELS_PER_CALL):
            batch = shipment_list[start:start + LABELS_PER_CALL]
            files.append(gateway.shipment_labels(account, batch, label_format))
    return files
