"""Every elementwise rule against finite differences, with broadcasting, at orders 1 and 2."""

import numpy as np
import pytest

from chainrule.check import BROADCAST_PAIRS, check_derivatives, check_rule

RNG = np.random.default_rng(0)


def _draw(shape, low, high):
    return RNG.uniform(low, high, size=shape)


# (function, domain of its inputs)
UNARY = [
    (np.negative, (-2, 2)), (np.positive, (-2, 2)), (np.exp, (-2, 2)), (np.exp2, (-2, 2)),
    (np.expm1, (-2, 2)), (np.log, (0.2, 3)), (np.log2, (0.2, 3)), (np.log10, (0.2, 3)),
    (np.log1p, (-0.5, 3)), (np.sin, (-3, 3)), (np.cos, (-3, 3)), (np.tan, (-1.2, 1.2)),
    (np.arcsin, (-0.9, 0.9)), (np.arccos, (-0.9, 0.9)), (np.arctan, (-3, 3)),
    (np.sinh, (-2, 2)), (np.cosh, (-2, 2)), (np.tanh, (-2, 2)), (np.arcsinh, (-3, 3)),
    (np.arccosh, (1.2, 3)), (np.arctanh, (-0.9, 0.9)), (np.sqrt, (0.2, 3)), (np.cbrt, (0.2, 3)),
    (np.square, (-2, 2)), (np.reciprocal, (0.3, 3)), (np.abs, (0.1, 2)), (np.fabs, (-2, -0.1)),
    (np.deg2rad, (-3, 3)), (np.rad2deg, (-3, 3)), (np.radians, (-3, 3)), (np.degrees, (-3, 3)),
    (np.sinc, (-2, 2)),
]  # fmt: skip

BINARY = [
    (np.add, (-2, 2), (-2, 2)), (np.subtract, (-2, 2), (-2, 2)), (np.multiply, (-2, 2), (-2, 2)),
    (np.divide, (-2, 2), (0.5, 2)), (np.power, (0.5, 2), (-2, 2)), (np.float_power, (0.5, 2), (-2, 2)),
    (np.arctan2, (-2, 2), (0.5, 2)), (np.hypot, (0.5, 2), (-2, -0.5)), (np.logaddexp, (-2, 2), (-2, 2)),
    (np.logaddexp2, (-2, 2), (-2, 2)), (np.mod, (0.1, 0.9), (1.5, 2)), (np.fmod, (0.1, 0.9), (1.5, 2)),
    (np.maximum, (-2, -1), (1, 2)), (np.minimum, (-2, -1), (1, 2)),
    (np.fmax, (1, 2), (-2, -1)), (np.fmin, (1, 2), (-2, -1)),
    (np.copysign, (-2, -0.5), (0.5, 2)),
]  # fmt: skip

SHAPE_PAIRS = (
    BROADCAST_PAIRS  # ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2)), ((4, 1, 3), (2, 1))
)


@pytest.mark.parametrize(("fun", "domain"), UNARY, ids=lambda p: getattr(p, "__name__", ""))
def test_unary_rule(fun, domain):
    # shapes (), (4,), (2, 3); orders 1 and 2; every combination of rev and fwd
    check_rule(fun, domain=domain, nargs=1)


@pytest.mark.parametrize(("fun", "dx", "dy"), BINARY, ids=lambda p: getattr(p, "__name__", ""))
def test_binary_rule_broadcasting(fun, dx, dy):
    # every pair of BROADCAST_PAIRS; orders 1 and 2; every combination of rev and fwd
    check_rule(fun, domain=(dx, dy))


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_operators_with_scalars_and_arrays_on_either_side(shapes):
    a = _draw(shapes[0], 0.5, 2)
    b = _draw(shapes[1], 0.5, 2)
    check_derivatives(lambda x, y: x + 2.0 * y - x / y + 3.0 / x + y**1.5 + 2.0**x - (1.0 - x) * y, a, b)
    check_derivatives(lambda x, y: x % 3.0 + (x**y) + np.float64(2.0) * x, a, b)
    c = np.full(shapes[1], 1.5)
    check_derivatives(lambda x: c * x + c / x + x**c + c**x - c, a)


def test_where_and_clip():
    x = _draw((3, 4), -2, 2)
    y = _draw((4,), -2, 2)
    check_derivatives(lambda a, b: np.where(a > 0, a * b, np.sin(b)), x, y)
    check_derivatives(lambda a: np.clip(a, -1.0, 1.0), x + 0.01, order=2)
    check_derivatives(lambda a, lo: np.clip(a, lo, 1.5), x, np.full(4, -0.5))
