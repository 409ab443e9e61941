"""Injected trouble for the sandbox: forced answers, random 429/5xx, latency, a rate cap."""

import json
import random
import threading
from collections import deque
from typing import Any

from flask import Response

from ml_sandbox.errors import SERVER_ERRORS, TOO_MANY_REQUESTS


class Faults:
    """Injected trouble: a queue of forced answers, random 429/5xx, latency, a rate cap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.forced: deque[dict[str, Any]] = deque()
        self.rate_429 = 0.0
        self.rate_5xx = 0.0
        self.latency_ms = 0.0
        self.path_latency_ms: dict[str, float] = {}  # path prefix -> extra latency
        self.rate_cap: int | None = None
        self.random = random.Random()
        self.arrivals: deque[float] = deque()

    def configure(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.forced.extend(data.get("next", []))
            self.rate_429 = float(data.get("rate_429", self.rate_429))
            self.rate_5xx = float(data.get("rate_5xx", self.rate_5xx))
            self.latency_ms = float(data.get("latency_ms", self.latency_ms))
            if "path_latency_ms" in data:
                slow = data["path_latency_ms"]
                if not isinstance(slow, dict) or not all(
                        isinstance(k, str) and isinstance(v, int | float)
                        and not isinstance(v, bool) and v >= 0 for k, v in slow.items()):
                    raise ValueError("path_latency_ms maps path prefixes to milliseconds >= 0")
                self.path_latency_ms = {k: float(v) for k, v in slow.items()}
            if "rate_cap" in data:
                self.rate_cap = int(data["rate_cap"]) if data["rate_cap"] else None
            if "seed" in data:
                self.random.seed(data["seed"])

    def latency(self, method: str, path: str) -> float:
        """Seconds to wait before answering ``method path`` (``latency_ms`` for every
        call, plus ``path_latency_ms`` for a GET whose path starts with a given prefix)."""
        with self.lock:
            extra = max((ms for prefix, ms in self.path_latency_ms.items()
                         if method == "GET" and path.startswith(prefix)), default=0.0)
            return (self.latency_ms + extra) / 1000

    def verdict(self, path: str, now: float) -> dict[str, Any] | None:
        """The forced answer for this request, if any (decided under the lock)."""
        with self.lock:
            self.arrivals.append(now)
            while self.arrivals and self.arrivals[0] <= now - 1.0:
                self.arrivals.popleft()
            if self.rate_cap is not None and len(self.arrivals) > self.rate_cap:
                return {"status": 429, "empty": True}
            for index, fault in enumerate(self.forced):
                if not fault.get("path") or path.startswith(fault["path"]):
                    del self.forced[index]
                    return fault
            roll = self.random.random()
            if roll < self.rate_429:
                return {"status": 429, "empty": self.random.random() < 0.5}
            if roll < self.rate_429 + self.rate_5xx:
                return {"status": self.random.choice([500, 502, 503, 504])}
            return None


def fault_response(fault: dict[str, Any], path: str) -> Response:
    status = int(fault.get("status", 503))
    if status == 429 and path == "/oauth/token":  # the OAuth server's own shape
        body = json.dumps({"error_description": "try again in a few seconds",
                           "error": "local_rate_limited", "status": 429, "cause": []})
    elif status == 429:
        body = "" if fault.get("empty") else json.dumps(TOO_MANY_REQUESTS)
    else:
        error, message = SERVER_ERRORS.get(status, ("internal_server_error", "Error"))
        body = json.dumps({"message": message, "error": error, "status": status, "cause": []})
    response = Response(body, status=status, mimetype="application/json")
    if fault.get("retry_after") is not None:
        response.headers["Retry-After"] = str(fault["retry_after"])
    return response
