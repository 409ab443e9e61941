"""What the connector accepts from outside, whatever the entry point: text it can store and
log, JSON documents it can store, and instants inside a sane window.

Each check here exists because a value that passed the parser broke a later step: a lone
surrogate (``"\\ud800"``, which JSON allows) cannot be encoded for the database or the log;
``NaN`` and ``Infinity`` (which Python's JSON reader allows) are refused by PostgreSQL's
``json``; ``0001-01-01T00:00:00+05:00`` is stored by PostgreSQL but cannot be read back by
Python (it is in year 0); a document nested ten thousand deep overflows every recursive
reader. The entry points refuse such input with a precise message (a 400, or
:class:`~connector_core.domain.errors.InvalidInput`) before anything is applied.
"""

import json
import reprlib
from datetime import UTC, datetime
from typing import Any

from connector_core.domain.errors import InvalidInput

# Instants from outside (ERP ``as_of``, notification ``sent``/``received``) must fall in this
# window: wide enough for any real clock, narrow enough that every database and Python can
# represent the instant in any time zone.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

MAX_DEPTH = 32  # JSON nesting accepted; ML's notifications and the ERP's bodies use 3 at most

_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother = 3, 60, 60
_repr.maxlist = _repr.maxdict = _repr.maxtuple = 4


def shown(value: object) -> str:
    """A short, printable ``repr`` of any value for an error message (never the whole of a
    huge or deeply nested value, never a lone surrogate)."""
    return _repr.repr(value)


def in_window(moment: datetime) -> bool:
    """True when ``moment`` (aware) is between :data:`EARLIEST` and :data:`LATEST`."""
    return EARLIEST <= moment < LATEST


class BadInstant(ValueError):
    """Why a text is not an instant: ``reason`` is ``format``, ``zone`` or ``window``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_instant(text: str) -> datetime:
    """The one reader of instants from outside: ISO-8601 with a time zone (``Z`` or an
    offset) inside the sane window; :class:`BadInstant` says which part is wrong, for the
    caller to word its own error."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInstant("format") from None
    return checked_instant(parsed)


def checked_instant(moment: datetime) -> datetime:
    """``moment`` if it has a time zone and is inside the sane window; :class:`BadInstant`
    otherwise."""
    if moment.utcoffset() is None:
        raise BadInstant("zone")
    if not in_window(moment):
        raise BadInstant("window")
    return moment


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or logged (None: it can)."""
    if "\x00" in value:  # PostgreSQL text cannot hold it
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def _depth_problem(value: Any, max_depth: int) -> str | None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list | tuple):
            continue
        if depth > max_depth:
            return f"is nested deeper than {max_depth} levels"
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children)
    return None


def json_problem(value: Any, *, max_depth: int = MAX_DEPTH, brackets: int | None = None
                 ) -> str | None:
    """Why ``value`` (a parsed JSON document) cannot be stored as JSON (None: it can): too
    deep, a number that is not finite, a string or key that is not valid Unicode, a value
    that is not JSON at all.

    ``brackets`` (how many ``[`` and ``{`` its text holds, when known) skips the depth walk
    for documents that cannot be that deep: the webhook's hot path."""
    if brackets is None or brackets > max_depth:
        problem = _depth_problem(value, max_depth)
        if problem:
            return problem
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (not valid Unicode text)"
    except ValueError:
        return "holds a number that is not finite (NaN or Infinity)"
    except (TypeError, RecursionError):
        return "is not a JSON document"
    return None


def check_text(value: str, what: str) -> str:
    """``value``, or :class:`InvalidInput` naming ``what`` and the problem."""
    problem = text_problem(value)
    if problem:
        raise InvalidInput(f"{what}: {problem}")
    return value
