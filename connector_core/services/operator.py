"""Use cases: what an operator asks for now (the console's buttons), as jobs the runtime
runs like any other: a push of one item, a reconciliation of every account."""

from connector_core.domain.commands import PushItem, Reconcile
from connector_core.domain.errors import InvalidInput
from connector_core.ports.unit_of_work import UnitOfWork


def queue_push(account: str, item_id: str, *, uow: UnitOfWork) -> None:
    """Queue a push of ``item_id``; :class:`InvalidInput` when no active mapping row sells
    it (nothing is queued then)."""
    with uow:
        if not any(r.active for r in uow.mappings.rows_for_item(account, item_id)):
            raise InvalidInput(f"{account}/{item_id} has no active mapping row")
        uow.jobs.add(PushItem(account, item_id))
        uow.commit()


def queue_reconcile_all(*, uow: UnitOfWork) -> list[str]:
    """Queue a reconciliation of every account, in one commit; the accounts' names."""
    with uow:
        names = [a.name for a in uow.accounts.list()]
        for name in names:
            uow.jobs.add(Reconcile(name))
        uow.commit()
    return names
