"""Derivative rules of NumPy's elementwise functions (ufuncs, ``where``, ``clip``).

Each rule is one line in two stages: ``lambda ans, x: lambda g: ...`` (what
the forward pass gives, then what to do with the cotangent ``g``), and a
forward rule ``lambda t, ans, x: ...``. Constants are Python floats so that
float32 stays float32 (NumPy scalars would promote under NEP 50).

Subgradients at kinks, chosen once and used everywhere:

* ``abs`` at 0: 0 (the sign).
* ``maximum``/``minimum``/``fmax``/``fmin`` with ties: half to each argument.
* ``clip`` at its bounds: the gradient passes to ``x`` (bounds inclusive).
* rounding, ``sign``, ``heaviside``, ``floor_divide``, comparisons: zero
  gradient; they return plain arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import NONDIFF_UFUNCS, Primitive, defjvp, defvjp
from ..dispatch import register_function
from .broadcasting import masked_product as mp
from .broadcasting import masked_quotient as mq
from .broadcasting import times_fresh

LN2 = math.log(2.0)
LN10 = math.log(10.0)
DEG = math.pi / 180.0

# -- linear and arithmetic ----------------------------------------------------
defvjp(np.negative, lambda ans, x: lambda g: -g)
defjvp(np.negative, lambda t, ans, x: -t)
defvjp(np.positive, lambda ans, x: lambda g: g)
defjvp(np.positive, lambda t, ans, x: t)

defvjp(np.add, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: g)
defjvp(np.add, lambda t, ans, x, y: t, lambda t, ans, x, y: t)
defvjp(np.subtract, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: -g)
defjvp(np.subtract, lambda t, ans, x, y: t, lambda t, ans, x, y: -t)
defvjp(np.multiply, lambda ans, x, y: lambda g: g * y, lambda ans, x, y: lambda g: g * x)
defjvp(np.multiply, lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t)
defvjp(
    np.true_divide,
    lambda ans, x, y: lambda g: mq(g, y),
    lambda ans, x, y: lambda g: mp(-g, x / (y * y)),
)
defjvp(np.true_divide, lambda t, ans, x, y: t / y, lambda t, ans, x, y: -t * x / (y * y))
defvjp(np.reciprocal, lambda ans, x: lambda g: mp(-g, ans * ans))
defjvp(np.reciprocal, lambda t, ans, x: -t * ans * ans)
defvjp(np.square, lambda ans, x: lambda g: times_fresh(g, 2.0 * x))
defjvp(np.square, lambda t, ans, x: t * (2.0 * x))
defvjp(np.sqrt, lambda ans, x: lambda g: mq(0.5 * g, ans))
defjvp(np.sqrt, lambda t, ans, x: t * (0.5 / ans))
defvjp(np.cbrt, lambda ans, x: lambda g: mp(g, 1.0 / (3.0 * ans * ans)))
defjvp(np.cbrt, lambda t, ans, x: t / (3.0 * ans * ans))
defvjp(np.absolute, lambda ans, x: lambda g: g * np.sign(x))
defjvp(np.absolute, lambda t, ans, x: t * np.sign(x))
defvjp(np.fabs, lambda ans, x: lambda g: g * np.sign(x))
defjvp(np.fabs, lambda t, ans, x: t * np.sign(x))


def _power_dx(x: Any, y: Any) -> Any:
    # d/dx x**y = y * x**(y-1); 0 where y == 0 (x**0 is constant, even at x = 0).
    d = y * x ** (y - 1.0)
    return np.where(y == 0, 0.0, d) if np.any(y == 0) else d


def _power_dy(ans: Any, x: Any) -> Any:
    # d/dy x**y = x**y * log(x); 0 at x == 0 (the limit from x > 0, as JAX does).
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_x = np.where(x == 0, 1.0, x) if np.any(x == 0) else x
        return ans * np.log(safe_x)


defvjp(
    np.power,
    lambda ans, x, y: lambda g: mp(g, _power_dx(x, y)),
    lambda ans, x, y: lambda g: mp(g, _power_dy(ans, x)),
)
defjvp(np.power, lambda t, ans, x, y: t * _power_dx(x, y), lambda t, ans, x, y: t * _power_dy(ans, x))
defvjp(
    np.float_power,
    lambda ans, x, y: lambda g: mp(g, _power_dx(x, y)),
    lambda ans, x, y: lambda g: mp(g, _power_dy(ans, x)),
)
defjvp(np.float_power, lambda t, ans, x, y: t * _power_dx(x, y), lambda t, ans, x, y: t * _power_dy(ans, x))

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
defvjp(np.exp, lambda ans, x: lambda g: g * ans)
defjvp(np.exp, lambda t, ans, x: t * ans)
defvjp(np.exp2, lambda ans, x: lambda g: g * (ans * LN2))
defjvp(np.exp2, lambda t, ans, x: t * (ans * LN2))
defvjp(np.expm1, lambda ans, x: lambda g: g * (ans + 1.0))
defjvp(np.expm1, lambda t, ans, x: t * (ans + 1.0))
defvjp(np.log, lambda ans, x: lambda g: mq(g, x))
defjvp(np.log, lambda t, ans, x: t / x)
defvjp(np.log2, lambda ans, x: lambda g: mq(g, x * LN2, fresh=True))
defjvp(np.log2, lambda t, ans, x: t / (x * LN2))
defvjp(np.log10, lambda ans, x: lambda g: mq(g, x * LN10, fresh=True))
defjvp(np.log10, lambda t, ans, x: t / (x * LN10))
defvjp(np.log1p, lambda ans, x: lambda g: mq(g, x + 1.0, fresh=True))
defjvp(np.log1p, lambda t, ans, x: t / (x + 1.0))
defvjp(
    np.logaddexp,
    lambda ans, x, y: lambda g: g * np.exp(x - ans),
    lambda ans, x, y: lambda g: g * np.exp(y - ans),
)
defjvp(
    np.logaddexp,
    lambda t, ans, x, y: t * np.exp(x - ans),
    lambda t, ans, x, y: t * np.exp(y - ans),
)
defvjp(
    np.logaddexp2,
    lambda ans, x, y: lambda g: g * np.exp2(x - ans),
    lambda ans, x, y: lambda g: g * np.exp2(y - ans),
)
defjvp(
    np.logaddexp2,
    lambda t, ans, x, y: t * np.exp2(x - ans),
    lambda t, ans, x, y: t * np.exp2(y - ans),
)

# -- trigonometric and hyperbolic ------------------------------------------------
defvjp(np.sin, lambda ans, x: lambda g: times_fresh(g, np.cos(x)))
defjvp(np.sin, lambda t, ans, x: t * np.cos(x))
defvjp(np.cos, lambda ans, x: lambda g: times_fresh(g, -np.sin(x)))
defjvp(np.cos, lambda t, ans, x: -t * np.sin(x))
defvjp(np.tan, lambda ans, x: lambda g: g * (1.0 + ans * ans))
defjvp(np.tan, lambda t, ans, x: t * (1.0 + ans * ans))
defvjp(np.arcsin, lambda ans, x: lambda g: mp(g, 1.0 / np.sqrt(1.0 - x * x)))
defjvp(np.arcsin, lambda t, ans, x: t / np.sqrt(1.0 - x * x))
defvjp(np.arccos, lambda ans, x: lambda g: mp(g, -1.0 / np.sqrt(1.0 - x * x)))
defjvp(np.arccos, lambda t, ans, x: -t / np.sqrt(1.0 - x * x))
defvjp(np.arctan, lambda ans, x: lambda g: g / (1.0 + x * x))
defjvp(np.arctan, lambda t, ans, x: t / (1.0 + x * x))
defvjp(np.sinh, lambda ans, x: lambda g: g * np.cosh(x))
defjvp(np.sinh, lambda t, ans, x: t * np.cosh(x))
defvjp(np.cosh, lambda ans, x: lambda g: g * np.sinh(x))
defjvp(np.cosh, lambda t, ans, x: t * np.sinh(x))


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


defvjp(np.tanh, lambda ans, x: lambda g: _tanh_cotangent(g, ans))
defjvp(np.tanh, lambda t, ans, x: t * (1.0 - ans * ans))
defvjp(np.arcsinh, lambda ans, x: lambda g: g / np.sqrt(x * x + 1.0))
defjvp(np.arcsinh, lambda t, ans, x: t / np.sqrt(x * x + 1.0))
defvjp(np.arccosh, lambda ans, x: lambda g: mp(g, 1.0 / np.sqrt(x * x - 1.0)))
defjvp(np.arccosh, lambda t, ans, x: t / np.sqrt(x * x - 1.0))
defvjp(np.arctanh, lambda ans, x: lambda g: mp(g, 1.0 / (1.0 - x * x)))
defjvp(np.arctanh, lambda t, ans, x: t / (1.0 - x * x))
defvjp(np.deg2rad, lambda ans, x: lambda g: g * DEG)
defjvp(np.deg2rad, lambda t, ans, x: t * DEG)
defvjp(np.radians, lambda ans, x: lambda g: g * DEG)
defjvp(np.radians, lambda t, ans, x: t * DEG)
defvjp(np.rad2deg, lambda ans, x: lambda g: g / DEG)
defjvp(np.rad2deg, lambda t, ans, x: t / DEG)
defvjp(np.degrees, lambda ans, x: lambda g: g / DEG)
defjvp(np.degrees, lambda t, ans, x: t / DEG)


def _hypot_d(x: Any, ans: Any) -> Any:
    # x / hypot(x, y); 0 where both are 0 (the same choice as norm at 0).
    if np.any(ans == 0):
        return np.where(ans == 0, 0.0, x / np.where(ans == 0, 1.0, ans))
    return x / ans


defvjp(
    np.hypot,
    lambda ans, x, y: lambda g: g * _hypot_d(x, ans),
    lambda ans, x, y: lambda g: g * _hypot_d(y, ans),
)
defjvp(np.hypot, lambda t, ans, x, y: t * _hypot_d(x, ans), lambda t, ans, x, y: t * _hypot_d(y, ans))
defvjp(
    np.arctan2,
    lambda ans, y, x: lambda g: mp(g, x / (x * x + y * y)),
    lambda ans, y, x: lambda g: mp(g, -y / (x * x + y * y)),
)
defjvp(
    np.arctan2,
    lambda t, ans, y, x: t * x / (x * x + y * y),
    lambda t, ans, y, x: -t * y / (x * x + y * y),
)


# -- selection: maximum, minimum, where, clip ---------------------------------
def _share(x: Any, y: Any, ans: Any, nan_aware: bool) -> Any:
    """The weight of x in max/min(x, y): 1 where x was chosen, 0.5 on ties."""
    px, py = _plain(x), _plain(y)
    chosen = (px != py) & (_plain(ans) == px)
    w = np.where(chosen, 1.0, np.where(px == py, 0.5, 0.0))
    if nan_aware:  # fmax/fmin skip a NaN argument
        w = np.where(np.isnan(py) & ~np.isnan(px), 1.0, w)
    return w.astype(np.result_type(px, py, np.float16))


def _plain(x: Any) -> Any:
    from ..core import primal

    return primal(x)


for _ufunc, _nan in ((np.maximum, False), (np.minimum, False), (np.fmax, True), (np.fmin, True)):
    defvjp(
        _ufunc,
        lambda ans, x, y, _n=_nan: lambda g: g * _share(x, y, ans, _n),
        lambda ans, x, y, _n=_nan: lambda g: g * _share(y, x, ans, _n),
    )
    defjvp(
        _ufunc,
        lambda t, ans, x, y, _n=_nan: t * _share(x, y, ans, _n),
        lambda t, ans, x, y, _n=_nan: t * _share(y, x, ans, _n),
    )


def _where_impl(cond: Any, x: Any, y: Any) -> Any:
    return np.where(cond, x, y)


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
    from ..core import primal

    if x is None and y is None:
        return np.nonzero(primal(condition))
    return where_p(primal(condition), x, y)


register_function(np.where, _where)


def _clip_impl(x: Any, lo: Any, hi: Any) -> Any:
    return np.clip(x, lo, hi)


def _inside(x: Any, lo: Any, hi: Any) -> Any:
    px = _plain(x)
    inside = np.ones(np.shape(px), dtype=bool)
    if lo is not None:
        inside = inside & (px >= _plain(lo))
    if hi is not None:
        inside = inside & (px <= _plain(hi))
    return inside


clip_p = Primitive("numpy.clip", _clip_impl, broadcasts=True)
defvjp(
    clip_p,
    lambda ans, x, lo, hi: lambda g: np.where(_inside(x, lo, hi), g, 0.0),
    lambda ans, x, lo, hi: lambda g: np.where(_plain(x) < _plain(lo), g, 0.0),
    lambda ans, x, lo, hi: lambda g: np.where(_plain(x) > _plain(hi), g, 0.0),
)
defjvp(
    clip_p,
    lambda t, ans, x, lo, hi: np.where(_inside(x, lo, hi), t, 0.0),
    lambda t, ans, x, lo, hi: np.where(_plain(x) < _plain(lo), t, 0.0),
    lambda t, ans, x, lo, hi: np.where(_plain(x) > _plain(hi), t, 0.0),
)


def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kwargs: Any) -> Any:
    if out is not None:
        from ..errors import InPlaceError

        raise InPlaceError("np.clip(..., out=...) writes in place; use y = np.clip(x, lo, hi).")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    return clip_p(a, a_min, a_max)


register_function(np.clip, _clip)


def _sinc_d(x: Any) -> Any:
    # d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0.
    px = _plain(x)
    at0 = px == 0
    safe = np.where(at0, 1.0, x) if np.any(at0) else x
    d = (np.cos(math.pi * safe) - np.sinc(safe)) / safe
    return np.where(at0, 0.0, d) if np.any(at0) else d


sinc_p = Primitive("numpy.sinc", np.sinc)
defvjp(sinc_p, lambda ans, x: lambda g: g * _sinc_d(x))
defjvp(sinc_p, lambda t, ans, x: t * _sinc_d(x))
register_function(np.sinc, sinc_p.__call__)

# -- no derivative: these return plain arrays ----------------------------------
NONDIFF_UFUNCS.update(
    {
        np.sign, np.floor, np.ceil, np.trunc, np.rint, np.heaviside, np.floor_divide,
        np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
        np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
        np.isnan, np.isinf, np.isfinite, np.signbit, np.spacing,
        np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert, np.left_shift, np.right_shift,
        np.gcd, np.lcm,
    }
)  # fmt: skip
