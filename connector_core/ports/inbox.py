"""ML notifications, stored before the webhook answers."""

from datetime import datetime
from typing import Any, Protocol

from connector_core.domain.notifications import InboxEntry, Notification


class InboxRepository(Protocol):
    """Notifications as ML posted them, stored durably before the webhook answers 200.

    ``add`` deduplicates on (topic, resource) among entries not yet processed: a duplicate
    joins the waiting entry (its ``duplicates`` count grows) and ``add`` returns that entry's
    id with ``False``. Once processed, a new notification for the same resource is new work,
    unless it carries an ML ``_id`` (``Notification.ml_id``) already stored: ML's retries and
    ``/missed_feeds`` repeat the same ``_id``, and those are always duplicates.
    """

    def add(self, notification: Notification, raw: dict[str, Any],
            received_at: datetime) -> tuple[int, bool]: ...

    def get(self, entry_id: int) -> InboxEntry | None: ...

    def mark_processed(self, entry_id: int, outcome: str, at: datetime) -> None: ...

    def unprocessed(self, received_before: datetime, limit: int) -> list[InboxEntry]:
        """Entries still waiting, oldest first (the sweeper re-dispatches these)."""
        ...

    def purge_processed(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` *processed* entries received and processed before
        ``before``, oldest first; how many were deleted (retention). A waiting entry is
        never deleted, however old: it is work not done yet (rule 5). Ids are never reused.

        Once an entry is gone, a later notification with its ML ``_id`` counts as new: it
        is processed again, which is harmless (the resource is re-read and applied
        idempotently) and happens only past ML's redelivery window (hours, not days)."""
        ...


class NotificationIntake(Protocol):
    """The webhook's one write before it answers 200: store a notification and queue its
    processing, atomically.

    Deduplicates exactly as :meth:`InboxRepository.add`; a new entry gets its
    ``ProcessNotification`` job in the same commit, a duplicate gets none. Returns
    ``(inbox_id, is_new)``. Durable when it returns. ``received_at`` is the receiver's clock.
    """

    def receive(self, notification: Notification, raw: dict[str, Any]) -> tuple[int, bool]: ...
