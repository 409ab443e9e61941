"""ML ids, checked wherever they enter the connector.

An item id, a variation id or an order id ends up in a URL path (``/items/{id}``,
``/orders/{id}``): one such as ``../../users/me?x=`` would turn a read of an item into a call
to another endpoint with the seller's token. So every entry point (the admin's files, the
ERP's routes and hooks, the CLI, the notifications it routes) checks them with these
functions, and the ML adapter refuses to build a URL from an id they would refuse.

``[0-9]`` and not ``\\d``: Python's ``\\d`` (and ``str.isdigit``) also take other scripts'
digits and superscripts (``²``), which ``int()`` then reads differently or refuses.
"""

import re

from connector_core.domain.errors import InvalidInput
from connector_core.domain.limits import BIGINT_MAX, MAX_NAME_LENGTH

ITEM_ID = re.compile(rf"[A-Z]{{3}}[0-9]{{1,{MAX_NAME_LENGTH - 3}}}")  # MLA1234567890
NUMERIC_ID = re.compile(r"[0-9]{1,19}")  # a positive BIGINT, as text


def is_item_id(value: object) -> bool:
    """``MLA1234567890``: a site's three capital letters and digits, nothing else."""
    return isinstance(value, str) and ITEM_ID.fullmatch(value) is not None


def _numeric(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and NUMERIC_ID.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= BIGINT_MAX else None


def is_numeric_id(value: object) -> bool:
    """A variation or order id: a whole number from 1 to 2**63 - 1 (an int, or its digits)."""
    return _numeric(value) is not None


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str | int) else type(value).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def item_id(value: object, what: str = "item_id") -> str:
    """``value`` if it is an ML item id, else :class:`InvalidInput` naming ``what``."""
    if not is_item_id(value):
        raise InvalidInput(f"{what}: expected an ML item id (three capital letters and "
                           f"digits, e.g. MLA1234567890), got {_shown(value)}")
    assert isinstance(value, str)
    return value


def variation_id(value: object, what: str = "variation_id") -> int:
    number = _numeric(value)
    if number is None:
        raise InvalidInput(f"{what}: expected an ML variation id (a whole number >= 1), "
                           f"got {_shown(value)}")
    return number


def order_id(value: object, what: str = "order_id") -> int:
    number = _numeric(value)
    if number is None:
        raise InvalidInput(f"{what}: expected an ML order id (digits), got {_shown(value)}")
    return number
