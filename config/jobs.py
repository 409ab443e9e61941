"""Entry points RQ runs by dotted path. One :class:`Connector` per process, built on first use
(a forked child builds its own, so no connection crosses a fork)."""

import os
from typing import Any

from adapters.serialization import command_from_json
from config.bootstrap import Connector, build

_connector: Connector | None = None
_pid: int | None = None


def connector() -> Connector:
    global _connector, _pid
    if _connector is None or _pid != os.getpid():
        _connector, _pid = build(), os.getpid()
    return _connector


def use(instance: Connector) -> None:
    """Make ``instance`` this process's connector (the CLI and tests build their own)."""
    global _connector, _pid
    _connector, _pid = instance, os.getpid()


def run_command(payload: dict[str, Any]) -> str:
    return connector().jobs.run(command_from_json(payload))
