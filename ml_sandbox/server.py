"""Serving the sandbox: in a background thread (tests, the demo) or in the foreground (CLI)."""

import threading
from types import TracebackType
from typing import Any, Self

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ml_sandbox.app import create_app
from ml_sandbox.faults import Faults
from ml_sandbox.state import SandboxState


class RunningSandbox:
    """A sandbox served on ``url`` by a werkzeug server thread; ``stop()`` (or ``with``) ends it."""

    def __init__(self, app: Flask, server: BaseWSGIServer) -> None:
        self.app = app
        self.state: SandboxState = app.config["STATE"]
        self.faults: Faults = app.config["FAULTS"]
        self._server = server
        self.url = f"http://{server.host}:{server.port}"
        self._thread = threading.Thread(target=server.serve_forever, name="ml-sandbox",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def calls(self, since: float = 0.0) -> list[dict[str, Any]]:
        """Every ML call received (method, path, query, body, time, status), oldest first."""
        return [dict(c) for c in list(self.app.config["CALLS"]) if c["time"] >= since]

    def flush_replications(self) -> list[str]:
        """Apply every pending UP replication now (what ML does a moment after a write);
        returns the user product ids copied to their items."""
        return self.state.apply_due_syncs(everything=True)

    def stop(self) -> None:
        self.state.cancel_timers()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # tests read the calls back through /_sandbox/calls instead


def start_sandbox(state: SandboxState | None = None, *, host: str = "127.0.0.1",
                  port: int = 0, quiet: bool = True) -> RunningSandbox:
    """Start a sandbox on ``port`` (0: a free one) in a background thread; returns at once."""
    app = create_app(state)
    server = make_server(host, port, app, threaded=True,
                         request_handler=_QuietHandler if quiet else None)
    return RunningSandbox(app, server)
