"""polyval, vander, polyfit (in y), interp (in x, xp and fp) and i0: values against NumPy,
rules against finite differences with ``check_rule``, kinks and refusals."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import UnsupportedOperationError


def _value(f, *args):
    return cr.vjp(f, *args)[0]


def test_polyval():
    # coefficients and points both traced; the points broadcast in any shape
    check_rule(np.polyval, nargs=2, shapes=[((3,), ()), ((4,), (5,)), ((1,), (2, 3))])
    p, x = np.array([2.0, -1.0, 0.5]), np.array([[0.0, 1.0], [2.0, -3.0]])
    np.testing.assert_allclose(_value(np.polyval, p, x), np.polyval(p, x))
    # d/dp of p0 x^2 + p1 x + p2 at x = 2 is (4, 2, 1)
    np.testing.assert_array_equal(cr.grad(lambda c: np.polyval(c, 2.0))(p), [4.0, 2.0, 1.0])


@pytest.mark.parametrize(("n", "increasing"), [(None, False), (3, False), (5, True), (1, True), (0, False)])
def test_vander(n, increasing):
    x = np.array([0.0, -1.5, 2.0, 0.5])
    np.testing.assert_array_equal(
        _value(lambda v: np.vander(v, n, increasing), x), np.vander(x, n, increasing)
    )
    if n != 0:
        check_rule(lambda v: np.vander(v, n, increasing), nargs=1, shapes=[(4,), (1,)])


@pytest.mark.parametrize("deg", [0, 1, 3])
def test_polyfit_in_y(deg):
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-2.0, 2.0, 9))
    w = rng.uniform(0.5, 1.5, 9)
    for y in (rng.normal(size=9), rng.normal(size=(9, 2))):
        np.testing.assert_allclose(
            _value(lambda v: np.polyfit(x, v, deg), y), np.polyfit(x, y, deg), atol=1e-12
        )
        np.testing.assert_allclose(
            _value(lambda v: np.polyfit(x, v, deg, w=w), y), np.polyfit(x, y, deg, w=w), atol=1e-12
        )
    check_rule(lambda v: np.polyfit(x, v, deg), nargs=1, shapes=[(9,), (9, 3)])
    # a polynomial of degree deg is fitted exactly, and the fit is linear in y: d c / d y is the fit of e_i
    jac = cr.jacobian(lambda v: np.polyfit(x, v, deg))(np.polyval(np.arange(deg + 1.0), x))
    for i in range(9):
        np.testing.assert_allclose(jac[:, i], np.polyfit(x, np.eye(9)[i], deg), atol=1e-10)


def test_polyfit_refusals():
    x = np.linspace(0.0, 1.0, 5)
    with pytest.raises(UnsupportedOperationError, match="differentiable in y only"):
        cr.grad(lambda v: np.sum(np.polyfit(v, x, 1)))(x)
    with pytest.raises(UnsupportedOperationError, match="full=True"):
        cr.grad(lambda v: np.sum(np.polyfit(x, v, 1, full=True)[0]))(x)


def _interp_args(rng, shapes):
    """Query points at least 0.05 from every knot, so differences never cross a kink."""
    (sx, sxp, sfp) = shapes
    xp = np.cumsum(rng.uniform(0.5, 1.0, sxp))
    x = rng.uniform(xp[0] - 1.0, xp[-1] + 1.0, sx)
    near = np.min(np.abs(x[..., None] - xp), axis=-1) < 0.05
    x = np.where(near, x + 0.1, x)
    return x, xp, rng.normal(size=sfp)


def test_interp():
    check_rule(
        lambda x, xp, fp: np.interp(x, xp, fp), nargs=3, args_factory=_interp_args,
        shapes=[((7,), (5,), (5,)), ((2, 3), (4,), (4,)), ((), (3,), (3,))],
    )  # fmt: skip
    check_rule(
        lambda x, xp, fp: np.interp(x, xp, fp, left=-1.0, right=2.0), nargs=3, args_factory=_interp_args,
        shapes=[((9,), (4,), (4,))],
    )  # fmt: skip
    rng = np.random.default_rng(1)
    x, xp, fp = _interp_args(rng, [(20,), (6,), (6,)])
    np.testing.assert_allclose(_value(np.interp, x, xp, fp), np.interp(x, xp, fp), rtol=1e-14)
    np.testing.assert_allclose(
        _value(lambda a, b: np.interp(a, xp, fp, left=b, right=b * 2), x, -3.0),
        np.interp(x, xp, fp, left=-3.0, right=-6.0), rtol=1e-14,
    )  # fmt: skip


def test_interp_kinks():
    xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 3.0])
    # at an inner knot: the slope of the segment to the right; at the last knot the last segment's
    g = cr.grad(lambda x: np.sum(np.interp(x, xp, fp)))(np.array([1.0, 3.0, 0.0]))
    np.testing.assert_array_equal(g, [0.5, 0.5, 2.0])
    # outside the knots the value is constant: zero derivative
    np.testing.assert_array_equal(
        cr.grad(lambda x: np.sum(np.interp(x, xp, fp)))(np.array([-1.0, 4.0])), [0, 0]
    )
    with pytest.raises(UnsupportedOperationError, match="period="):
        cr.grad(lambda x: np.interp(x, xp, fp, period=2.0))(0.5)


def test_i0():
    check_rule(np.i0, nargs=1, domain=(-4.0, 4.0))
    check_rule(np.i0, nargs=1, shapes=[(3,)], domain=(20.0, 40.0), rtol=1e-7)
    x = np.array([0.0, 0.5, -3.0, 30.0])
    np.testing.assert_allclose(_value(np.i0, x), np.i0(x))
    # I0'(0) = 0, I0''(0) = 1/2
    assert cr.grad(np.i0)(0.0) == 0.0
    assert cr.grad(cr.grad(np.i0))(0.0) == 0.5
    # I0' = I1, against an independent value: I1(1) = 0.565159103992485...
    np.testing.assert_allclose(cr.grad(np.i0)(1.0), 0.5651591039924851, rtol=1e-14)
