"""Reductions and cumulative functions against finite differences, and their edge cases.

The table sweeps function x shape x axis x keepdims at order 2 (order 1 for
the piecewise-linear max/min, on distinct values). The edge cases (zeros in
prod/cumprod, ties in max/min, zero variance in std, NaN in nansum/nanmean)
compare with values derived independently here, by explicit loops.
"""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_derivatives, check_rule
from chainrule.errors import InPlaceError, UnsupportedOperationError

RNG = np.random.default_rng(0)


def _draw(shape, low=0.5, high=1.5, signs=True):
    x = RNG.uniform(low, high, size=shape)
    return x * RNG.choice([-1.0, 1.0], size=shape) if signs else x


def _distinct(shape):
    """Values at least 0.1 apart, so finite differences never cross a max/min kink."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) - n / 2.0).reshape(shape) * 0.1


# name -> (f(a, axis, keepdims), order of the check; 1 marks piecewise-linear ones)
REDUCTIONS = {
    "sum": (lambda a, ax, kd: np.sum(a, axis=ax, keepdims=kd), 2),
    "mean": (lambda a, ax, kd: np.mean(a, axis=ax, keepdims=kd), 2),
    "prod": (lambda a, ax, kd: np.prod(a, axis=ax, keepdims=kd), 2),
    "var": (lambda a, ax, kd: np.var(a, axis=ax, keepdims=kd), 2),
    "var_ddof1": (lambda a, ax, kd: np.var(a, axis=ax, ddof=1, keepdims=kd), 2),
    "std": (lambda a, ax, kd: np.std(a, axis=ax, keepdims=kd), 2),
    "std_ddof1": (lambda a, ax, kd: np.std(a, axis=ax, ddof=1, keepdims=kd), 2),
    "nansum": (lambda a, ax, kd: np.nansum(a, axis=ax, keepdims=kd), 2),
    "nanmean": (lambda a, ax, kd: np.nanmean(a, axis=ax, keepdims=kd), 2),
    "average": (lambda a, ax, kd: np.average(a, axis=ax, keepdims=kd), 2),
    "max": (lambda a, ax, kd: np.max(a, axis=ax, keepdims=kd), 1),
    "min": (lambda a, ax, kd: np.min(a, axis=ax, keepdims=kd), 1),
    "amax": (lambda a, ax, kd: np.amax(a, axis=ax, keepdims=kd), 1),
    "amin": (lambda a, ax, kd: np.amin(a, axis=ax, keepdims=kd), 1),
    "ptp": (lambda a, ax, kd: np.ptp(a, axis=ax, keepdims=kd), 1),
}

AXES = {
    (5,): [None, 0, -1, (0,)],
    (3, 4): [None, 0, 1, -1, (0, 1), (-1, 0)],
    (2, 3, 4): [None, 0, -2, (0, 2), (1, -1)],
}
SHAPE_AXIS = [(shape, axis) for shape, axes in AXES.items() for axis in axes]


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize(("shape", "axis"), SHAPE_AXIS, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_table(name, shape, axis, keepdims):
    f, order = REDUCTIONS[name]
    x = _draw(shape) if order == 2 else _distinct(shape)
    y, _ = cr.vjp(lambda a: f(a, axis, keepdims), x)
    np.testing.assert_allclose(y, f(x, axis, keepdims), rtol=1e-15)
    check_derivatives(lambda a: f(a, axis, keepdims), x, order=order)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize(
    ("shape", "axis"),
    [((6,), None), ((6,), 0), ((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), 1)],
    ids=str,
)
def test_cumulative_table(name, shape, axis):
    fun = getattr(np, name)
    check_derivatives(lambda a: fun(a, axis=axis), _draw(shape), order=2)


def test_scalar_input_and_empty_axis_tuple():
    check_derivatives(lambda a: np.sum(a) * np.prod(a) + np.mean(a, axis=()), np.array(1.3), order=2)
    check_derivatives(lambda a: np.prod(a, axis=()), _draw((2, 3)), order=2)


# -- prod and cumprod with zeros ------------------------------------------------------------
def _others_expected(row):
    """For each i, the product of the other elements, by an explicit loop."""
    out = np.empty_like(row)
    for i in range(len(row)):
        p = 1.0
        for j, v in enumerate(row):
            if j != i:
                p *= v
        out[i] = p
    return out


PROD_ROWS = np.array(
    [
        [2.0, -1.5, 3.0, 0.5],  # no zero
        [2.0, 0.0, 3.0, 0.5],  # one zero
        [0.0, 1.5, 0.0, 4.0],  # two zeros
        [0.0, 0.0, 0.0, 0.0],  # all zeros
    ]
)


def test_prod_gradient_with_zeros_is_the_product_of_the_others():
    w = np.array([1.0, -2.0, 0.5, 3.0])
    g = cr.grad(lambda a: np.sum(np.prod(a, axis=1) * w))(PROD_ROWS)
    expected = np.stack([wi * _others_expected(r) for wi, r in zip(w, PROD_ROWS)])
    np.testing.assert_allclose(g, expected, rtol=1e-14, atol=0)
    assert g[1, 1] == 2.0 * 3.0 * 0.5 * -2.0  # the zero element gets the product of the rest
    assert np.all(g[2] == 0.0)  # two zeros: every first derivative vanishes
    # Forward mode, one unit tangent at a time.
    for i, j in itertools.product(range(4), range(4)):
        e = np.zeros_like(PROD_ROWS)
        e[i, j] = 1.0
        _, t = cr.jvp(lambda a: np.prod(a, axis=1), (PROD_ROWS,), (e,))
        assert t[i] == _others_expected(PROD_ROWS[i])[j]
        assert np.all(np.delete(t, i) == 0.0)


@pytest.mark.parametrize("row", [PROD_ROWS[1], PROD_ROWS[2], np.array([0.0, 2.0, 0.0, 0.0, 3.0])])
def test_prod_second_derivatives_with_zeros(row):
    # d2 prod / dx_i dx_j = product of all but i and j (i != j), 0 on the diagonal.
    n = len(row)
    expected = np.zeros((n, n))
    for i, j in itertools.product(range(n), range(n)):
        if i != j:
            expected[i, j] = np.prod([row[k] for k in range(n) if k not in (i, j)])
    for j in range(n):
        column = cr.grad(lambda a, j=j: cr.grad(np.prod)(a)[j])(row)
        np.testing.assert_allclose(column, expected[:, j], rtol=1e-14, atol=0)
        e = np.zeros(n)
        e[j] = 1.0
        _, fwd = cr.jvp(cr.grad(np.prod), (row,), (e,))
        np.testing.assert_allclose(fwd, expected[:, j], rtol=1e-14, atol=0)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
def test_prod_with_zeros_against_finite_differences_to_third_order(axis):
    # prod is a polynomial: finite differences are exact enough at any point.
    check_derivatives(lambda a: np.prod(a, axis=axis), PROD_ROWS[:3] * 0.7, order=3)


def _cumprod_grad_expected(x, w):
    """d/dx_i sum_k w_k prod_{j<=k} x_j, by explicit loops."""
    n = len(x)
    out = np.zeros(n)
    for i in range(n):
        for k in range(i, n):
            p = w[k]
            for j in range(k + 1):
                if j != i:
                    p *= x[j]
            out[i] += p
    return out


@pytest.mark.parametrize(
    "x",
    [
        np.array([1.5, -0.5, 2.0, 0.7, 1.2]),
        np.array([1.5, 0.0, 2.0, 0.7, 1.2]),
        np.array([0.0, 2.0, 0.0, 3.0, 0.5]),
        np.array([1.5, 2.0, 0.5, 3.0, 0.0]),
    ],
)
def test_cumprod_with_zeros(x):
    w = np.array([1.0, -1.0, 0.5, 2.0, 1.5])
    g = cr.grad(lambda a: np.sum(np.cumprod(a) * w))(x)
    np.testing.assert_allclose(g, _cumprod_grad_expected(x, w), rtol=1e-14, atol=1e-15)
    _, t = cr.jvp(lambda a: np.sum(np.cumprod(a) * w), (x,), (np.ones(5),))
    np.testing.assert_allclose(t, np.sum(_cumprod_grad_expected(x, w)), rtol=1e-14)
    check_derivatives(np.cumprod, x, order=3)
    check_derivatives(lambda a: np.cumprod(a * np.array([[1.0], [-2.0]]), axis=1), x, order=2)


# -- max and min: ties ------------------------------------------------------------------------
@pytest.mark.parametrize("fun", [np.max, np.amax])
def test_max_ties_split_equally(fun):
    np.testing.assert_array_equal(cr.grad(fun)(np.array([1.0, 3.0, 3.0, 2.0])), [0.0, 0.5, 0.5, 0.0])
    x = np.array([[5.0, 4.0, 5.0], [1.0, 4.0, 2.0]])
    g = cr.grad(lambda a: np.sum(fun(a, axis=1) * np.array([3.0, 2.0])))(x)
    np.testing.assert_array_equal(g, [[1.5, 0.0, 1.5], [0.0, 2.0, 0.0]])
    g = cr.grad(lambda a: np.sum(fun(a, axis=0, keepdims=True)))(x)
    np.testing.assert_array_equal(g, [[1.0, 0.5, 1.0], [0.0, 0.5, 0.0]])
    _, t = cr.jvp(lambda a: fun(a, axis=1), (x,), (np.array([[3.0, 0.0, 0.0], [1.0, 1.0, 1.0]]),))
    np.testing.assert_array_equal(t, [1.5, 1.0])


@pytest.mark.parametrize("fun", [np.min, np.amin])
def test_min_ties_split_equally(fun):
    np.testing.assert_array_equal(cr.grad(fun)(np.array([2.0, -1.0, 4.0, -1.0])), [0.0, 0.5, 0.0, 0.5])
    x = np.array([[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_array_equal(cr.grad(fun)(x), np.full((2, 2), 0.25))


def test_ptp_and_nan_in_max():
    np.testing.assert_array_equal(cr.grad(np.ptp)(np.array([1.0, 4.0, 0.0, 4.0])), [0.0, 0.5, -1.0, 0.5])
    np.testing.assert_array_equal(cr.grad(np.ptp)(np.full(3, 2.0)), [0.0, 0.0, 0.0])
    # A NaN makes the result NaN; its gradient goes to the NaN.
    g = cr.grad(np.max)(np.array([1.0, np.nan, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0])


def test_max_with_initial():
    x = np.array([1.0, 3.0, 2.0])
    np.testing.assert_array_equal(cr.grad(lambda a: np.max(a, initial=5.0))(x), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(cr.grad(lambda a: np.max(a, initial=0.0))(x), [0.0, 1.0, 0.0])


# -- var and std ---------------------------------------------------------------------------
@pytest.mark.parametrize("ddof", [0, 1])
def test_std_at_zero_variance_has_zero_gradient(ddof):
    x = np.full((2, 3), 1.7)
    with np.errstate(all="raise"):
        g = cr.grad(lambda a: np.sum(np.std(a, axis=1, ddof=ddof)))(x)
        np.testing.assert_array_equal(g, np.zeros((2, 3)))
        np.testing.assert_array_equal(cr.grad(lambda a: 0.0 * np.std(a))(x), np.zeros((2, 3)))
        _, t = cr.jvp(lambda a: np.std(a, axis=0, ddof=ddof), (x,), (np.ones((2, 3)),))
        np.testing.assert_array_equal(t, np.zeros(3))
        hess_col = cr.grad(lambda a: cr.grad(np.std)(a)[0, 0])(x)
        assert np.all(np.isfinite(hess_col))
    # Only the constant row is singular: the other keeps its true gradient.
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    g = cr.grad(lambda a: np.sum(np.std(a, axis=1, ddof=ddof)))(x)
    np.testing.assert_allclose(g[1], np.array([-1.0, 0.0, 1.0]) / ((3 - ddof) * np.std(x[1], ddof=ddof)))
    np.testing.assert_array_equal(g[0], np.zeros(3))


def test_var_gradient_is_twice_the_centred_value_over_dof():
    x = np.array([1.0, 2.0, 6.0])  # mean 3
    np.testing.assert_allclose(cr.grad(np.var)(x), 2.0 * np.array([-2.0, -1.0, 3.0]) / 3)
    np.testing.assert_allclose(cr.grad(lambda a: np.var(a, ddof=1))(x), 2.0 * np.array([-2.0, -1.0, 3.0]) / 2)
    np.testing.assert_allclose(cr.grad(lambda a: np.var(a, correction=1))(x), [-2.0, -1.0, 3.0])


# -- cumsum, average, NaN-aware -----------------------------------------------------------------
def test_cumsum_axis_none_flattens():
    x = _draw((2, 3))
    w = np.arange(1.0, 7.0)
    g = cr.grad(lambda a: np.sum(np.cumsum(a) * w))(x)
    expected = np.array([w[i:].sum() for i in range(6)]).reshape(2, 3)
    np.testing.assert_array_equal(g, expected)
    assert np.cumsum(x).shape == (6,)


def test_cumulative_sum_and_prod_include_initial():
    x = _draw((3, 4))
    for axis in (0, 1, -1):
        check_derivatives(
            lambda a, axis=axis: np.cumulative_sum(a, axis=axis, include_initial=True), x, order=2
        )
        check_derivatives(
            lambda a, axis=axis: np.cumulative_prod(a, axis=axis, include_initial=True), x, order=2
        )
    f = lambda a: np.cumulative_prod(a, include_initial=True)
    np.testing.assert_array_equal(cr.vjp(f, x[0])[0], np.cumulative_prod(x[0], include_initial=True))


@pytest.mark.parametrize(
    ("shape", "axis", "wshape"),
    [
        ((5,), None, (5,)),
        ((3, 4), 1, (4,)),
        ((3, 4), -2, (3,)),
        ((3, 4), None, (3, 4)),
        ((2, 3, 4), (2, 0), (4, 2)),
    ],
    ids=str,
)
@pytest.mark.parametrize("keepdims", [False, True])
def test_average_with_weights(shape, axis, wshape, keepdims):
    a = _draw(shape)
    w = _draw(wshape, signs=False)
    f = lambda x, v: np.average(x, axis=axis, weights=v, keepdims=keepdims)
    np.testing.assert_allclose(cr.vjp(f, a, w)[0], f(a, w))
    check_derivatives(f, a, w, order=2)
    check_derivatives(
        lambda x, v: np.average(x, axis=axis, weights=v, returned=True, keepdims=keepdims), a, w
    )


def test_average_returned_and_zero_weights():
    a = np.array([1.0, 2.0, 4.0])
    w = np.array([1.0, 1.0, 2.0])
    # d/dw_i of sum(w a)/sum(w) = (a_i - avg) / sum(w); avg = 11/4
    np.testing.assert_allclose(cr.grad(lambda v: np.average(a, weights=v))(w), (a - 2.75) / 4.0)
    np.testing.assert_allclose(cr.grad(lambda x: np.average(x, weights=w))(a), w / 4.0)

    def unweighted(x):
        avg, scale = np.average(x, returned=True)
        assert type(scale) is np.ndarray  # a count: no derivative
        assert scale == 3.0
        return avg

    np.testing.assert_allclose(cr.grad(unweighted)(a), np.full(3, 1.0 / 3.0))
    # With weights, the returned scale is their sum: d/dw = 1.
    np.testing.assert_array_equal(
        cr.grad(lambda v: np.average(a, weights=v, returned=True)[1])(w), np.ones(3)
    )
    with pytest.raises(ZeroDivisionError):
        cr.grad(lambda v: np.average(a, weights=v))(np.array([1.0, -1.0, 0.0]))


def test_nan_elements_get_zero_gradient():
    x = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, 4.0]])
    np.testing.assert_array_equal(cr.grad(np.nansum)(x), [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    g = cr.grad(lambda a: np.sum(np.nanmean(a, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(cr.grad(np.nanmean)(x), [[1 / 3, 0.0, 1 / 3], [0.0, 0.0, 1 / 3]])
    _, t = cr.jvp(lambda a: np.nansum(a, axis=0), (x,), (np.ones((2, 3)),))
    np.testing.assert_array_equal(t, [1.0, 0.0, 2.0])


# -- dtypes, methods, options, refusals ------------------------------------------------------------
ALL_FUNCS = [
    np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.ptp, np.var, np.std,
    np.cumsum, np.cumprod, np.average, np.nansum, np.nanmean,
]  # fmt: skip


@pytest.mark.parametrize("fun", ALL_FUNCS, ids=lambda f: f.__name__)
def test_float32_stays_float32(fun):
    x = _draw((3, 4)).astype(np.float32)
    value, g = cr.value_and_grad(lambda a: np.sum(fun(a, axis=1) * fun(a, axis=1)))(x)
    assert g.dtype == np.float32
    assert np.asarray(value).dtype == np.float32
    _, t = cr.jvp(lambda a: fun(a, axis=0), (x,), (np.ones((3, 4), np.float32),))
    assert t.dtype == np.float32
    x = np.array([[1.0, 0.0, 2.0], [3.0, 3.0, 1.0]], np.float32)  # zeros and ties
    assert cr.grad(lambda a: np.sum(fun(a, axis=-1)))(x).dtype == np.float32


def test_dtype_argument():
    x32 = _draw((3, 4)).astype(np.float32)
    y, vjp_fn = cr.vjp(lambda a: np.mean(a, axis=0, dtype=np.float64), x32)
    assert y.dtype == np.float64
    assert vjp_fn(np.ones(4))[0].dtype == np.float32
    g = cr.grad(lambda a: np.sum(np.cumsum(a, dtype=np.float32)))(_draw((3,)))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [3.0, 2.0, 1.0])
    assert cr.grad(lambda a: np.prod(a, dtype=np.float64))(x32).dtype == np.float32


def test_method_forms():
    x = _distinct((3, 4)) + 0.05
    check_derivatives(lambda a: a.sum(axis=1), x)
    check_derivatives(lambda a: a.mean(), x)
    check_derivatives(lambda a: a.max(0), x, order=1)
    check_derivatives(lambda a: a.min(axis=1, keepdims=True), x, order=1)
    check_derivatives(lambda a: a.std(ddof=1), x)
    check_derivatives(lambda a: a.var(axis=0), x)
    check_derivatives(lambda a: a.prod(axis=-1), x)
    check_derivatives(lambda a: a.cumsum(axis=1) + a.cumprod(axis=1), x)
    np.testing.assert_allclose(cr.grad(lambda a: a.mean())(x), np.full((3, 4), 1 / 12))
    y, _ = cr.vjp(lambda a: a.std(ddof=1), x)
    assert y == np.std(x, ddof=1)


def test_ufunc_reduce_and_accumulate_forms():
    x = _distinct((3, 4)) + 0.05
    check_derivatives(lambda a: np.add.reduce(a, axis=1), x)
    check_derivatives(lambda a: np.multiply.reduce(a), x)
    check_derivatives(lambda a: np.maximum.reduce(a, axis=1), x, order=1)
    check_derivatives(lambda a: np.multiply.accumulate(a, axis=1) + np.add.accumulate(a), x)


def test_sum_options():
    x = _draw((3, 4))
    mask = np.array([True, False, True, True])
    check_derivatives(lambda a: np.sum(a, axis=1, where=mask, initial=2.0), x)
    np.testing.assert_array_equal(cr.grad(lambda a: np.sum(a, where=mask))(x), np.broadcast_to(mask, (3, 4)))
    np.testing.assert_allclose(
        cr.grad(lambda a: np.mean(a, where=mask))(x), np.broadcast_to(mask / 9.0, (3, 4))
    )
    np.testing.assert_allclose(
        cr.vjp(lambda a: np.mean(a, axis=1, where=mask), x)[0], np.mean(x, 1, where=mask)
    )
    np.testing.assert_allclose(cr.grad(lambda a: np.prod(a, initial=2.0))(x), 2.0 * np.prod(x) / x)


@pytest.mark.parametrize(
    "call",
    [
        lambda a, buf: np.sum(a, out=buf),
        lambda a, buf: np.mean(a, out=buf),
        lambda a, buf: np.prod(a, out=buf),
        lambda a, buf: np.max(a, out=buf),
        lambda a, buf: np.amin(a, out=buf),
        lambda a, buf: np.var(a, out=buf),
        lambda a, buf: np.std(a, out=buf),
        lambda a, buf: np.ptp(a, out=buf),
        lambda a, buf: np.nansum(a, out=buf),
        lambda a, buf: np.nanmean(a, out=buf),
        lambda a, buf: np.cumsum(a, out=np.zeros(4)),
        lambda a, buf: np.cumprod(a, out=np.zeros(4)),
    ],
)
def test_out_is_refused(call):
    with pytest.raises(InPlaceError):
        cr.grad(lambda a: call(a, np.zeros(())))(np.ones(4))


def test_unsupported_options_name_the_function():
    with pytest.raises(UnsupportedOperationError, match=r"numpy\.max"):
        cr.grad(lambda a: np.max(a, where=np.array([True, False]), initial=0.0))(np.ones(2))
    with pytest.raises(UnsupportedOperationError, match=r"numpy\.var"):
        cr.grad(lambda a: np.var(a, where=np.array([True, False])))(np.ones(2))


# -- the cumulative family on a 0-d array: NumPy takes it as the 1-element array -----------------
CUMULATIVE = [np.cumsum, np.cumprod, np.nancumsum, np.nancumprod]
if hasattr(np, "cumulative_sum"):  # NumPy >= 2.1
    CUMULATIVE += [np.cumulative_sum, np.cumulative_prod]


@pytest.mark.parametrize("fun", CUMULATIVE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_cumulative_of_a_0d_array_is_1d_as_in_numpy(fun, axis):
    x = np.array(-1.3)
    y, pullback = cr.vjp(lambda a: fun(a, axis=axis), x)
    expected = fun(x, axis=axis)
    assert y.shape == expected.shape == (1,)
    np.testing.assert_array_equal(y, expected)
    (cotangent,) = pullback(np.array([2.0]))
    assert cotangent.shape == ()
    check_rule(lambda a: fun(a, axis=axis), nargs=1, shapes=[((),)], domain=(0.5, 1.5))


@pytest.mark.parametrize("fun", CUMULATIVE, ids=lambda f: f.__name__)
def test_cumulative_of_a_0d_array_refuses_the_axes_numpy_refuses(fun):
    with pytest.raises(np.exceptions.AxisError) as numpy_error:
        fun(np.array(1.3), axis=1)
    with pytest.raises(np.exceptions.AxisError) as ours:
        cr.grad(lambda a: fun(a, axis=1)[0])(1.3)
    assert str(ours.value) == str(numpy_error.value)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply])
def test_accumulate_of_a_0d_array_raises_as_numpy_does(ufunc):
    with pytest.raises(TypeError) as numpy_error:
        ufunc.accumulate(np.array(1.3))
    with pytest.raises(TypeError) as ours:
        cr.grad(lambda a: ufunc.accumulate(a)[0])(1.3)
    assert str(ours.value) == str(numpy_error.value)
