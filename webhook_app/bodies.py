"""Request bodies as JSON the connector can store: the one reader of every route's body.

Flask's own reader accepts ``NaN`` and ``Infinity``, lone surrogates and any nesting, and
raises ``RecursionError`` (a 500) on a deep enough document. This one answers every body with
a value or :class:`BadBody` (a 400 naming the problem); see
:mod:`connector_core.domain.inputs` for why each check exists.
"""

import json
import re
from typing import Any

from connector_core.domain.inputs import MAX_DEPTH, json_problem


class BadBody(ValueError):
    pass


# What can make a parsed document unstorable, as it shows in the body's bytes: a surrogate's
# escape (``\ud800``), an exponent or a run of digits that overflows a float to infinity,
# more brackets than the depth allowed. A body with none of them (every real notification)
# skips the full check: the webhook answers ML within 500 ms and this is its hot path.
_SUSPECT = re.compile(rb"\\u[dD][89a-fA-F]|[eE]\+?[0-9]{3}|[0-9]{300}")


def _refuse_constant(name: str) -> Any:
    raise BadBody(f"the body holds {name}, which is not JSON")


def parse_json(data: bytes) -> Any:
    """The JSON document in ``data``, checked to be storable; :class:`BadBody` otherwise.

    The body must be UTF-8 (strictly: Python's reader would also take UTF-16 and encoded
    surrogates)."""
    if not data:
        raise BadBody("the body is empty: expected JSON")
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except BadBody:
        raise
    except RecursionError:
        raise BadBody("the body is nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise BadBody(f"the body is not UTF-8 text (byte {exc.start})") from None
    except ValueError:  # JSONDecodeError, an integer too long to read
        raise BadBody("the body is not JSON") from None
    brackets = data.count(b"[") + data.count(b"{")
    if brackets > MAX_DEPTH or _SUSPECT.search(data):
        problem = json_problem(value)
        if problem:
            raise BadBody(f"the body {problem}")
    return value
