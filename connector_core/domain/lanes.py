"""Lanes: work caused by a sale runs ahead of bulk work.

A sale or a cancellation (routing its notification, reading the order, the pushes it causes,
its ERP events) is :attr:`Lane.URGENT`: it moves the seller's other listings while the same
last unit can still sell twice. Everything else (ERP reports, ``sync``, reconciliation's
re-pushes, catalog tools) is :attr:`Lane.BULK`. Each lane is its own task queue, and a worker
takes urgent work first; the shared ML rate limiter lets an urgent call take the next slot.
"""

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from connector_core.domain.commands import Command, ProcessNotification, SyncOrder


class Lane(enum.StrEnum):
    URGENT = "urgent"
    BULK = "bulk"


LANES: tuple[Lane, ...] = (Lane.URGENT, Lane.BULK)  # the order workers take them in


def default_lane(command: Command) -> Lane:
    """A command's lane when its use case does not say: routing a notification (a sale's
    first step, and no call to ML) and reading an order are urgent; a push is bulk unless the
    sale that caused it says so."""
    return Lane.URGENT if isinstance(command, ProcessNotification | SyncOrder) else Lane.BULK


_running: ContextVar[Lane] = ContextVar("connector_lane", default=Lane.BULK)


def running_lane() -> Lane:
    """The lane of the job this thread runs (bulk outside a job: the CLI's catalog tools)."""
    return _running.get()


@contextmanager
def in_lane(lane: Lane) -> Iterator[None]:
    """Run the block as work of ``lane`` (the job runtime wraps each job's handler)."""
    token = _running.set(lane)
    try:
        yield
    finally:
        _running.reset(token)
