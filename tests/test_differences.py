"""diff, ediff1d, gradient, trapezoid, cross, convolve and correlate: values against NumPy, rules
against finite differences (orders 1 and 2, both modes) with ``check_rule``, and their errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule


def _value(f, *args):
    return cr.vjp(f, *args)[0]


DIFF_CASES = [
    ({}, [(5,), (3, 4)]),
    ({"n": 2}, [(5,), (3, 4)]),
    ({"n": 0}, [(4,)]),
    ({"axis": 0}, [(3, 4), (3, 2, 2)]),
    ({"n": 3, "axis": -2}, [(5, 2)]),
]


@pytest.mark.parametrize(("kwargs", "shapes"), DIFF_CASES, ids=str)
def test_diff_rule(kwargs, shapes):
    check_rule(np.diff, nargs=1, shapes=shapes, kwargs=kwargs)
    x = np.random.default_rng(1).normal(size=shapes[-1])
    np.testing.assert_array_equal(_value(lambda a: np.diff(a, **kwargs), x), np.diff(x, **kwargs))


def test_diff_prepend_append_traced_and_plain():
    # prepend/append traced: both the array and the extras get their derivatives
    check_rule(
        lambda a, p, q: np.diff(a, prepend=p, append=q),
        nargs=3,
        shapes=[((4,), (1,), (2,)), ((2, 3), (2, 1), (2, 2))],
    )
    check_rule(lambda a, p: np.diff(a, axis=0, prepend=p), nargs=2, shapes=[((3, 2), ())])
    x = np.array([1.0, 4.0, 9.0])
    got = _value(lambda a: np.diff(a, prepend=0.0, append=[20.0, 30.0]), x)
    np.testing.assert_array_equal(got, np.diff(x, prepend=0.0, append=[20.0, 30.0]))
    # d/dx_i of sum(diff(x, prepend=0)) = d(x_last - 0) = e_last
    np.testing.assert_array_equal(cr.grad(lambda a: np.sum(np.diff(a, prepend=0.0)))(x), [0.0, 0.0, 1.0])


def test_diff_errors():
    x = np.ones(3)
    with pytest.raises(ValueError, match="non-negative"):
        cr.grad(lambda a: np.sum(np.diff(a, n=-1)))(x)
    with pytest.raises(np.exceptions.AxisError):
        cr.grad(lambda a: np.sum(np.diff(a, axis=2)))(x)


def test_ediff1d():
    check_rule(np.ediff1d, nargs=1, shapes=[(5,), (2, 3)])
    check_rule(lambda a, b, e: np.ediff1d(a, to_begin=b, to_end=e), nargs=3, shapes=[((4,), (2,), ())])
    x = np.array([[1.0, 3.0], [6.0, 10.0]])
    np.testing.assert_array_equal(_value(lambda a: np.ediff1d(a, to_end=[7.0], to_begin=-1.0), x),
                                  np.ediff1d(x, to_end=[7.0], to_begin=-1.0))  # fmt: skip


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize(
    "spacing",
    [(), (0.5,), ("coords",)],
    ids=["unit", "scalar", "coordinates"],
)
def test_gradient(edge_order, spacing):
    coords = np.array([0.0, 0.3, 1.0, 1.2, 2.0])
    args = tuple(coords if s == "coords" else s for s in spacing)

    def f(y):
        return np.gradient(y, *args, edge_order=edge_order)

    check_rule(f, nargs=1, shapes=[(5,)])
    y = np.random.default_rng(2).normal(size=5)
    np.testing.assert_allclose(_value(f, y), f(y), rtol=1e-12, atol=1e-12)


def test_gradient_axes_and_traced_coordinates():
    y = np.random.default_rng(3).normal(size=(4, 3))
    got = _value(lambda a: np.gradient(a), y)
    for g, ref in zip(got, np.gradient(y)):
        np.testing.assert_allclose(g, ref, rtol=1e-12)
    check_rule(lambda a: np.gradient(a, axis=1), nargs=1, shapes=[(4, 3)])
    check_rule(lambda a: np.gradient(a, 2.0, 0.5)[0], nargs=1, shapes=[(4, 3)])
    # the sample coordinates themselves traced
    check_rule(
        lambda a, x: np.gradient(a, x, edge_order=2), nargs=2, shapes=[((5,), (5,))],
        args_factory=lambda rng, s: (rng.normal(size=5), np.cumsum(rng.uniform(0.5, 1.0, 5))),
    )  # fmt: skip
    with pytest.raises(ValueError, match="too small"):
        cr.grad(lambda a: np.sum(np.gradient(a, edge_order=2)))(np.ones(2))


def test_trapezoid():
    if not hasattr(np, "trapezoid"):
        pytest.skip("numpy.trapezoid is new in NumPy 2.0")
    check_rule(np.trapezoid, nargs=1, shapes=[(5,), (3, 4)])
    check_rule(
        lambda y, x: np.trapezoid(y, x), nargs=2, shapes=[((5,), (5,)), ((2, 4), (4,)), ((2, 4), (2, 4))]
    )
    check_rule(lambda y: np.trapezoid(y, dx=0.3, axis=0), nargs=1, shapes=[(4, 2)])
    y = np.array([1.0, 2.0, 4.0])
    x = np.array([0.0, 1.0, 3.0])
    # (1 + 2)/2 * 1 + (2 + 4)/2 * 2 = 7.5
    assert _value(lambda a: np.trapezoid(a, x), y) == 7.5


def test_cross():
    check_rule(np.cross, nargs=2, shapes=[((3,), (3,)), ((4, 3), (3,)), ((2, 1, 3), (4, 3))])
    check_rule(lambda a, b: np.cross(a, b, axisa=0, axisb=0), nargs=2, shapes=[((3, 2), (3, 2))])
    check_rule(lambda a, b: np.cross(a, b, axis=0), nargs=2, shapes=[((3, 2), (3, 2))])
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    np.testing.assert_array_equal(_value(np.cross, a, b), [0.0, 0.0, 1.0])
    with pytest.warns(DeprecationWarning, match="2-dimensional vectors"):
        got = _value(np.cross, a, b[:2])
    with pytest.warns(DeprecationWarning, match="2-dimensional vectors"):
        np.testing.assert_array_equal(got, np.cross(a, b[:2]))
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        cr.grad(lambda v: np.sum(np.cross(v, v)))(np.ones(4))


@pytest.mark.parametrize("fun", [np.convolve, np.correlate])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_correlate(fun, mode):
    check_rule(
        lambda a, v: fun(a, v, mode), nargs=2, shapes=[((5,), (3,)), ((3,), (5,)), ((4,), (4,)), ((1,), (3,))]
    )
    rng = np.random.default_rng(4)
    for n in range(1, 6):
        for m in range(1, 6):
            a, v = rng.normal(size=n), rng.normal(size=m)
            np.testing.assert_allclose(
                _value(lambda x, y: fun(x, y, mode), a, v), fun(a, v, mode), rtol=1e-13
            )


def test_convolve_errors():
    with pytest.raises(ValueError, match="mode"):
        cr.grad(lambda a: np.sum(np.convolve(a, a, "wide")))(np.ones(3))
    with pytest.raises(ValueError, match="1-D"):
        cr.grad(lambda a: np.sum(np.convolve(a, a)))(np.ones((2, 2)))
    # complex values: tests/test_complex_sweep.py
