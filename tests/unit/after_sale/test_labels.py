"""Labels: ids checked, batches of 50 per account in the order asked, ML's files joined into
one (PDF pages, or the ZPL out of ML's ZIP), and refusals named."""

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from connector_core.domain.accounts import Account
from connector_core.domain.errors import InvalidInput
from connector_core.domain.shipments import Shipment, ShipmentRecord
from connector_core.ports.after_sale import LabelsNotPrintable, NotAnnounced
from connector_core.services.labels import shipment_labels
from erp_bridge.labels import label_file
from tests.fakes import FakeUnitOfWork, Store
from tests.fakes_after_sale import FakeAfterSale, pdf_pages, zpl_zip

T = datetime(2026, 12, 4, tzinfo=UTC)


def ready(shipment_id: int, account: str, status: str = "ready_to_ship") -> Shipment:
    return Shipment(id=shipment_id, account=account, status=status, last_updated=T)


@pytest.fixture
def world() -> tuple[FakeUnitOfWork, FakeAfterSale]:
    shipments = [ready(i, "a" if i < 200 else "b") for i in range(100, 300)]
    shipments.append(ready(999, "a", "handling"))
    uow = FakeUnitOfWork(Store(accounts={"a": Account("a", 1, "MLA"),
                                         "b": Account("b", 2, "MLA")}))
    with uow:
        for s in shipments:
            uow.shipments.save(ShipmentRecord(s.id, s.account, shipment=s))
        uow.commit()
    return uow, FakeAfterSale(shipments)


def test_batches_of_fifty_per_account_in_the_order_asked(world):
    uow, ml = world
    wanted = [*range(100, 175), *range(200, 230), 100]  # a duplicate is printed once
    files = shipment_labels(wanted, "pdf", uow=uow, gateway=ml)
    assert [len(call) for call in ml.label_calls] == [50, 25, 30]
    assert ml.label_calls[0][0] == 100 and ml.label_calls[2] == list(range(200, 230))
    joined = label_file(files, "pdf")
    assert joined.content_type == "application/pdf" and joined.content.startswith(b"%PDF")
    assert len(PdfReader(io.BytesIO(joined.content)).pages) == 105


def test_zpl_comes_out_of_mls_zip_as_one_text():
    joined = label_file([zpl_zip([1, 2]), zpl_zip([3]), b"^XA^FD4^FS^XZ"], "zpl2")
    assert joined.content.count(b"^XA") == 4 and joined.content_type.startswith("text/plain")
    assert label_file([pdf_pages(2)], "pdf").content == pdf_pages(2)  # one call: ML's file


@pytest.mark.parametrize(("ids", "label_format", "message"), [
    ([], "pdf", "at least one"), (["abc"], "pdf", "ids[0]"), ([0], "pdf", "ids[0]"),
    ([100], "png", "format"), (list(range(1, 502)), "pdf", "at most 500")])
def test_bad_requests_name_the_field(world, ids, label_format, message):
    uow, ml = world
    with pytest.raises(InvalidInput) as err:
        shipment_labels(ids, label_format, uow=uow, gateway=ml)
    assert message in str(err.value) and ml.label_calls == []


def test_unknown_and_unprintable_shipments_are_named(world):
    uow, ml = world
    with pytest.raises(NotAnnounced) as unknown:
        shipment_labels([100, 5], "pdf", uow=uow, gateway=ml)
    assert "5" in str(unknown.value) and ml.label_calls == []
    with pytest.raises(LabelsNotPrintable) as refused:
        shipment_labels([100, 999], "pdf", uow=uow, gateway=ml)
    assert [r.shipment_id for r in refused.value.refusals] == [999]
