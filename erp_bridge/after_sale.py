"""The ERP's after-sale hooks (CONTRACT §5-§6): shipment labels and answers to buyers'
questions. Both call ML while the ERP waits (a label to print, an answer's outcome), unlike
the stock and price hooks whose work happens in jobs."""

from collections.abc import Callable, Sequence

from connector_core.domain import ids
from connector_core.domain.questions import Question, QuestionEventType
from connector_core.ports.after_sale import AfterSaleGateway
from connector_core.ports.unit_of_work import UnitOfWork
from connector_core.services.labels import shipment_labels
from connector_core.services.questions import answer_question
from erp_bridge.labels import LabelFile, label_file


class AfterSaleHooks:
    """Mixed into :class:`erp_bridge.ErpBridge`."""

    _uow: Callable[[], UnitOfWork]
    _after_sale: Callable[[], AfterSaleGateway] | None

    def _gateway(self) -> AfterSaleGateway:
        if self._after_sale is None:
            raise RuntimeError("this bridge was built without an ML gateway")
        return self._after_sale()

    def shipment_labels(self, shipment_ids: Sequence[int | str],
                        label_format: str = "pdf") -> LabelFile:
        """The labels of shipments ready to ship, as one file (``pdf``, or ``zpl2``: the
        ZPL text). ``NotAnnounced`` names shipments the connector has not announced,
        ``LabelsNotPrintable`` the ones ML will not print (``.refusals``)."""
        files = shipment_labels(list(shipment_ids), label_format, uow=self._uow(),
                                gateway=self._gateway())
        return label_file(files, label_format)

    def answer_question(self, question_id: int | str,
                        text: str) -> tuple[Question, list[QuestionEventType]]:
        """Answer a buyer's question on ML; ``question.answered`` follows in the feed.
        ``NotAnnounced`` for a question the connector has not announced,
        ``MarketplaceRejected`` (ML's message) when ML refuses (already answered, under
        review, banned, deleted)."""
        number = ids.order_id(question_id, "question_id")
        return answer_question(number, text, uow=self._uow(), gateway=self._gateway())
