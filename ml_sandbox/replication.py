"""ML copies a User Product's stock to its items *asynchronously* (ml_api.md §2.5): here
``replication_delay`` seconds after the change (0: at once). A pending copy is applied by a
timer, by any request that arrives after it is due (:mod:`ml_sandbox.app`), or at once by
``POST /_sandbox/replications/flush``; tests wait with that, never with a sleep. The copy reads
the UP's stock when it is applied, so a UP's items always converge to it, whatever raced."""

import threading
from typing import Any

from ml_sandbox.catalog import CatalogRules
from ml_sandbox.common import ml_time

DEFAULT_REPLICATION_DELAY = 0.5  # seconds: "asynchronously", a moment after the write


class ReplicationRules(CatalogRules):
    def _up_of(self, item: dict[str, Any]) -> dict[str, Any] | None:
        return self.user_products.get(item.get("user_product_id") or "")

    def _show_total(self, item: dict[str, Any], total: int) -> bool:
        if item["status"] == "closed" or item["available_quantity"] == total:
            return False
        item["available_quantity"] = total
        self._settle(item)
        item["last_updated"] = ml_time(self.now())
        return True

    def _schedule_sync(self, up_id: str) -> list[dict[str, Any]]:
        """Copy the UP's stock to its items now (delay 0) or after the delay; returns the
        ``items`` notifications of what was copied now."""
        if self.replication_delay <= 0:
            return self._sync(up_id)
        entry = {"user_product_id": up_id, "due": self.clock() + self.replication_delay}
        self.pending_syncs.append(entry)
        self._start_timer(self.replication_delay, entry)
        return []

    def _start_timer(self, delay: float, entry: dict[str, Any]) -> None:
        timer = threading.Timer(delay, self._on_timer, args=(entry,))
        timer.daemon = True
        self.timers = [t for t in self.timers if t.is_alive()] + [timer]
        timer.start()

    def _on_timer(self, entry: dict[str, Any]) -> None:
        self.apply_due_syncs()
        with self.lock:  # woken a hair early (wall clock vs timer clock): wait the rest
            left = entry["due"] - self.clock()
            if entry in self.pending_syncs and 0 < left < 1:
                self._start_timer(left, entry)

    def _sync(self, up_id: str) -> list[dict[str, Any]]:
        up = self.user_products.get(up_id)
        if up is None:
            return []
        total = total_of(up)
        changed = [item for item in self.items.values()
                   if item.get("user_product_id") == up_id and self._show_total(item, total)]
        if not self.wants("items"):
            return []
        return [{"topic": "items", "resource": f"/items/{item['id']}",
                 "user_id": item["seller_id"]} for item in changed]

    def apply_due_syncs(self, *, everything: bool = False,
                        background: bool = False) -> list[str]:
        """Apply the copies that are due (all of them with ``everything``); returns the UP
        ids copied. Notifications go out after the lock is released (on a thread with
        ``background``: a request must not wait for them)."""
        with self.lock:
            now = self.clock()
            due = [p for p in self.pending_syncs if everything or p["due"] <= now]
            if not due:
                return []
            self.pending_syncs = [p for p in self.pending_syncs if p not in due]
            notes: list[dict[str, Any]] = []
            applied: list[str] = []
            for pending in due:
                if pending["user_product_id"] not in applied:
                    applied.append(pending["user_product_id"])
                    notes += self._sync(pending["user_product_id"])
        if background:
            self.emit_later(notes)
        else:
            self.emit(notes)
        return applied

    def pending_sync_view(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.clock()
            return [{"user_product_id": p["user_product_id"],
                     "due_in_ms": max(0, round((p["due"] - now) * 1000))}
                    for p in self.pending_syncs]

    def cancel_timers(self) -> None:
        with self.lock:
            for timer in self.timers:
                timer.cancel()
            self.timers = []


def total_of(up: dict[str, Any]) -> int:
    return sum(int(loc["quantity"]) for loc in up["locations"])
