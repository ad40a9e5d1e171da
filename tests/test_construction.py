"""Ranges with traced endpoints, fills, grids, rollaxis, select and piecewise: values against
NumPy, rules against finite differences with ``check_rule``, and the refusals."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import ComplexValueError, InPlaceError, UnsupportedOperationError


def _value(f, *args):
    return cr.vjp(f, *args)[0]


RANGE_CASES = [
    (num, endpoint, axis) for num in (0, 1, 2, 6) for endpoint in (True, False) for axis in (0, -1)
]


@pytest.mark.parametrize("fun", [np.linspace, np.logspace, np.geomspace])
@pytest.mark.parametrize(("num", "endpoint", "axis"), RANGE_CASES)
def test_range_values(fun, num, endpoint, axis):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 1.5, 3), rng.uniform(2.0, 3.0, (2, 1))
    got = _value(lambda s, e: fun(s, e, num, endpoint, axis=axis), a, b)
    ref = fun(a, b, num, endpoint, axis=axis)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-14)


@pytest.mark.parametrize("fun", [np.linspace, np.logspace, np.geomspace])
def test_range_rules(fun):
    # endpoints broadcast against each other; the samples along a new axis
    check_rule(
        lambda s, e: fun(s, e, 5), nargs=2, domain=(0.5, 2.0),
        shapes=[((), ()), ((3,), ()), ((2, 1), (3,))],
    )  # fmt: skip
    check_rule(
        lambda s, e: fun(s, e, 4, endpoint=False, axis=-1), nargs=2, domain=(0.5, 2.0), shapes=[((2,), (2,))]
    )


def test_linspace_retstep_base_and_dtype():
    check_rule(lambda s, e: np.linspace(s, e, 5, retstep=True)[1], nargs=2)
    y, step = _value(lambda v: np.linspace(v[0], v[1], 5, retstep=True), np.array([1.0, 3.0]))
    np.testing.assert_array_equal(y, np.linspace(1.0, 3.0, 5))
    assert step == 0.5
    check_rule(lambda b: np.logspace(0.0, 2.0, 4, base=b), nargs=1, domain=(1.5, 3.0), shapes=[()])
    # an integer dtype floors the samples: piecewise constant, so a plain result
    got = _value(lambda v: np.linspace(v, 10.0, 4, dtype=int), 1.0)
    np.testing.assert_array_equal(got, np.linspace(1.0, 10.0, 4, dtype=int))
    assert type(got) is np.ndarray
    # the derivative of the first sample in start is 1, of the last in stop is 1
    jac = cr.jacobian(lambda v: np.linspace(v[0], v[1], 3))(np.array([1.0, 3.0]))
    np.testing.assert_allclose(jac, [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])


def test_geomspace_errors():
    with pytest.raises(ValueError, match="opposite signs"):
        cr.grad(lambda v: np.sum(np.geomspace(v, 4.0, 3)))(-1.0)
    with pytest.raises(ValueError, match="zero"):
        cr.grad(lambda v: np.sum(np.geomspace(v * 0.0, 4.0, 3)))(1.0)


def test_full_like_traced_fill():
    x = np.array([1.0, 2.0, 3.0])
    # issue 11 class 1: full_like(x, x[0]) was declared derivative-free and gave zeros
    np.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.full_like(v, v[0])))(x), [3.0, 0.0, 0.0])
    np.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.full_like(v, 2.0) * v))(x), [2.0, 2.0, 2.0])
    check_rule(lambda v: np.full_like(np.ones((2, 4)), 0.0) + np.full_like(v, v[0]), nargs=1, shapes=[(4,)])
    got = _value(lambda v: np.full_like(v, v[1], shape=(2, 2)), x)
    np.testing.assert_array_equal(got, np.full((2, 2), 2.0))
    # an integer target truncates: a plain result
    assert type(_value(lambda v: np.full_like(v, v[1], dtype=int), x)) is np.ndarray


def test_full_with_traced_fill_is_refused_clearly():
    # NumPy allocates first and writes with copyto: that write cannot be recorded
    with pytest.raises(InPlaceError, match=r"np.broadcast_to\(v, shape\)"):
        cr.grad(lambda v: np.sum(np.full(3, v, dtype=float)))(1.0)
    with pytest.raises(InPlaceError, match="full_like"):
        cr.grad(lambda v: np.sum(np.full_like(np.ones(3), v)))(1.0)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
def test_meshgrid(indexing, sparse):
    a, b, c = np.arange(3.0), np.arange(4.0) + 0.5, np.arange(2.0) - 1
    got = _value(lambda x, y, z: np.meshgrid(x, y, z, indexing=indexing, sparse=sparse), a, b, c)
    for g, r in zip(got, np.meshgrid(a, b, c, indexing=indexing, sparse=sparse)):
        np.testing.assert_array_equal(g, r)
    check_rule(
        lambda x, y: np.meshgrid(x, y, indexing=indexing, sparse=sparse), nargs=2,
        shapes=[((3,), (4,)), ((2,), ())],
    )  # fmt: skip


@pytest.mark.parametrize(("axis", "start"), [(2, 0), (0, 3), (1, 1), (-1, 1), (0, -1)])
def test_rollaxis(axis, start):
    x = np.random.default_rng(1).normal(size=(2, 3, 4))
    np.testing.assert_array_equal(
        _value(lambda a: np.rollaxis(a, axis, start), x), np.rollaxis(x, axis, start)
    )
    check_rule(lambda a: np.rollaxis(a, axis, start), nargs=1, shapes=[(2, 3, 4)])


def test_select():
    def f(x, y):
        return np.select([x < 0, x > 1, y > 0], [x**2, 3.0 * y, x * y], default=y)

    check_rule(f, nargs=2, shapes=[((4,), (4,)), ((2, 3), (3,))], domain=(-2.0, 2.0))
    x, y = np.array([-1.0, 2.0, 0.5, 0.5]), np.array([1.0, 1.0, 1.0, -1.0])
    np.testing.assert_array_equal(_value(f, x, y), f(x, y))
    with pytest.raises(TypeError, match="boolean"):
        cr.grad(lambda v: np.sum(np.select([v], [v])))(np.ones(2))


def test_piecewise():
    funcs = [lambda v: v**2, lambda v: np.sin(v), 0.5]

    def f(x):
        return np.piecewise(x, [x < 0, x > 1], funcs)

    x = np.array([-2.0, -0.5, 0.5, 1.5, 3.0])
    np.testing.assert_allclose(_value(f, x), f(x))
    np.testing.assert_allclose(
        cr.grad(lambda v: np.sum(f(v)))(x), [-4.0, -1.0, 0.0, np.cos(1.5), np.cos(3.0)]
    )
    # (vmap(grad) is refused: piecewise selects x[cond], whose shape differs by example)
    check_rule(f, nargs=1, shapes=[(5,), (2, 3)], domain=(-2.0, 3.0), batching="no vmap of grad")
    # one condition, functions with extra arguments; later conditions win where both hold
    g = lambda v: np.piecewise(v, [v > 0, v > 1], [lambda u, k: k * u, lambda u, k: k * u * u], 3.0)
    np.testing.assert_allclose(_value(g, x), g(x))
    # a list of booleans is one condition, as NumPy reads it; a bare array too
    h = lambda v: np.piecewise(v, [True, False, True, False, True], [lambda u: u**2, 7.0])
    np.testing.assert_allclose(_value(h, x), h(x))
    np.testing.assert_allclose(cr.grad(lambda v: np.sum(h(v)))(x), [-4.0, 0.0, 1.0, 0.0, 6.0])
    k = lambda v: np.piecewise(v, v > 0, [lambda u: u**2, lambda u: -u])
    np.testing.assert_allclose(_value(k, x), k(x))
    with pytest.raises(ValueError, match="functions are expected"):
        cr.grad(lambda v: np.sum(np.piecewise(v, [v > 0], [1.0, 2.0, 3.0])))(x)


def test_unsupported_options_are_refused():
    with pytest.raises((UnsupportedOperationError, ComplexValueError), match="complex"):
        cr.grad(lambda v: np.sum(np.abs(np.geomspace(v, 1j, 3))))(1.0)
