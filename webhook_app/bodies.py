"""Request bodies as JSON the connector can store: the one reader of every route's body.

Flask's own reader accepts ``NaN`` and ``Infinity``, lone surrogates and any nesting, and
raises ``RecursionError`` (a 500) on a deep enough document. This one answers every body with
a value or :class:`BadBody` (a 400 naming the problem); see
:mod:`connector_core.domain.inputs` for why each check exists.
"""

import json
from typing import Any

from connector_core.domain.inputs import json_problem


class BadBody(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise BadBody(f"the body holds {name}, which is not JSON")


def parse_json(data: bytes) -> Any:
    """The JSON document in ``data``, checked to be storable; :class:`BadBody` otherwise."""
    if not data:
        raise BadBody("the body is empty: expected JSON")
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except BadBody:
        raise
    except RecursionError:
        raise BadBody("the body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError, bad UTF-8, a huge integer
        raise BadBody("the body is not JSON") from None
    problem = json_problem(value, brackets=data.count(b"[") + data.count(b"{"))
    if problem:
        raise BadBody(f"the body {problem}")
    return value
