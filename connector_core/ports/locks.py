"""Named mutual exclusion across the deployment."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

Renew = Callable[[], None]


class Locks(Protocol):
    """Named mutual exclusion across every process of the deployment.

    ``hold`` blocks up to ``wait`` seconds (raising ``TimeoutError``) and keeps the lock at most
    ``ttl`` seconds, so a killed holder cannot block the others for ever. It yields a
    ``renew()`` that gives a live holder ``ttl`` more seconds from now (a heartbeat keeps a
    lock with a short ``ttl`` for as long as its holder lives).
    """

    def hold(self, name: str, *, ttl: float = 60.0,
             wait: float = 30.0) -> AbstractContextManager[Renew]: ...
