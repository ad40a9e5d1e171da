"""Derivative rules of NumPy's elementwise functions (ufuncs, ``where``, ``clip``).

Most rules are one line: the local partial derivative of the output with
respect to each input, given to :func:`~chainrule.extend.defelementwise`,
which makes both the reverse rule ``g * d`` and the forward rule ``t * d``.
A derivative whose first parameter is ``ans`` receives the output. The few
written in two stages by hand (``lambda ans, x: lambda g: ...``) save a pass
over large arrays (a quotient instead of a reciprocal and a product).
Constants are Python floats so that float32 stays float32 (NumPy scalars
would promote under NEP 50).

Subgradients at kinks, chosen once and used everywhere:

* ``abs`` at 0: 0 (the sign).
* ``maximum``/``minimum``/``fmax``/``fmin`` with ties: half to each argument.
* ``clip`` at its bounds: the gradient passes to ``x`` (bounds inclusive).
* rounding, ``sign``, ``floor_divide``, comparisons: zero gradient; they
  return plain arrays.
* ``heaviside(x1, x2)`` is ``x2`` where ``x1 == 0``: derivative 0 in ``x1``
  and ``1`` in ``x2`` exactly there (it is not piecewise constant in ``x2``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..extend import (
    InPlaceError,
    Primitive,
    defelementwise,
    defjvp,
    deflinear,
    defnondiff,
    defvjp,
    masked_product,
    masked_quotient,
    primal,
    register_function,
    times_fresh,
)

LN2 = math.log(2.0)
LN10 = math.log(10.0)
DEG = math.pi / 180.0

# -- linear and arithmetic ----------------------------------------------------
deflinear(np.negative, lambda ans, x: lambda g: -g)
deflinear(np.positive, lambda ans, x: lambda g: g)
deflinear(np.deg2rad, lambda ans, x: lambda g: g * DEG)
deflinear(np.radians, lambda ans, x: lambda g: g * DEG)
deflinear(np.rad2deg, lambda ans, x: lambda g: g / DEG)
deflinear(np.degrees, lambda ans, x: lambda g: g / DEG)
# Affine in each argument (not linear), so both directions are written out.
defvjp(np.add, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: g)
defjvp(np.add, lambda t, ans, x, y: t, lambda t, ans, x, y: t)
defvjp(np.subtract, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: -g)
defjvp(np.subtract, lambda t, ans, x, y: t, lambda t, ans, x, y: -t)
# The hottest rules are written in two stages by hand: one Python call less per
# operation than the derivative-function form (see bench/RESULTS.md, engine v2).
defvjp(np.multiply, lambda ans, x, y: lambda g: g * y, lambda ans, x, y: lambda g: g * x, fresh=True)
defjvp(np.multiply, lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t)
defvjp(
    np.true_divide,
    lambda ans, x, y: lambda g: masked_quotient(g, y),
    lambda ans, x, y: lambda g: masked_product(-g, x / (y * y)),
)
defjvp(np.true_divide, lambda t, ans, x, y: t / y, lambda t, ans, x, y: -t * x / (y * y))
defelementwise(np.reciprocal, lambda ans: -ans * ans, masked=True)
defvjp(np.square, lambda ans, x: lambda g: times_fresh(g, 2.0 * x), fresh=True)
defjvp(np.square, lambda t, ans, x: t * (2.0 * x))
defvjp(np.sqrt, lambda ans, x: lambda g: masked_quotient(0.5 * g, ans))
defjvp(np.sqrt, lambda t, ans, x: t * (0.5 / ans))
defelementwise(np.cbrt, lambda ans: 1.0 / (3.0 * ans * ans), masked=True)
# np.absolute: in complex_values.py (its rule for complex arguments is not the sign)
# copysign(x, y) = |x| with the sign of y; y only chooses a sign (derivative 0).
defelementwise(np.copysign, lambda x, y: np.copysign(1.0, x) * np.copysign(1.0, y), None)
defelementwise(np.fabs, lambda x: np.sign(x))


def _power_dx(x: Any, y: Any) -> Any:
    # d/dx x**y = y * x**(y-1); 0 where y == 0 (x**0 is constant, even at x = 0).
    d = y * x ** (y - 1.0)
    return np.where(y == 0, 0.0, d) if np.any(y == 0) else d


def _power_dy(ans: Any, x: Any) -> Any:
    # d/dy x**y = x**y * log(x); 0 at x == 0 (the limit from x > 0, as JAX does).
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_x = np.where(x == 0, 1.0, x) if np.any(x == 0) else x
        return ans * np.log(safe_x)


for _power in (np.power, np.float_power):
    defelementwise(_power, lambda x, y: _power_dx(x, y), lambda ans, x, y: _power_dy(ans, x), masked=True)

# x mod y = x - floor(x / y) * y (the sign follows y); fmod truncates instead.
defvjp(
    np.remainder,
    lambda ans, x, y: lambda g: g,
    lambda ans, x, y: lambda g: -g * np.floor_divide(x, y),
)
defjvp(np.remainder, lambda t, ans, x, y: t, lambda t, ans, x, y: -t * np.floor_divide(x, y))
defvjp(np.fmod, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: -g * np.trunc(x / y))
defjvp(np.fmod, lambda t, ans, x, y: t, lambda t, ans, x, y: -t * np.trunc(x / y))

# -- exponentials and logarithms -----------------------------------------------
defvjp(np.exp, lambda ans, x: lambda g: g * ans, fresh=True)
defjvp(np.exp, lambda t, ans, x: t * ans)
defelementwise(np.exp2, lambda ans: ans * LN2)
defelementwise(np.expm1, lambda ans: ans + 1.0)
defvjp(np.log, lambda ans, x: lambda g: masked_quotient(g, x))
defjvp(np.log, lambda t, ans, x: t / x)
defvjp(np.log2, lambda ans, x: lambda g: masked_quotient(g, x * LN2, fresh=True))
defjvp(np.log2, lambda t, ans, x: t / (x * LN2))
defvjp(np.log10, lambda ans, x: lambda g: masked_quotient(g, x * LN10, fresh=True))
defjvp(np.log10, lambda t, ans, x: t / (x * LN10))
defvjp(np.log1p, lambda ans, x: lambda g: masked_quotient(g, x + 1.0, fresh=True))
defjvp(np.log1p, lambda t, ans, x: t / (x + 1.0))
defelementwise(np.logaddexp, lambda ans, x, y: np.exp(x - ans), lambda ans, x, y: np.exp(y - ans))
defelementwise(np.logaddexp2, lambda ans, x, y: np.exp2(x - ans), lambda ans, x, y: np.exp2(y - ans))

# -- trigonometric and hyperbolic ------------------------------------------------
defvjp(np.sin, lambda ans, x: lambda g: times_fresh(g, np.cos(x)), fresh=True)
defjvp(np.sin, lambda t, ans, x: t * np.cos(x))
defvjp(np.cos, lambda ans, x: lambda g: times_fresh(g, -np.sin(x)), fresh=True)
defjvp(np.cos, lambda t, ans, x: -t * np.sin(x))
defelementwise(np.tan, lambda ans: 1.0 + ans * ans)
defelementwise(np.arcsin, lambda x: 1.0 / np.sqrt(1.0 - x * x), masked=True)
defelementwise(np.arccos, lambda x: -1.0 / np.sqrt(1.0 - x * x), masked=True)
defelementwise(np.arctan, lambda x: 1.0 / (1.0 + x * x))
defelementwise(np.sinh, lambda x: np.cosh(x))
defelementwise(np.cosh, lambda x: np.sinh(x))


def _tanh_cotangent(g: Any, ans: Any) -> Any:
    """``g * (1 - ans**2)``; on large plain arrays in one buffer (one allocation, not three)."""
    if (
        type(g) is np.ndarray
        and type(ans) is np.ndarray
        and ans.size >= 65536
        and g.shape == ans.shape
        and g.dtype == ans.dtype
    ):
        t = np.multiply(ans, ans)
        np.subtract(1.0, t, out=t)
        np.multiply(t, g, out=t)
        return t
    return g * (1.0 - ans * ans)


defvjp(np.tanh, lambda ans, x: lambda g: _tanh_cotangent(g, ans), fresh=True)
defjvp(np.tanh, lambda t, ans, x: t * (1.0 - ans * ans))
defelementwise(np.arcsinh, lambda x: 1.0 / np.sqrt(x * x + 1.0))
defelementwise(np.arccosh, lambda x: 1.0 / np.sqrt(x * x - 1.0), masked=True)
defelementwise(np.arctanh, lambda x: 1.0 / (1.0 - x * x), masked=True)


def _hypot_d(x: Any, ans: Any) -> Any:
    # x / hypot(x, y); 0 where both are 0 (the same choice as norm at 0).
    if np.any(ans == 0):
        return np.where(ans == 0, 0.0, x / np.where(ans == 0, 1.0, ans))
    return x / ans


defelementwise(np.hypot, lambda ans, x, y: _hypot_d(x, ans), lambda ans, x, y: _hypot_d(y, ans))
defelementwise(np.arctan2, lambda y, x: x / (x * x + y * y), lambda y, x: -y / (x * x + y * y), masked=True)


# -- selection: maximum, minimum, where, clip ---------------------------------
def _share(x: Any, y: Any, ans: Any, nan_aware: bool) -> Any:
    """The weight of x in max/min(x, y): 1 where x was chosen, 0.5 on ties."""
    px, py = primal(x), primal(y)
    chosen = (px != py) & (primal(ans) == px)
    w = np.where(chosen, 1.0, np.where(px == py, 0.5, 0.0))
    if nan_aware:  # fmax/fmin skip a NaN argument
        w = np.where(np.isnan(py) & ~np.isnan(px), 1.0, w)
    return w.astype(np.result_type(px, py, np.float16))


for _ufunc, _nan in ((np.maximum, False), (np.minimum, False), (np.fmax, True), (np.fmin, True)):
    defelementwise(
        _ufunc,
        lambda ans, x, y, _n=_nan: _share(x, y, ans, _n),
        lambda ans, x, y, _n=_nan: _share(y, x, ans, _n),
    )


def _where_impl(cond: Any, x: Any, y: Any) -> Any:
    return np.where(cond, x, y)


# The condition carries no derivative; each branch passes its selected entries.
where_p = Primitive("numpy.where", _where_impl, broadcasts=True)
defvjp(
    where_p,
    None,
    lambda ans, c, x, y: lambda g: np.where(c, g, 0.0),
    lambda ans, c, x, y: lambda g: np.where(c, 0.0, g),
)
defjvp(
    where_p,
    None,
    lambda t, ans, c, x, y: np.where(c, t, 0.0),
    lambda t, ans, c, x, y: np.where(c, 0.0, t),
)


def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:
        return np.nonzero(primal(condition))
    return where_p(primal(condition), x, y)


register_function(np.where, _where)


def _clip_impl(x: Any, lo: Any, hi: Any) -> Any:
    return np.clip(x, lo, hi)


def _inside(x: Any, lo: Any, hi: Any) -> Any:
    px = primal(x)
    inside = np.ones(np.shape(px), dtype=bool)
    if lo is not None:
        inside = inside & (px >= primal(lo))
    if hi is not None:
        inside = inside & (px <= primal(hi))
    return inside


clip_p = Primitive("numpy.clip", _clip_impl, broadcasts=True)
defvjp(
    clip_p,
    lambda ans, x, lo, hi: lambda g: np.where(_inside(x, lo, hi), g, 0.0),
    lambda ans, x, lo, hi: lambda g: np.where(primal(x) < primal(lo), g, 0.0),
    lambda ans, x, lo, hi: lambda g: np.where(primal(x) > primal(hi), g, 0.0),
)
defjvp(
    clip_p,
    lambda t, ans, x, lo, hi: np.where(_inside(x, lo, hi), t, 0.0),
    lambda t, ans, x, lo, hi: np.where(primal(x) < primal(lo), t, 0.0),
    lambda t, ans, x, lo, hi: np.where(primal(x) > primal(hi), t, 0.0),
)


def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kwargs: Any) -> Any:
    if out is not None:
        raise InPlaceError("np.clip(..., out=...) writes in place; use y = np.clip(x, lo, hi).")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    return clip_p(a, a_min, a_max)


register_function(np.clip, _clip)


def _sinc_d(x: Any) -> Any:
    # d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0.
    at0 = primal(x) == 0
    safe = np.where(at0, 1.0, x) if np.any(at0) else x
    d = (np.cos(math.pi * safe) - np.sinc(safe)) / safe
    return np.where(at0, 0.0, d) if np.any(at0) else d


defelementwise(np.sinc, lambda x: _sinc_d(x))

# heaviside(x1, x2) takes the value x2 where x1 == 0 (so it is not derivative-free in x2).
defelementwise(np.heaviside, None, lambda x1, x2: np.where(primal(x1) == 0, 1.0, 0.0))

# -- no derivative: these return plain arrays ----------------------------------
defnondiff(np.sign, real_only=True)  # sign(z) = z / |z| for complex z
defnondiff(
    np.floor, np.ceil, np.trunc, np.rint, np.floor_divide,
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
    np.isnan, np.isinf, np.isfinite, np.signbit, np.spacing,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert, np.left_shift, np.right_shift,
    np.gcd, np.lcm,
)  # fmt: skip
