"""attrs validators shared by the domain classes.

Timestamps must carry a time zone: naive ones are ambiguous across ERP and ML clocks.
"""

from datetime import datetime


def _check(attribute: object, value: object) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{getattr(attribute, 'name', 'timestamp')} must be a datetime with a "
                         f"time zone, got {value!r}")


def aware(_instance: object, attribute: object, value: datetime) -> None:
    _check(attribute, value)


def aware_or_none(_instance: object, attribute: object, value: datetime | None) -> None:
    if value is not None:
        _check(attribute, value)
