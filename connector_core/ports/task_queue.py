"""Where dispatched commands run."""

from collections.abc import Sequence
from typing import Protocol

from connector_core.domain.commands import Command
from connector_core.domain.lanes import Lane


class TaskQueue(Protocol):
    """Where dispatched commands run (RQ on Redis, or in-process on a laptop), one queue per
    :class:`~connector_core.domain.lanes.Lane`; runners take urgent work first.

    ``submit`` returns once the command is safely queued or raises ``ConnectionError``. With a
    ``dedup_key``, a job the queue still knows under that key (waiting, running, scheduled for
    a retry, or failed) absorbs the new one, so re-submitting is always safe; ``replace``
    discards that job first (its runner died).
    """

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False, lane: Lane = Lane.BULK) -> None: ...

    def submit_new(self, jobs: Sequence[tuple[Command, str]], *,
                   lane: Lane = Lane.BULK) -> None:
        """Queue ``(command, key)`` pairs that were never queued before in ``lane``, all or
        none (one round trip where the queue allows it): the dispatcher's fast path. Raises
        ``ConnectionError`` when nothing was queued."""
        ...

    def urgent_waiting(self) -> bool:
        """Whether urgent work waits for a runner (a batch of bulk jobs gives way to it);
        False when the queue cannot tell."""
        ...
