"""The adaptive method: a geometric sequence of steps, Richardson extrapolation, and the best step.

The approach is numdifftools' (P. A. Brodtkorb and J. D'Errico, building on
D'Errico's DERIVEST): no single step suits every function and point (the
right step for ``cos`` near 0 is about ``1e-3``; for ``log`` at ``3e-6``, below
``1e-7``), so central differences are taken at a geometric sequence of steps
``h_k = h_0 / r**k``, from well above the largest plausible scale of the
function to well below the smallest; consecutive differences are combined by
Richardson extrapolation (three terms: the ``h**2``, ``h**4`` and ``h**6``
errors cancel); each extrapolated value gets an error estimate, and the value of
smallest estimated error is returned.

The error estimate of level ``k`` is the change from the previous level,
``|R_k - R_(k-1)|`` (it decreases like the truncation error while the steps
are large and grows with rounding once they are small), plus the rounding
of the level itself, ``2 eps sum|w f| / h**n`` times the extrapolation's
gain (with the rounding of the points ``x + h`` themselves: ``eps |x| |f'|``
per point). Steps at which the function is not finite (beyond the edge of its
domain) are dropped; if none is left, the one-sided sequences are tried.

With a tolerance (``atol + rtol |value|``, as in ``scipy.differentiate``)
the sequence stops at the first level whose estimate meets it, and
:attr:`~chainrule.numerical.Estimate.status` says whether it did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .line import LineResult
from .richardson import extrapolate, extrapolation_gain
from .stencils import Stencil, make_stencil
from .steps import scale_of

if TYPE_CHECKING:
    from .line import Line

__all__ = ["Plan", "adaptive", "plan_steps"]

#: Extrapolation terms (first derivatives: the error goes from h**2 to h**8 for central
#: stencils; higher orders, whose rounding grows like eps / h**n, stop at h**6).
TERMS = 3


def terms_for(n: int) -> int:
    return TERMS if n == 1 else 2


def _first_candidate(n: int) -> int:
    # First derivatives wait until the last three levels are fully extrapolated (so that the
    # error estimate compares like with like); higher orders, with fewer good levels, start sooner.
    return TERMS + 2 if n == 1 else 3


#: How many steps per sequence, by derivative order (the cost is this times the stencil's points).
LEVELS = 13
#: The widest range of steps a sequence covers (largest / smallest).
MAX_SPAN = 1e14


class Plan(NamedTuple):
    """The sequence: the largest step and the ratio between steps per input element, their number."""

    h0: np.ndarray
    ratio: np.ndarray
    levels: np.ndarray


def plan_steps(x: np.ndarray, n: int, eps: float, levels: int | None = None) -> Plan:
    """A sequence of steps for the ``n``-th derivative at each element of ``x``.

    It spans from 16 times the best step of the extrapolated formula at the
    scale ``max(1, |x|)`` down to an eighth of the best plain central step at
    the scale ``|x|`` (or 14 decades, whichever is less), so that it holds a good step whether the function
    varies on the scale of 1 or on the scale of ``x``. The ratio is at least 2.
    Elements moved together (an elementwise derivative) share the largest ratio.
    """
    a = np.abs(np.asarray(x, dtype=np.float64))
    h_hi = 16.0 * eps ** (1.0 / (n + 2 + 2 * terms_for(n))) * np.maximum(a, 1.0)
    h_lo = eps ** (1.0 / (n + 2)) / 8.0 * scale_of(a)
    # A wide span (a tiny x in a function of unit scale) gets more steps, up to twice as
    # many, so that the ratio stays near 3 (2.6 for n > 1) and a step lands near the best one.
    span = np.minimum(h_hi / h_lo, MAX_SPAN)
    levels = levels or (LEVELS if n == 1 else LEVELS + 1)
    target = 3.0 if n == 1 else 2.6
    count = np.clip(np.ceil(np.log(span) / np.log(target)) + 1, levels, 2 * levels).astype(int)
    return Plan(h_hi, np.maximum(2.0, span ** (1.0 / (count - 1))), count)


def adaptive(
    line: Line,
    n: int,
    *,
    ratio: float,
    levels: int,
    tolerance: tuple[float, float] | None = None,
    unit: np.ndarray | float = 1.0,
) -> LineResult:
    """The adaptive derivative along ``line`` (steps ``ratio**-k``, k < levels, in units of t)."""
    stencils = [make_stencil("central", n, 2), make_stencil("forward", n, 2), make_stencil("backward", n, 2)]
    m = np.shape(line.ev.f0)
    value = np.full(m, np.nan, dtype=np.result_type(line.ev.f0, np.float64))
    error = np.full(m, np.inf)
    step = np.zeros(m)
    status = np.zeros(m, dtype=int)
    note = ""
    for stencil in stencils:
        todo = ~np.isfinite(error)
        if not np.any(todo):
            break
        v, e, s, st, reached = _sequence(line, stencil, ratio, levels, tolerance, unit)
        value[todo], error[todo], step[todo], status[todo] = v[todo], e[todo], s[todo], st[todo]
        if stencil.kind != "central" and np.any(todo & np.isfinite(e)):
            note = f"one-sided ({stencil.kind}) differences near the edge of the function's domain"
        last_t = reached
    if not np.all(np.isfinite(error)):
        # Every step of every sequence met a non-finite value: report the smallest central one.
        t = last_t
        raise line.error(t, line.values([t])[0])
    return LineResult(value, error, int(np.min(status)) if status.size else 0, note, step)


def _sequence(
    line: Line,
    stencil: Stencil,
    ratio: float,
    levels: int,
    tolerance: tuple[float, float] | None,
    unit: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    p, q = stencil.order, stencil.exponent_step
    terms = terms_for(stencil.n)
    gain = extrapolation_gain(ratio, p, q, terms)
    eps = line.eps
    unit_n = np.asarray(unit, dtype=np.float64) ** stencil.n
    ds: list[np.ndarray] = []
    best_v = np.full(np.shape(line.ev.f0), np.nan, dtype=np.result_type(line.ev.f0, np.float64))
    best_e = np.full(np.shape(line.ev.f0), np.inf)
    best_sel = np.full(np.shape(line.ev.f0), np.inf)
    best_s = np.zeros(np.shape(line.ev.f0))
    best_k = np.full(np.shape(line.ev.f0), -1)
    previous = before = None
    last_t = 0.0
    k = 0
    for k in range(levels):
        s = ratio**-k
        ts = [o * s for o in stencil.offsets]
        ys = line.values(ts)
        d = np.zeros(np.shape(line.ev.f0), dtype=np.result_type(*ys))
        fabs = np.zeros(np.shape(line.ev.f0))
        for w, y in zip(stencil.weights, ys):
            d = d + w * y
            fabs = fabs + abs(w) * np.abs(y)
        for t, y in zip(ts, ys):
            if not np.all(np.isfinite(y)):
                last_t = t
        # The points x0 + t d are rounded to the inputs' precision: a shift of up to
        # input_noise (in units of t) that moves f by its slope; it matters where |x0| >> |t d|.
        (a, ya), (b, yb) = list(zip(stencil.offsets, ys))[:2]
        slope = np.abs(ya - yb) / (abs(a - b) * s)
        shifted = np.sum(np.abs(stencil.weights)) * slope * line.input_noise
        d = np.where(np.isfinite(d), d / s**stencil.n, np.nan)
        ds.append(d)
        row = extrapolate(ds, ratio, p, q, terms)[-1]
        r = row[-1]
        if previous is not None and k >= _first_candidate(stencil.n):
            before = previous if before is None else before
            rounding = gain * (2.0 * eps * fabs + shifted) / s**stencil.n
            # Choose by the last change; report the larger of the last two changes, so that
            # two levels agreeing by chance do not understate the error.
            e = np.abs(r - previous) + rounding
            e = np.where(np.isfinite(e), e, np.inf)
            reported = np.fmax(np.abs(r - previous), np.abs(r - before) / ratio**p) + rounding
            better = e < best_sel
            best_sel = np.where(better, e, best_sel)
            best_v = np.where(better, r, best_v)
            best_e = np.where(better, reported, best_e)
            best_s = np.where(better, s, best_s)
            best_k = np.where(better, k, best_k)
            if tolerance is not None and k >= terms:
                atol, rtol = tolerance
                if np.all(best_e / unit_n <= atol + rtol * np.abs(best_v) / unit_n):
                    break
        before, previous = previous, r
    last = k
    if tolerance is not None:
        atol, rtol = tolerance
        met = best_e / unit_n <= atol + rtol * np.abs(best_v) / unit_n
        status = np.where(met, 0, np.where(best_k < last, -1, -2))
    else:
        status = np.where((best_k < last) | (best_e == 0), 0, -2)
    return best_v, best_e, best_s, status, last_t
