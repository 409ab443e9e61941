"""Named mutual exclusion across the deployment."""

from contextlib import AbstractContextManager
from typing import Protocol


class Locks(Protocol):
    """Named mutual exclusion across every process of the deployment.

    ``hold`` blocks up to ``wait`` seconds (raising ``TimeoutError``) and keeps the lock at most
    ``ttl`` seconds, so a killed holder cannot block the others for ever.
    """

    def hold(self, name: str, *, ttl: float = 60.0,
             wait: float = 30.0) -> AbstractContextManager[None]: ...
