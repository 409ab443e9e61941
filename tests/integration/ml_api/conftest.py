import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ml_sandbox import RunningSandbox, start_sandbox
from tests import processes

ROOT = Path(__file__).parents[3]


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox() as running:
        yield running


def spawn_workers(configs: list[dict[str, Any]]) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return [subprocess.Popen([sys.executable, "-m", "tests.integration.ml_api.worker",
                              json.dumps(c)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for c in configs]


def collect(workers: list[subprocess.Popen[str]], timeout: float = 60) -> list[dict[str, Any]]:
    """Each worker's last line (JSON); every worker is stopped and reaped, also on failure."""
    results = []
    try:
        for process in workers:
            out, err = process.communicate(timeout=timeout)
            assert process.returncode == 0, f"worker failed:\n{err}"
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in workers:
            processes.stop(process, timeout=5)
    return results


def wait_until(condition: Callable[[], Any], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.01)


class Callback:
    """A tiny HTTP server receiving notifications; answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []

        @Request.application
        def app(request: Request) -> Response:
            self.received.append(json.loads(request.get_data()))
            return Response("ok", status=self.status)

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}/notifications"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The notifications received once there are ``count`` of them (or fail)."""
        wait_until(lambda: len(self.received) >= count, timeout,
                   f"{count} notifications, got {self.received}")
        return list(self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def callback() -> Iterator[Callback]:
    receiver = Callback()
    yield receiver
    receiver.stop()
