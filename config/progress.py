"""Progress of the long commands (``sync --all``, ``mappings verify``, ``mappings discover``)
on stderr, never on stdout (which scripts parse: CSV, JSON, findings).

On a terminal, a tqdm bar. Otherwise (a log file, a pipe, cron) a plain line when another
tenth of the work is done or ``every_seconds`` have passed since the last line, and one at
the end: ``discover: 4000/10000 items read (40%)``. The use cases only call
``progress(done, total)``; nothing in connector_core knows how it is shown.
"""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from tqdm import tqdm


class ProgressLine:
    """A ``(done, total)`` callback that draws a bar on a terminal or writes plain lines."""

    def __init__(self, what: str, unit: str, stream: TextIO | None = None, *,
                 every_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._what, self._unit = what, unit
        self._stream = stream if stream is not None else sys.stderr
        self._every, self._clock = every_seconds, clock
        self._bar: Any = None
        self._last_tenth = 0
        self._last_at = clock()
        self._finished = False

    def __call__(self, done: int, total: int) -> None:
        if self._finished:
            return
        done = max(0, min(done, total))
        if self._stream.isatty():
            self._draw(done, total)
        else:
            self._line(done, total)
        if done >= total:
            self.close()

    def _draw(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self._what, unit=f" {self._unit}",
                             file=self._stream, dynamic_ncols=True, leave=True)
        self._bar.total = total
        self._bar.update(done - self._bar.n)

    def _line(self, done: int, total: int) -> None:
        tenth = done * 10 // total if total else 10
        now = self._clock()
        if tenth > self._last_tenth or now - self._last_at >= self._every or done >= total:
            self._last_tenth, self._last_at = tenth, now
            share = done / total if total else 1.0
            print(f"{self._what}: {done}/{total} {self._unit} ({share:.0%})",
                  file=self._stream, flush=True)

    def close(self) -> None:
        """End the bar (a terminal's line stays); later calls show nothing."""
        self._finished = True
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextmanager
def progress_line(what: str, unit: str) -> Iterator[ProgressLine]:
    """A :class:`ProgressLine` on stderr, its bar closed however the block ends."""
    line = ProgressLine(what, unit)
    try:
        yield line
    finally:
        line.close()
