"""Progress of a long run of function evaluations, with a running estimate of its cost.

The finite-difference phase of the demo calls the loss once per perturbation:
2N+1 calls for N parameters. :class:`EvaluationProgress` wraps the function
(it counts calls, and knows nothing of how finite differences are computed)
and shows evaluations done/total with the estimated total time and how many
times the cost of one backprop gradient that is.

>>> import io
>>> out = io.StringIO()
>>> progress = EvaluationProgress(total=8, backprop_seconds=1e-3, out=out, live=False)
>>> square = progress.wrap(lambda x: x * x)
>>> [square(k) for k in range(8)][-1], progress.calls
(49, 8)
>>> progress.close()
>>> out.getvalue().count("evaluations") >= 1
True
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["EvaluationProgress"]


class EvaluationProgress:
    """Counts calls of a wrapped function and shows how far along they are.

    Parameters
    ----------
    total
        The number of calls expected (2N+1 for central differences).
    backprop_seconds
        The time of one backprop gradient, for the running "x times backprop".
    out
        Where plain progress lines go (default ``sys.stdout``).
    live
        A live bar (rich) when true; ``None`` chooses one when ``out`` is a
        terminal and rich is installed. Otherwise a plain line at each quarter,
        so logs and CI show progress without control characters.
    """

    def __init__(
        self, total: int, backprop_seconds: float, out: TextIO | None = None, live: bool | None = None
    ) -> None:
        self.total = max(int(total), 1)
        self.backprop_seconds = backprop_seconds
        self.calls = 0
        self._out = out if out is not None else sys.stdout
        self._start = time.perf_counter()
        self._stride = max(1, self.total // 500)  # refresh often enough to look alive, cheaply
        self._next_quarter = 1
        self._bar: Any = None
        self._task: Any = None
        if live is None:
            live = bool(getattr(self._out, "isatty", lambda: False)())
        if live:
            self._start_bar()

    def _start_bar(self) -> None:
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        except ImportError:  # rich is in the demo extra; plain lines without it
            return
        self._bar = Progress(
            TextColumn("finite differences"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[estimate]}"),
            console=Console(file=self._out),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("fd", total=self.total, estimate="")

    def estimate(self) -> str:
        """The running estimate: total time at the current rate, and that over one backprop."""
        elapsed = time.perf_counter() - self._start
        if self.calls == 0:
            return ""
        total_seconds = elapsed / self.calls * self.total
        ratio = total_seconds / self.backprop_seconds if self.backprop_seconds > 0 else float("inf")
        return f"~{total_seconds:.1f} s in all (~{ratio:,.0f}x backprop)"

    def wrap(self, f: Callable[..., Any]) -> Callable[..., Any]:
        """``f`` unchanged, except that each call is counted and shown."""

        def counted(*args: Any, **kwargs: Any) -> Any:
            value = f(*args, **kwargs)
            self.calls += 1
            if self.calls % self._stride == 0 or self.calls == self.total:
                self._show()
            return value

        return counted

    def advance(self, k: int) -> None:
        """Count ``k`` evaluations made elsewhere (a batch finished on a worker)."""
        self.calls += k
        self._show()

    def _show(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=min(self.calls, self.total), estimate=self.estimate())
            return
        if self._next_quarter <= 3 and self.calls * 4 >= self._next_quarter * self.total:
            print(f"  ... {self.calls}/{self.total} evaluations, {self.estimate()}", file=self._out)
            self._next_quarter += 1

    def close(self) -> None:
        """Remove the live bar (the caller prints the result)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
