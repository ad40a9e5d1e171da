"""One finite-difference derivative of order ``n`` along one line, by any method.

:func:`difference` returns the ``n``-th derivative of ``t -> f(x0 + t d)`` at
``t = 0`` for every output element (the caller divides by ``h**n`` to get
the derivative in ``x``), an estimate of its error, a status and a note.
The error estimate is

* for stencils: truncation ``max(2 / (2**order - 1), 1) |D(h) - D(2h)|``
  (at least twice the leading error term, from a second step twice as large;
  at least the whole difference, which is mostly noise where rounding inside
  f dominates) plus rounding ``2 eps sum|w_k f_k| / h**n``;
* for Richardson: the difference between the last two extrapolations plus
  the rounding of the smallest step;
* for the adaptive method: see :mod:`.adaptive`;
* for the complex step: rounding only (there is no subtraction, and the
  truncation ``h**2 f''' / 6`` is below rounding at ``h = 1e-20``).
  Four real evaluations (central differences at two steps) check that the
  function is complex-analytic (``x * abs(x)`` accepts complex input and
  fools the complex step).

Near the edge of a function's domain (a non-finite value on one side of
the point only) the symmetric stencils switch to the one-sided stencil of
the same order on the other side, and say so in the note; a non-finite
value on both sides raises :class:`~chainrule.numerical.NonFiniteError`.
"""

from __future__ import annotations

import numpy as np

from .adaptive import adaptive
from .line import Line, LineResult
from .richardson import extrapolate
from .stencils import RICHARDSON_LEVELS, Stencil, make_stencil, method_stencil
from .steps import scale_of

__all__ = ["LineResult", "difference"]


def difference(
    line: Line,
    method: str,
    n: int = 1,
    *,
    estimate: bool,
    accuracy: int | None = None,
    tolerance: tuple[float, float] | None = None,
    unit: np.ndarray | float = 1.0,
    plan: tuple[float, int] = (2.0, 14),
) -> LineResult:
    """(derivative, error estimate or None, status, note) of ``t -> f(x0 + t d)`` at 0, in units of t.

    ``unit`` (the step ``h`` per output element) only scales the tolerance
    of the adaptive method into units of ``t``; ``plan`` is its (ratio,
    levels) of steps (see :func:`.adaptive.plan_steps`).
    """
    if method == "complex":
        return _complex(line)
    if method == "adaptive":
        return adaptive(line, n, ratio=plan[0], levels=plan[1], tolerance=tolerance, unit=unit)
    if method == "richardson":
        return _richardson(line, n)
    return _stencil(line, method_stencil(method, n, accuracy), estimate)


def _points(stencil: Stencil, scales: list[float]) -> list[float]:
    return [k * s for s in scales for k in stencil.offsets if k != 0]


def _first_nonfinite(line: Line, ts: list[float]) -> list[float]:
    return [t for t, y in zip(ts, line.values(ts)) if not np.all(np.isfinite(y))]


def _one_sided(line: Line, stencil: Stencil, scales: list[float]) -> tuple[Stencil, str]:
    """The stencil to use after a look at the values at ``scales`` (multiples of the step).

    A symmetric stencil whose points are non-finite on one side only becomes the one-sided
    stencil of the same order on the other side; every point used is checked to be finite.
    """
    bad = _first_nonfinite(line, _points(stencil, scales))
    if not bad:
        return stencil, ""
    if stencil.kind == "central" and all(t < 0 for t in bad):
        kind = "forward"
    elif stencil.kind == "central" and all(t > 0 for t in bad):
        kind = "backward"
    else:
        raise line.error(bad[0], line.values([bad[0]])[0])
    side = "below" if kind == "forward" else "above"
    note = (
        f"one-sided ({kind}) differences: the function is not finite {side} the point at "
        f"{line.describe(bad[0], 0)}"
    )
    stencil = make_stencil(kind, stencil.n, stencil.order)
    still = _first_nonfinite(line, _points(stencil, scales))
    if still:
        raise line.error(still[0], line.values([still[0]])[0])
    return stencil, note


def _apply(stencil: Stencil, line: Line, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """``sum w_k f(k s) / s**n`` and ``sum |w_k f(k s)|`` at step ``s = scale``."""
    # The points were checked for finite values by _one_sided.
    ys = line.values([k * scale for k in stencil.offsets])
    total = stencil.weights[0] * ys[0]
    fabs = abs(stencil.weights[0]) * np.abs(ys[0])
    for w, y in zip(stencil.weights[1:], ys[1:]):
        total = total + w * y
        fabs = fabs + abs(w) * np.abs(y)
    return total / scale**stencil.n, fabs / scale**stencil.n


def _stencil(line: Line, stencil: Stencil, estimate: bool) -> LineResult:
    stencil, note = _one_sided(line, stencil, [1.0, 2.0] if estimate else [1.0])
    d1, fabs = _apply(stencil, line, 1.0)
    if not estimate:
        return LineResult(d1, None, 0, note)
    d2, _ = _apply(stencil, line, 2.0)
    # The leading error term |D(h) - D(2h)| / (2**p - 1), doubled (the next term may add to
    # it), and at least |D(h) - D(2h)| itself: where rounding inside f (cancellation between
    # its terms) exceeds eps |f|, that difference is mostly noise, of D(h)'s size.
    factor = max(2.0 / (2.0**stencil.order - 1.0), 1.0)
    error = factor * np.abs(d1 - d2) + 2.0 * line.eps * fabs
    return LineResult(d1, error, 0, note)


def _richardson(line: Line, n: int) -> LineResult:
    stencil = method_stencil("richardson", n)
    scales = [0.5**j for j in range(RICHARDSON_LEVELS)]
    stencil, note = _one_sided(line, stencil, scales)
    ds, fabs = zip(*(_apply(stencil, line, s) for s in scales))
    p, dp = stencil.order, stencil.exponent_step
    table = extrapolate(list(ds), 2.0, p, dp)
    best, previous = table[-1][-1], table[-2][-2]
    # The extrapolation weights sum in magnitude to about 1.6; 4 leaves room for noise in f.
    rounding = 4.0 * line.eps * fabs[-1]
    return LineResult(best, np.abs(best - previous) + rounding, 0, note, scales[0])


def _complex(line: Line) -> LineResult:
    if line.ev.complex_output:
        raise TypeError(
            "method='complex' needs a real-valued function: this one returns complex values, whose "
            "imaginary part the complex step would mistake for the derivative. Use method='central4' "
            "or 'adaptive'."
        )
    (y,) = line.values([1j])
    if not np.iscomplexobj(y):
        raise TypeError(
            f"method='complex' perturbs {line.describe(1j, 0)}, but the function returned a real "
            "result: it dropped the imaginary part (np.real, abs, float(), a cast, a comparison). "
            "The complex step needs a function that extends analytically to complex input; "
            "use method='central4' or 'adaptive' instead."
        )
    if not np.all(np.isfinite(y)):
        raise line.error(1j, y)
    value = np.imag(y)
    return LineResult(value, 4.0 * line.eps * np.abs(value), 0, _check_analytic(line, value))


def _check_analytic(line: Line, value: np.ndarray) -> str:
    """Refuse a function the complex step gets wrong: compare with a central difference.

    ``x * abs(x)``, ``np.real``, ``np.conj`` or ``np.maximum`` accept complex input without
    being complex-analytic, and the complex step then returns a wrong value (``|x|`` for
    ``x * abs(x)``, not ``2 |x|``) without any sign. Two real evaluations at a central step
    expose it (four, to estimate the central difference's own error): the two derivatives then
    disagree far beyond that error.
    """
    moved = line.direction != 0
    scale = scale_of(line.x0[moved]) / np.abs(line.direction[moved])
    t = float(np.max(scale, initial=1.0)) * line.eps ** (1.0 / 3.0)
    ys = line.values([t, -t, 2 * t, -2 * t])
    if not all(np.all(np.isfinite(y)) for y in ys):
        return "not checked against a central difference: the function is not finite around the point"
    central = (ys[0] - ys[1]) / (2.0 * t)
    wide = (ys[2] - ys[3]) / (4.0 * t)
    # The central difference's own error, generously: three times its truncation (from the
    # wider step), rounding, and 1e-6 relative.
    rounding = 1e3 * line.eps * np.maximum(np.abs(ys[0]), np.abs(ys[1])) / t
    # t f'' plus the noise of f over t: covers noise inside f (cancellation) that eps |f| misses.
    curvature = np.abs(ys[0] + ys[1] - 2.0 * line.ev.f0) / t
    tol = np.abs(central - wide) + 1e-6 * np.maximum(np.abs(central), np.abs(value)) + rounding + curvature
    bad = np.abs(value - central) > tol
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        rel = abs(value[j] - central[j]) / max(abs(value[j]), abs(central[j]))
        raise TypeError(
            f"method='complex' and a central difference disagree by {rel:.2g} (relative) for output "
            f"element {j}, the latter at {line.describe(t, j)}: the function is "
            "not complex-analytic (abs, np.real, np.conj, np.maximum, comparisons break the complex "
            "step while accepting complex input). Use method='central4' or 'adaptive'."
        )
    return ""
