"""A one-line counter of the evaluations a long ``chainrule check`` runs on workers.

``chainrule check --workers N`` or ``--executor ADDRESS`` may run for minutes
(a slow function, many inputs). :class:`EvaluationTicker` is called with the
number of evaluations each finished task did (``numerical.executors.with_progress``)
and, on a terminal, rewrites one line of standard error with the count and the
rate, from the first second on (short runs print nothing), then clears it.

>>> import io
>>> out = io.StringIO()
>>> ticker = EvaluationTicker(out, "2 worker processes", live=True, show_after=0.0)
>>> ticker(40); ticker(41)  # the second within 0.2 s of the first: counted, not shown
>>> ticker.close()
>>> "40 evaluations on 2 worker processes" in out.getvalue(), ticker.done, out.getvalue()[-1] == chr(13)
(True, 81, True)
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

__all__ = ["SHOW_AFTER", "EvaluationTicker"]

#: Seconds before the line first appears: a run shorter than this shows nothing.
SHOW_AFTER = 1.0


class EvaluationTicker:
    """Shows ``N evaluations on WHERE (T s, R/s)`` on one terminal line, updated at most 5 times a second.

    ``live`` (default: whether ``out`` is a terminal) false: it only counts, so
    logs and pipes get no control characters. Safe to call from the
    executor's threads.
    """

    def __init__(self, out: TextIO, where: str, live: bool | None = None, show_after: float | None = None):
        self.out = out
        self.where = where
        self.live = bool(out.isatty()) if live is None else live
        self.show_after = SHOW_AFTER if show_after is None else show_after
        self.done = 0
        self.start = time.perf_counter()
        self._shown = -1.0  # when the line was last written
        self._width = 0
        self._lock = threading.Lock()

    def __call__(self, evaluations: int) -> None:
        with self._lock:
            self.done += evaluations
            now = time.perf_counter()
            elapsed = now - self.start
            if not self.live or elapsed < self.show_after or now - self._shown < 0.2:
                return
            self._shown = now
            rate = self.done / elapsed if elapsed > 0 else 0.0
            line = f"  {self.done:,} evaluations on {self.where} ({elapsed:.1f} s, {rate:,.0f}/s)"
            self._width = max(self._width, len(line))
            self.out.write("\r" + line.ljust(self._width))
            self.out.flush()

    def close(self) -> None:
        """Clear the line (the report follows on a clean terminal)."""
        with self._lock:
            if self._width:
                self.out.write("\r" + " " * self._width + "\r")
                self.out.flush()
                self._width = 0
