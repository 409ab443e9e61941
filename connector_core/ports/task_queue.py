"""Where dispatched commands run."""

from collections.abc import Sequence
from typing import Protocol

from connector_core.domain.commands import Command


class TaskQueue(Protocol):
    """Where dispatched commands run (RQ on Redis, or in-process on a laptop).

    ``submit`` returns once the command is safely queued or raises ``ConnectionError``. With a
    ``dedup_key``, a job the queue still knows under that key (waiting, running, scheduled for
    a retry, or failed) absorbs the new one, so re-submitting is always safe; ``replace``
    discards that job first (its runner died).
    """

    def submit(self, command: Command, *, dedup_key: str | None = None,
               replace: bool = False) -> None: ...

    def submit_new(self, jobs: Sequence[tuple[Command, str]]) -> None:
        """Queue ``(command, key)`` pairs that were never queued before, all or none (one
        round trip where the queue allows it): the dispatcher's fast path. Raises
        ``ConnectionError`` when nothing was queued."""
        ...
