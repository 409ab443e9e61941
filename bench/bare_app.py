"""The baseline of ``bench/webhook_ack.py``: a Flask endpoint that only parses the JSON body,
served by the same gunicorn settings as ``meli-connector serve``."""

import sys
from pathlib import Path
from typing import Any

from flask import Flask, request
from gunicorn.app.base import BaseApplication

app = Flask(__name__)


@app.post("/notifications")
def notifications() -> tuple[str, int]:
    if request.get_json(silent=True) is None:
        return "", 400
    return "", 200


class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """``bind workers threads`` as ``meli-connector serve`` sets them, access log on stdout."""

    def __init__(self, bind: str, workers: int, threads: int) -> None:
        self.options = {"bind": bind, "workers": workers, "threads": threads, "accesslog": "-"}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return app


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    host, port, workers, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    Server(f"{host}:{port}", int(workers), int(threads)).run()
