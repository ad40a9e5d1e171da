"""Differentiable ``scipy.special`` functions that are not ufuncs, with SciPy's signatures.

``scipy.special``'s ufuncs (``expit``, ``logit``, ``erfcx``, ``xlog1py``,
``betainc``, ``rgamma``, ``gammaln``, ...) already reach chainrule through
NumPy's dispatch and have rules in :mod:`chainrule.rules.special`; they are
re-exported here unchanged, so one import covers the module. The Python-level
functions (``logsumexp``, ``softmax``, ``log_softmax``, ``polygamma``,
``multigammaln``) convert their input with ``np.asarray`` in SciPy, so they are
written here as NumPy compositions of functions with rules: every order and
both modes follow.

Examples
--------
>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule.scipy.special import logsumexp
>>> g = cr.grad(lambda x: logsumexp(x))(np.zeros(4))
>>> g.tolist()
[0.25, 0.25, 0.25, 0.25]

Conventions
-----------
* ``logsumexp``: the maximum subtracted for stability is a constant (its
  derivative cancels exactly); with ``b`` of mixed signs and
  ``return_sign=False`` a negative sum gives NaN, as in SciPy.
* ``polygamma(n, x)`` and ``multigammaln(a, d)`` are differentiable in
  ``x`` and ``a``; ``n`` and ``d`` are integers (a traced one is refused).
* ``betainc(a, b, x)`` is differentiable in ``x`` only: a traced ``a`` or
  ``b`` is refused by name (never a silent zero).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc
from scipy.special import (
    betainc,
    betaincc,
    betaincinv,
    betaln,
    digamma,
    erf,
    erfc,
    erfcx,
    expit,
    gammainc,
    gammaincc,
    gammaln,
    log_expit,
    log_ndtr,
    logit,
    ndtr,
    ndtri,
    rgamma,
    xlog1py,
    xlogy,
)

from ..extend import plain_ints, primal, refuse_complex

__all__ = [
    "betainc",
    "betaincc",
    "betaincinv",
    "betaln",
    "digamma",
    "erf",
    "erfc",
    "erfcx",
    "expit",
    "gammainc",
    "gammaincc",
    "gammaln",
    "log_expit",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "rgamma",
    "softmax",
    "xlog1py",
    "xlogy",
]

LOG_PI = math.log(math.pi)


def _shift(a: Any, axis: Any) -> Any:
    """The finite maximum of ``a`` over ``axis`` (kept dims), a constant: 0 where it is not finite."""
    with np.errstate(invalid="ignore"):
        m = np.max(primal(a), axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0)


def logsumexp(
    a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False
) -> Any:
    """``log(sum(b * exp(a)))`` over ``axis``, as :func:`scipy.special.logsumexp`.

    Differentiable in ``a`` and ``b``. With ``return_sign=True`` returns
    ``(log|s|, sign(s))``; the sign is a plain array (piecewise constant).

    >>> import chainrule as cr
    >>> float(cr.grad(lambda b: logsumexp(np.zeros(2), b=b))(np.array([1.0, 3.0]))[0])
    0.25
    """
    refuse_complex("chainrule.scipy.special.logsumexp", a, b)
    if axis is not None and not isinstance(axis, int | np.integer):
        axis = tuple(axis)
    m = _shift(a, axis)
    terms = np.exp(a - m)
    if b is not None:
        terms = b * terms
    s = np.sum(terms, axis=axis, keepdims=True)
    sign = np.sign(primal(s))
    if return_sign:
        with np.errstate(divide="ignore"):
            out = np.log(np.abs(s)) + m
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(s) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else np.reshape(out, ())
        sign = np.squeeze(sign, axis=axis) if axis is not None else np.reshape(sign, ())
    if return_sign:
        return out, sign
    return out


def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` over ``axis``, as :func:`scipy.special.softmax`.

    >>> softmax(np.array([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    refuse_complex("chainrule.scipy.special.softmax", x)
    e = np.exp(x - _shift(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x)`` over ``axis``, as :func:`scipy.special.log_softmax`.

    >>> float(log_softmax(np.array([0.0, 0.0]))[0]) == -math.log(2.0)
    True
    """
    refuse_complex("chainrule.scipy.special.log_softmax", x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def polygamma(n: Any, x: Any) -> Any:
    """The ``n``-th derivative of the digamma function, as :func:`scipy.special.polygamma`.

    ``polygamma(0, x) = digamma(x)``; for ``n >= 1`` it is
    ``(-1)**(n+1) n! zeta(n+1, x)``, whose derivative in ``x`` is ``polygamma(n+1, x)``.

    >>> import chainrule as cr
    >>> bool(np.isclose(cr.grad(lambda x: polygamma(1, x))(1.5), sc.polygamma(2, 1.5)))
    True
    """
    plain_ints("chainrule.scipy.special.polygamma", "n", n)
    refuse_complex("chainrule.scipy.special.polygamma", x)
    n = np.asarray(n)
    if n.dtype.kind not in "iub" and not np.all(n == np.floor(n)):
        raise ValueError("chainrule.scipy.special.polygamma: n must be a non-negative integer (or array)")
    n = n.astype(np.int64)
    if np.any(n < 0):
        raise ValueError("chainrule.scipy.special.polygamma: n must be >= 0")
    if n.ndim == 0:
        k = int(n)
        if k == 0:
            return sc.digamma(x)
        return float((-1) ** (k + 1) * math.factorial(k)) * sc.zeta(float(k + 1), x)
    safe = np.maximum(n, 1)
    coef = np.where(safe % 2 == 1, 1.0, -1.0) * sc.gamma(safe + 1.0)
    return np.where(n == 0, sc.digamma(x), coef * sc.zeta(safe + 1.0, x))


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d``, as :func:`scipy.special.multigammaln`.

    ``d (d - 1) / 4 log(pi) + sum_{j=1..d} gammaln(a + (1 - j) / 2)``, for ``a > (d - 1) / 2``.

    >>> bool(np.isclose(multigammaln(3.0, 2), sc.multigammaln(3.0, 2)))
    True
    """
    plain_ints("chainrule.scipy.special.multigammaln", "d", d)
    refuse_complex("chainrule.scipy.special.multigammaln", a)
    if not (np.ndim(d) == 0 and int(d) == d and d > 0):
        raise ValueError(f"chainrule.scipy.special.multigammaln: d must be a positive integer, got {d!r}")
    d = int(d)
    if np.any(primal(a) <= 0.5 * (d - 1)):
        raise ValueError(
            f"chainrule.scipy.special.multigammaln: every a must be > (d - 1) / 2 = {0.5 * (d - 1)} "
            f"for d = {d}"
        )
    total = sum(sc.gammaln(a - 0.5 * j) for j in range(d))
    return total + 0.25 * d * (d - 1) * LOG_PI
