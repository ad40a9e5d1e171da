"""Derivative rules of ``scipy.special`` ufuncs (registered when ``scipy.special`` is imported).

``scipy.special`` functions are ufuncs, so a traced value reaches them through
``__array_ufunc__`` exactly as it reaches ``np.sin``; each rule below is one
line in the style of :mod:`chainrule.rules.elementwise`, and binary ufuncs
broadcast (the engine sums cotangents back to each argument's shape). Every
derivative is written with ufuncs that have rules themselves (often other
``scipy.special`` functions: ``gammaln' = digamma``, ``digamma' = zeta(2, x)``,
Bessel recurrences), so second and higher derivatives work. Real inputs only.

Examples
--------
>>> import chainrule as cr
>>> from scipy.special import expit
>>> float(cr.grad(lambda x: expit(x))(0.0))
0.25

Parameters without a rule
-------------------------
The order ``v`` of the Bessel functions (``iv``, ``jv``, ...), ``n`` of ``yn``,
``a``, ``b`` of ``betainc``, ``df`` of ``stdtr`` and ``s`` of ``zeta(s, q)``
have no registered rule (``a`` of ``gammainc``/``gammaincc``/``gammaincinv``/
``gammainccinv`` has one, by series, to second order: see
:mod:`chainrule.rules.special_series`): differentiating with respect to
them raises :class:`~chainrule.UnsupportedOperationError` naming the function
and the argument (it is never a silent zero).

Conventions at the edges of the domains
---------------------------------------
* ``xlogy(x, y)`` and ``xlog1py(x, y)`` take ``0 * log 0 = 0``: the derivative
  with respect to ``y`` is 0 where ``x == 0`` (also at ``y == 0``, resp.
  ``y == -1``, where ``x / y`` would be NaN). The same holds for ``rel_entr``
  and ``kl_div`` at ``x == y == 0`` (where ``kl_div``'s is 1, its ``+ y`` term).
  The derivative with respect to ``x`` there is the one-sided ``log(y) = -inf``.
* ``i0e``, ``i1e``, ``ive`` contain ``exp(-|x|)``: at ``x == 0`` the
  derivative of that factor is taken as 0 (the sign), the midpoint of the
  one-sided derivatives.
* Infinite derivatives (``logit`` at 0 and 1, ``erfinv`` at +-1, ``entr`` at 0)
  are returned as such; a zero cotangent times them is 0, not NaN.

Not differentiable through chainrule
------------------------------------
These are Python functions, not ufuncs: they call ``np.asarray`` on their
input, so on a traced value they raise :class:`~chainrule.TracerConversionError`
(never a wrong gradient) naming the differentiable version in
:mod:`chainrule.scipy.special`: ``polygamma``, ``logsumexp``, ``softmax``,
``log_softmax``, ``multigammaln``. ``softplus`` is ``np.logaddexp(0, x)`` and
works as is; ``zeta`` is a Python wrapper around the ufunc ``_zeta``,
registered here under the name ``scipy.special.zeta``.

``betainc``, ``betaincc``, ``betaincinv`` (in their last argument), ``stdtr``
and ``stdtrit`` (in their second) have rules; their shape parameters (``a``,
``b``, ``df``) do not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc
from scipy.special import _ufuncs

from ..extend import Primitive, any_set, defcomplex, defelementwise, defnondiff, primal, register_ufunc
from .special_series import gammainc_da_p

__all__: list[str] = []

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
LN2 = math.log(2.0)
LN10 = math.log(10.0)


def _binary(fun: Any, dx: Any, dy: Any, *, argnums: tuple[int, ...] = (0, 1), masked: bool = False) -> None:
    """Rules for the given arguments of a two-argument function (the others have none: refused, not zero)."""
    derivatives = {0: dx, 1: dy}
    defelementwise(fun, *(derivatives[i] for i in argnums), argnums=argnums, masked=masked)


def _safe_ratio(x: Any, y: Any, at_zero: float = 0.0) -> Any:
    """``x / y``, but ``at_zero`` where ``x == y == 0`` (the ``0 log 0 = 0`` convention)."""
    bad = (primal(x) == 0) & (primal(y) == 0)
    if any_set(bad):
        return np.where(bad, at_zero, x / np.where(bad, 1.0, y))
    return x / y


def _log(x: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


# -- logistic ------------------------------------------------------------------
# expit' = expit(x) expit(-x): accurate where 1 - expit(x) would round to 0.
defelementwise(sc.expit, lambda ans, x: ans * sc.expit(-x))
defelementwise(sc.logit, lambda ans, x: 1.0 / (x * (1.0 - x)), masked=True)
defelementwise(sc.log_expit, lambda ans, x: sc.expit(-x))

# -- error functions -------------------------------------------------------------
defelementwise(sc.erf, lambda ans, x: TWO_OVER_SQRT_PI * np.exp(-x * x))
defelementwise(sc.erfc, lambda ans, x: -TWO_OVER_SQRT_PI * np.exp(-x * x))
defelementwise(sc.erfi, lambda ans, x: TWO_OVER_SQRT_PI * np.exp(x * x))
defelementwise(sc.erfcx, lambda ans, x: 2.0 * x * ans - TWO_OVER_SQRT_PI)
defelementwise(sc.dawsn, lambda ans, x: 1.0 - 2.0 * x * ans)
defelementwise(sc.erfinv, lambda ans, x: HALF_SQRT_PI * np.exp(ans * ans), masked=True)
defelementwise(sc.erfcinv, lambda ans, x: -HALF_SQRT_PI * np.exp(ans * ans), masked=True)

# -- normal distribution ---------------------------------------------------------
defelementwise(sc.ndtr, lambda ans, x: np.exp(-0.5 * x * x) / SQRT_2PI)
# phi(x) / Phi(x) in logs: no overflow or 0/0 far in the left tail.
defelementwise(sc.log_ndtr, lambda ans, x: np.exp(-0.5 * x * x - ans - HALF_LOG_2PI))
defelementwise(sc.ndtri, lambda ans, p: SQRT_2PI * np.exp(0.5 * ans * ans), masked=True)
defelementwise(sc.ndtri_exp, lambda ans, y: SQRT_2PI * np.exp(y + 0.5 * ans * ans), masked=True)

# -- gamma family ------------------------------------------------------------------
# zeta(s, q) is a Python wrapper; the ufunc underneath is scipy.special._ufuncs._zeta.
zeta_p = Primitive("scipy.special.zeta", _ufuncs._zeta, broadcasts=True)
register_ufunc(_ufuncs._zeta, zeta_p)
_binary(zeta_p, None, lambda ans, s, q: -s * _ufuncs._zeta(s + 1.0, q), argnums=(1,))

defelementwise(sc.gammaln, lambda ans, x: sc.digamma(x))
defelementwise(sc.loggamma, lambda ans, x: sc.digamma(x))
defelementwise(sc.gamma, lambda ans, x: ans * sc.digamma(x), masked=True)
defelementwise(sc.digamma, lambda ans, x: _ufuncs._zeta(2.0, x))  # trigamma = polygamma(1, x)
_binary(
    sc.betaln,
    lambda ans, a, b: sc.digamma(a) - sc.digamma(a + b),
    lambda ans, a, b: sc.digamma(b) - sc.digamma(a + b),
)
_binary(
    sc.beta,
    lambda ans, a, b: ans * (sc.digamma(a) - sc.digamma(a + b)),
    lambda ans, a, b: ans * (sc.digamma(b) - sc.digamma(a + b)),
    masked=True,
)


def _gamma_density(a: Any, x: Any) -> Any:
    """d/dx gammainc(a, x) = x**(a-1) exp(-x) / Gamma(a), in logs."""
    return np.exp(sc.xlogy(a - 1.0, x) - x - sc.gammaln(a))


# In a: by series (special_series.py), to second order. The inverses by implicit differentiation:
# P(a, x(a, y)) = y gives dx/da = -(dP/da) / (dP/dx), and the same for Q = 1 - P.
_binary(
    sc.gammainc, lambda ans, a, x: gammainc_da_p(a, x), lambda ans, a, x: _gamma_density(a, x), masked=True
)
_binary(
    sc.gammaincc, lambda ans, a, x: -gammainc_da_p(a, x), lambda ans, a, x: -_gamma_density(a, x), masked=True
)
_binary(
    sc.gammaincinv,
    lambda ans, a, y: -gammainc_da_p(a, ans) / _gamma_density(a, ans),
    lambda ans, a, y: 1.0 / _gamma_density(a, ans),
    masked=True,
)
_binary(
    sc.gammainccinv,
    lambda ans, a, y: -gammainc_da_p(a, ans) / _gamma_density(a, ans),
    lambda ans, a, y: -1.0 / _gamma_density(a, ans),
    masked=True,
)

defelementwise(sc.rgamma, lambda ans, x: -ans * sc.digamma(x), masked=True)


# -- incomplete beta and Student's t (derivatives in the shape parameters have no rule: refused) --
def _beta_density(a: Any, b: Any, x: Any) -> Any:
    """d/dx betainc(a, b, x) = x**(a-1) (1-x)**(b-1) / B(a, b), in logs."""
    return np.exp(sc.xlogy(a - 1.0, x) + sc.xlog1py(b - 1.0, -x) - sc.betaln(a, b))


def _ternary_last(fun: Any, dz: Any) -> None:
    defelementwise(fun, dz, argnums=(2,), masked=True)


_ternary_last(sc.betainc, lambda ans, a, b, x: _beta_density(a, b, x))
_ternary_last(sc.betaincc, lambda ans, a, b, x: -_beta_density(a, b, x))
_ternary_last(sc.betaincinv, lambda ans, a, b, y: 1.0 / _beta_density(a, b, ans))


def _t_density(df: Any, t: Any) -> Any:
    """The density of Student's t with ``df`` degrees of freedom, in logs."""
    return np.exp(
        sc.gammaln(0.5 * (df + 1.0))
        - sc.gammaln(0.5 * df)
        - 0.5 * np.log(df * math.pi)
        - 0.5 * (df + 1.0) * np.log1p(t * t / df)
    )


_binary(sc.stdtr, None, lambda ans, df, t: _t_density(df, t), argnums=(1,))
_binary(sc.stdtrit, None, lambda ans, df, p: 1.0 / _t_density(df, ans), argnums=(1,), masked=True)

# -- x log y and entropies -------------------------------------------------------
_binary(
    sc.xlogy,
    lambda ans, x, y: _log(y),
    lambda ans, x, y: _safe_ratio(x, y),
    masked=True,
)
_binary(
    sc.xlog1py,
    lambda ans, x, y: _log(1.0 + y),
    lambda ans, x, y: _safe_ratio(x, 1.0 + y),
    masked=True,
)
defelementwise(sc.entr, lambda ans, x: -_log(x) - 1.0, masked=True)
_binary(
    sc.rel_entr,
    lambda ans, x, y: _log(x) - _log(y) + 1.0,
    lambda ans, x, y: -_safe_ratio(x, y),
    masked=True,
)
_binary(
    sc.kl_div,
    lambda ans, x, y: _log(x) - _log(y),
    lambda ans, x, y: 1.0 - _safe_ratio(x, y),
    masked=True,
)


def _pseudo_huber_ddelta(ans: Any, delta: Any, r: Any) -> Any:
    # ans = delta**2 (s - 1) with s = sqrt(1 + (r/delta)**2); d/ddelta = 2 ans/delta - r**2/(delta s).
    s = ans / (delta * delta) + 1.0
    return 2.0 * ans / delta - r * r / (delta * s)


_binary(
    sc.pseudo_huber,
    _pseudo_huber_ddelta,
    lambda ans, delta, r: r / np.sqrt(1.0 + (r / delta) ** 2),
)

# -- Bessel functions (derivatives by the recurrences, DLMF 10.6 and 10.29) ------
defelementwise(sc.j0, lambda ans, x: -sc.j1(x))
defelementwise(sc.j1, lambda ans, x: 0.5 * (sc.j0(x) - sc.jv(2.0, x)))
defelementwise(sc.y0, lambda ans, x: -sc.y1(x), masked=True)
defelementwise(sc.y1, lambda ans, x: 0.5 * (sc.y0(x) - sc.yv(2.0, x)), masked=True)
defelementwise(sc.i0, lambda ans, x: sc.i1(x))
defelementwise(sc.i1, lambda ans, x: 0.5 * (sc.i0(x) + sc.iv(2.0, x)))
defelementwise(sc.k0, lambda ans, x: -sc.k1(x), masked=True)
defelementwise(sc.k1, lambda ans, x: -0.5 * (sc.k0(x) + sc.kv(2.0, x)), masked=True)
# exp(-|x|) I(x) and exp(x) K(x): the product rule with the scaling factor.
defelementwise(sc.i0e, lambda ans, x: sc.i1e(x) - np.sign(x) * ans)
defelementwise(sc.i1e, lambda ans, x: 0.5 * (sc.i0e(x) + sc.ive(2.0, x)) - np.sign(x) * ans)
defelementwise(sc.k0e, lambda ans, x: ans - sc.k1e(x), masked=True)
defelementwise(sc.k1e, lambda ans, x: ans - 0.5 * (sc.k0e(x) + sc.kve(2.0, x)), masked=True)
_binary(sc.jv, None, lambda ans, v, x: 0.5 * (sc.jv(v - 1.0, x) - sc.jv(v + 1.0, x)), argnums=(1,))
_binary(
    sc.yv, None, lambda ans, v, x: 0.5 * (sc.yv(v - 1.0, x) - sc.yv(v + 1.0, x)), argnums=(1,), masked=True
)
_binary(sc.yn, None, lambda ans, n, x: 0.5 * (sc.yn(n - 1, x) - sc.yn(n + 1, x)), argnums=(1,), masked=True)
_binary(sc.iv, None, lambda ans, v, x: 0.5 * (sc.iv(v - 1.0, x) + sc.iv(v + 1.0, x)), argnums=(1,))
_binary(
    sc.ive,
    None,
    lambda ans, v, x: 0.5 * (sc.ive(v - 1.0, x) + sc.ive(v + 1.0, x)) - np.sign(x) * ans,
    argnums=(1,),
)
_binary(
    sc.kv, None, lambda ans, v, x: -0.5 * (sc.kv(v - 1.0, x) + sc.kv(v + 1.0, x)), argnums=(1,), masked=True
)
_binary(
    sc.kve,
    None,
    lambda ans, v, x: ans - 0.5 * (sc.kve(v - 1.0, x) + sc.kve(v + 1.0, x)),
    argnums=(1,),
    masked=True,
)

# -- elementary functions SciPy has its own ufuncs for ------------------------------
defelementwise(sc.exp2, lambda ans, x: ans * LN2)
defelementwise(sc.exp10, lambda ans, x: ans * LN10)
defelementwise(sc.expm1, lambda ans, x: ans + 1.0)
defelementwise(sc.log1p, lambda ans, x: 1.0 / (1.0 + x), masked=True)
defelementwise(sc.cbrt, lambda ans, x: 1.0 / (3.0 * ans * ans), masked=True)
defelementwise(sc.cosm1, lambda ans, x: -np.sin(x))

# -- no derivative: piecewise constant ---------------------------------------------
defnondiff(sc.gammasgn)

# -- complex arguments -------------------------------------------------------------
# SciPy evaluates these for complex z, and each rule above evaluates the complex derivative
# f'(z) with operations that hold for complex values (exp, products): the reverse rule
# g * f'(z) of JAX's convention. loggamma and gamma: their rules call digamma, which has a
# complex value but no complex derivative rule here (trigamma of complex z is not a SciPy
# ufunc), so their second derivatives of complex arguments are refused by name.
defcomplex(sc.erf, sc.erfc, sc.erfi, sc.erfcx, sc.dawsn, sc.ndtr, sc.log_ndtr, sc.expm1, sc.log1p)
defcomplex(sc.loggamma, sc.gamma)
