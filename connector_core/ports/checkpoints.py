"""Reconciliation checkpoints."""

from datetime import datetime
from typing import Protocol


class CheckpointRepository(Protocol):
    """Reconciliation checkpoints, e.g. ``("main", "orders")`` -> last window end."""

    def get(self, account: str, name: str) -> datetime | None: ...

    def set(self, account: str, name: str, at: datetime) -> None: ...
