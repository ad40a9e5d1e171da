"""Polynomials, interpolation and the Bessel function ``i0``.

* ``polyval(p, x)``: Horner's scheme, differentiable in ``p`` and ``x``.
* ``vander(x, N, increasing)``: the columns are running products of ``x``.
* ``polyfit(x, y, deg, rcond, full, w, cov)``: differentiable in ``y`` (and in
  ``w``'s absence, plainly weighted): the fit is the scaled least-squares
  solution, a fixed matrix (computed from the plain ``x`` as NumPy does, with
  the same ``rcond`` cut-off) applied to ``y``. A traced ``x``, and
  ``full=True``/``cov=True`` with a traced ``y``, are refused.
* ``interp(x, xp, fp)``: linear interpolation, differentiable in ``x``, ``xp``
  and ``fp``. At a knot ``x == xp[k]`` the derivative in ``x`` is the slope of
  the segment to the right of the knot (of the last segment at ``xp[-1]``);
  outside ``[xp[0], xp[-1]]`` it is 0 and the value is ``left``/``right``.
* ``i0``: ``d/dx I0(x) = I1(x)``, with ``I1`` from its power series (all terms
  positive, so no cancellation), and ``d/dx I1 = I0 - I1 / x`` for higher orders.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..extend import (
    GETITEM,
    Primitive,
    Tracer,
    UnsupportedOperationError,
    any_set,
    as_traced_array,
    defelementwise,
    primal,
    refuse_complex,
    register_function,
)

__all__ = ["i0_p", "i1_p"]


# -- polyval and vander -------------------------------------------------------------------------
def _polyval(p: Any, x: Any) -> Any:
    p, x = as_traced_array(p), as_traced_array(x)
    y = np.zeros_like(primal(x)) * 1.0
    for k in range(np.shape(p)[0]):
        y = y * x + p[k]
    return y


register_function(np.polyval, _polyval)


def _vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    x = as_traced_array(x)
    if np.ndim(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = np.shape(x)[0] if N is None else operator.index(N)
    x = x.astype(np.promote_types(primal(x).dtype, int))  # NumPy's dtype (float32 gives float64)
    cols: list[Any] = []
    if n > 0:
        cols.append(np.ones(np.shape(x), primal(x).dtype))
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    if not increasing:
        cols.reverse()
    if not cols:
        return np.empty((np.shape(x)[0], 0))
    return np.stack(cols, axis=1)


register_function(np.vander, _vander)


# -- polyfit -------------------------------------------------------------------------------------
def _polyfit(x: Any, y: Any, deg: Any, rcond: Any = None, full: bool = False, w: Any = None,
             cov: Any = False) -> Any:  # fmt: skip
    if type(x) is Tracer or type(w) is Tracer or type(rcond) is Tracer:
        raise UnsupportedOperationError(
            "numpy.polyfit is differentiable in y only; x and w were traced. Pass chainrule.primal(x) "
            "(and primal(w)), or solve the least-squares problem with differentiable operations "
            "(np.linalg.solve(V.T @ V, V.T @ y) with V = np.vander(x, deg + 1))."
        )
    if type(y) is not Tracer:
        # full is a bool here; NumPy's stubs overload polyfit on its literal values only.
        return np.polyfit(x, y, deg, rcond, full, w, cov)  # type: ignore[call-overload]
    if full or cov:
        raise UnsupportedOperationError(
            "numpy.polyfit(..., full=True / cov=...) is not supported for a traced y"
        )
    refuse_complex("numpy.polyfit", y)
    x = np.asarray(x, dtype=np.float64) + 0.0
    deg = operator.index(deg)
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1 or x.size == 0 or np.ndim(y) not in (1, 2) or np.shape(y)[0] != x.shape[0]:
        raise TypeError("numpy.polyfit: x must be a non-empty 1-D array and y have len(x) rows")
    if rcond is None:
        rcond = len(x) * np.finfo(x.dtype).eps
    lhs = np.vander(x, deg + 1)
    weights = None if w is None else np.asarray(w, dtype=np.float64)
    if weights is not None:
        lhs = lhs * weights[:, None]
        y = y * (weights if np.ndim(y) == 1 else weights[:, None])
    scale = np.sqrt((lhs * lhs).sum(axis=0))
    lhs = lhs / scale
    # lstsq's minimum-norm solution is the pseudo-inverse with the same cut-off.
    solve = np.linalg.pinv(lhs, rcond=rcond)
    c = solve @ y
    return c / (scale if np.ndim(c) == 1 else scale[:, None])


register_function(np.polyfit, _polyfit)


# -- interp --------------------------------------------------------------------------------------
def _interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None) -> Any:
    x, xp, fp = as_traced_array(x), as_traced_array(xp), as_traced_array(fp)
    refuse_complex("numpy.interp", x, xp, fp)
    if period is not None:
        raise UnsupportedOperationError(
            "numpy.interp(..., period=) is not supported for traced values; reduce x and xp "
            "modulo the period yourself (np.mod is differentiable) and sort xp."
        )
    if np.ndim(xp) != 1 or np.ndim(fp) != 1 or np.shape(xp)[0] != np.shape(fp)[0]:
        raise ValueError("fp and xp are not of the same length.")
    n = np.shape(xp)[0]
    if n == 0:
        raise ValueError("array of sample points is empty")
    px, pxp = primal(x), primal(xp)
    lo = fp[0] if left is None else left
    hi = fp[-1] if right is None else right
    if n == 1:
        inner = np.broadcast_to(fp[0], np.shape(px))
    else:
        k = np.clip(np.searchsorted(pxp, px, side="right") - 1, 0, n - 2)
        # GETITEM, not xp[k]: xp may be a plain array and k batched (vmap), which
        # ndarray indexing cannot take.
        x0, x1, f0, f1 = GETITEM(xp, k), GETITEM(xp, k + 1), GETITEM(fp, k), GETITEM(fp, k + 1)
        inner = f0 + (x - x0) * ((f1 - f0) / (x1 - x0))
    out = np.where(px < pxp[0], lo, np.where(px > pxp[-1], hi, inner))
    return out


register_function(np.interp, _interp)


# -- i0 -----------------------------------------------------------------------------------------
def _i1_series(x: np.ndarray) -> np.ndarray:
    """``I1(x) = sum_k (x/2)^(2k+1) / (k! (k+1)!)``: positive terms, summed until they stop mattering."""
    x = np.asarray(x, dtype=np.result_type(x, np.float64))
    half = x / 2.0
    sq = half * half
    term = half.copy()
    total: np.ndarray = term.copy()
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            k += 1
            term = term * sq / (k * (k + 1))
            total = total + term
            if not np.any(np.abs(term) > np.abs(total) * 1e-17) or k > 2000:
                break
    return total


i1_p = Primitive("chainrule.i1", _i1_series)
i0_p = Primitive("numpy.i0", np.i0)


def _i1_derivative(x: Any) -> Any:
    # I1'(x) = I0(x) - I1(x) / x, and 1/2 at x = 0 (the series' first coefficient).
    at0 = primal(x) == 0
    safe = np.where(at0, 1.0, x) if any_set(at0) else x
    d = i0_p(x) - i1_p(safe) / safe
    return np.where(at0, 0.5, d) if any_set(at0) else d


defelementwise(i0_p, lambda x: i1_p(x))
defelementwise(i1_p, _i1_derivative)


def _i0(x: Any) -> Any:
    x = as_traced_array(x)
    refuse_complex("numpy.i0", x)
    return i0_p(x)


register_function(np.i0, _i0)
