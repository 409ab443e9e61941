"""Use case: forget the rows nothing needs any more (retention).

What grows with traffic, and what this purges:

* ``inbox``: every ML notification. A *processed* entry is only a record of what arrived;
  it is deleted once it is older than ``inbox_days``. A waiting entry is work not done yet
  and is never deleted, however old (rule 5).
* ``audit_log``: one row per push sent, skipped or rejected; deleted after ``audit_days``.
* ``erp_events``: the ERP's order feed; deleted after ``erp_events_days`` only when the
  operator turns it on (the connector cannot tell which cursor the ERP has read, and the
  feed promises that re-reading from an older cursor sees the events again).

What is kept for ever, on purpose: ``orders`` (one row per order id: its ``last_updated``,
the events already emitted and ``accounted_at`` are what make a late or replayed order,
notification or "accounted" call change nothing, rules 3 and 4; ML may update an order months
later), ``holds`` (they go when the ERP has accounted for the order and reported the SKU, or
the order is cancelled; an old hold that is still there still counts, rule 3), and the rows of
the ``jobs`` table (a done job's row is deleted when it completes; what stays is waiting,
running, or a dead letter whose work was never done).

Each batch is its own short unit of work, so a purge never holds locks for long while the
webhook and the workers write. A run stops after ``max_batches`` per table and says so
(``complete`` False); the next run carries on.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from attrs import field, frozen

from connector_core.ports.clock import Clock
from connector_core.ports.unit_of_work import UnitOfWork

BATCH_SIZE = 1000
MAX_BATCHES = 20


def _days(_instance: object, attribute: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        name = getattr(attribute, "name", "days")
        raise ValueError(f"{name} must be a whole number of days >= 0 (0 keeps the rows "
                         f"for ever), got {value!r}")


@frozen(kw_only=True)
class Retention:
    """How many days each kind of row is kept; 0 keeps it for ever."""

    inbox_days: int = field(default=30, validator=_days)
    audit_days: int = field(default=90, validator=_days)
    erp_events_days: int = field(default=0, validator=_days)


DEFAULT_RETENTION = Retention()


@frozen(kw_only=True)
class PurgeResult:
    inbox: int = 0
    audit: int = 0
    erp_events: int = 0
    complete: bool = True  # False: a table still had rows past its retention when it stopped

    @property
    def total(self) -> int:
        return self.inbox + self.audit + self.erp_events


def _purge_table(purge: Callable[[UnitOfWork, datetime, int], int], before: datetime, *,
                 uow: UnitOfWork, batch_size: int, max_batches: int) -> tuple[int, bool]:
    """Call ``purge`` in its own unit of work per batch until a batch comes back short;
    how many rows went, and whether none is left."""
    deleted = 0
    for _ in range(max_batches):
        with uow:
            n = purge(uow, before, batch_size)
            uow.commit()
        deleted += n
        if n < batch_size:
            return deleted, True
    return deleted, False


def purge_expired(retention: Retention, *, uow: UnitOfWork, clock: Clock,
                  batch_size: int = BATCH_SIZE,
                  max_batches: int = MAX_BATCHES) -> PurgeResult:
    """Delete, in batches of ``batch_size``, the rows older than their retention.

    A row exactly as old as its retention is kept (the cut is strictly before
    ``now - days``). Returns how many rows of each kind went.
    """
    if batch_size < 1 or max_batches < 1:
        raise ValueError("batch_size and max_batches must be >= 1")
    now = clock.now()
    plans: list[tuple[str, int, Callable[[UnitOfWork, datetime, int], int]]] = [
        ("inbox", retention.inbox_days, lambda u, c, n: u.inbox.purge_processed(c, n)),
        ("audit", retention.audit_days, lambda u, c, n: u.audit.purge(c, n)),
        ("erp_events", retention.erp_events_days, lambda u, c, n: u.erp_feed.purge(c, n)),
    ]
    counts = {"inbox": 0, "audit": 0, "erp_events": 0}
    complete = True
    for name, days, purge in plans:
        if days == 0:
            continue
        counts[name], done = _purge_table(purge, now - timedelta(days=days), uow=uow,
                                          batch_size=batch_size, max_batches=max_batches)
        complete = complete and done
    return PurgeResult(complete=complete, **counts)
