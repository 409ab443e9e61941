"""CSV cells that a spreadsheet would run as a formula, neutralised on write and restored on read.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a
single quote in front (spreadsheets show it as text, never evaluate it). So that every value
round-trips, a cell that is already quotes followed by one of those characters gets one more
quote, and reading removes exactly one quote from any cell of that shape: ``-5`` is written
``'-5`` and read back ``-5``; ``'=A1`` is written ``''=A1`` and read back ``'=A1``.
"""

import re

_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")


def neutralise(cell: str) -> str:
    """``cell`` as written to a CSV the admin may open in a spreadsheet."""
    return "'" + cell if _NEEDS_QUOTE.match(cell) else cell


def restore(cell: str) -> str:
    """The value a cell written by :func:`neutralise` (or typed by the admin) stands for."""
    return cell[1:] if _QUOTED.match(cell) else cell
