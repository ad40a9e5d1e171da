"""Derivatives of the regularized incomplete gamma function in its parameter ``a``, by series.

``P(a, x) = sum_n exp(T_n)`` with ``T_n = (a + n) log x - x - gammaln(a + n + 1)``
(DLMF 8.7.1, all terms positive), so, term by term,

* ``dP/da = sum_n exp(T_n) D_n`` with ``D_n = log x - digamma(a + n + 1)``,
* ``d2P/da2 = sum_n exp(T_n) (D_n**2 - polygamma(1, a + n + 1))``.

The terms grow until ``n ~ x`` and then fall faster than geometrically: the sum
runs to ``x + 12 sqrt(x) + 60`` terms (a relative tail far below double
precision). Cost and memory are proportional to that count times the number of
elements, so very large ``x`` is slow (there ``P`` is 1 to double precision and
its derivatives are below ``1e-16``). ``P(a, 0) = 0`` for every ``a``, so the
derivatives are 0 there.

Each derivative is a primitive with its own rules: in ``x`` the ``a``-derivatives
of the density ``x**(a-1) exp(-x) / Gamma(a)`` (closed forms); in ``a`` the next
series. Third derivatives in ``a`` are refused by name (no rule), never zero.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc
from scipy.special import _ufuncs

from ..extend import Primitive, defelementwise

__all__ = ["gammainc_da2_p", "gammainc_da_p"]


def _series(a: Any, x: Any, order: int) -> np.ndarray:
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    valid = (a > 0) & (x > 0)
    a_s, x_s = np.where(valid, a, 1.0), np.where(valid, x, 1.0)
    top = float(np.max(x_s)) if x_s.size else 0.0
    n = np.arange(math.ceil(top + 12.0 * math.sqrt(top) + 60.0), dtype=np.float64)
    n = n.reshape((-1,) + (1,) * a.ndim)
    shifted = a_s + n + 1.0
    log_x = np.log(x_s)
    terms = np.exp((a_s + n) * log_x - x_s - sc.gammaln(shifted))
    d = log_x - sc.digamma(shifted)
    total = np.sum(terms * d if order == 1 else terms * (d * d - sc.polygamma(1, shifted)), axis=0)
    return np.where(valid, total, np.where((x == 0) & (a > 0), 0.0, np.nan))


gammainc_da_p = Primitive(
    "derivative of scipy.special.gammainc in a", lambda a, x: _series(a, x, 1), broadcasts=True
)
gammainc_da2_p = Primitive(
    "second derivative of scipy.special.gammainc in a", lambda a, x: _series(a, x, 2), broadcasts=True
)


def _log_density(a: Any, x: Any) -> Any:
    """log of d/dx P(a, x) = x**(a-1) exp(-x) / Gamma(a)."""
    with np.errstate(divide="ignore"):
        return (a - 1.0) * np.log(x) - x - sc.gammaln(a)


def _density_da(a: Any, x: Any) -> Any:
    """d/da of the density: density * (log x - digamma(a)) = d/dx dP/da."""
    with np.errstate(divide="ignore"):
        return np.exp(_log_density(a, x)) * (np.log(x) - sc.digamma(a))


def _density_da2(a: Any, x: Any) -> Any:
    """d2/da2 of the density = d/dx d2P/da2 (trigamma as the ufunc zeta(2, a), which has a rule)."""
    with np.errstate(divide="ignore"):
        d = np.log(x) - sc.digamma(a)
        return np.exp(_log_density(a, x)) * (d * d - _ufuncs._zeta(2.0, a))


defelementwise(gammainc_da_p, lambda a, x: gammainc_da2_p(a, x), _density_da, masked=True)
# In a: a third derivative of P in a, which has no rule: refused (argnums leaves a out).
defelementwise(gammainc_da2_p, _density_da2, argnums=(1,), masked=True)
