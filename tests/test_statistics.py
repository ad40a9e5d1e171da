"""Quantiles (every NumPy method), medians and NaN-skipping reductions: values against NumPy,
rules against finite differences with ``check_rule`` (orders 1 and 2, both modes), kinks and errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import UnsupportedOperationError

METHODS = [
    "inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
    "hazen", "weibull", "linear", "median_unbiased", "normal_unbiased",
    "lower", "higher", "midpoint", "nearest",
]  # fmt: skip


def _distinct(rng, shapes):
    """Values at least 0.1 apart: finite differences never cross an order-statistic kink."""
    out = []
    for s in shapes:
        n = int(np.prod(s))
        out.append((rng.permutation(n) - n / 2.0).reshape(s) * 0.1 + rng.uniform(0, 0.01))
    return out


def _with_nans(rng, shapes):
    (x,) = _distinct(rng, shapes)
    x.flat[::3] = np.nan
    return (x,)


def _value(f, *args):
    return cr.vjp(f, *args)[0]


@pytest.mark.parametrize("method", METHODS)
def test_quantile_every_method(method):
    rng = np.random.default_rng(0)
    x = _distinct(rng, [(4, 5)])[0]
    for axis in (None, 0, 1, (0, 1)):
        for q in (0.3, [0.0, 0.1, 0.5, 0.97, 1.0]):
            for keepdims in (False, True):
                got = _value(
                    lambda a, q=q, ax=axis, kd=keepdims: np.quantile(
                        a, q, axis=ax, method=method, keepdims=kd
                    ),
                    x,
                )
                ref = np.quantile(x, q, axis=axis, method=method, keepdims=keepdims)
                assert got.shape == ref.shape
                np.testing.assert_allclose(got, ref, rtol=1e-13)
    check_rule(
        lambda a: np.quantile(a, [0.2, 0.75], axis=-1, method=method),
        nargs=1, shapes=[(7,), (3, 6)], args_factory=_distinct,
    )  # fmt: skip


@pytest.mark.parametrize(
    "fun",
    [
        np.median,
        lambda a: np.median(a, axis=0, keepdims=True),
        lambda a: np.percentile(a, 40.0, axis=1),
        lambda a: np.percentile(a, [5, 95]),
    ],
)
def test_median_percentile(fun):
    check_rule(fun, nargs=1, shapes=[(2, 5), (4, 3)], args_factory=_distinct)
    x = _distinct(np.random.default_rng(1), [(4, 5)])[0]
    np.testing.assert_allclose(_value(fun, x), fun(x), rtol=1e-13)


@pytest.mark.parametrize(
    "fun",
    [
        np.nanmedian,
        lambda a: np.nanmedian(a, axis=1),
        lambda a: np.nanquantile(a, [0.25, 0.9], axis=0, method="hazen"),
        lambda a: np.nanpercentile(a, 30.0, axis=1, keepdims=True),
    ],
)
def test_nan_quantiles(fun):
    # (vmap(grad) is refused: the rule sorts each slice's count of values in Python)
    check_rule(fun, nargs=1, shapes=[(4, 5)], args_factory=_with_nans, batching="no vmap of grad")
    (x,) = _with_nans(np.random.default_rng(2), [(4, 5)])
    x[1] = np.nan  # an all-NaN row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = fun(x)
    np.testing.assert_allclose(_value(fun, x), ref, rtol=1e-13)


def test_median_kinks_and_nan():
    # Ties: the element the sort puts at the middle position gets the gradient (sum stays 1).
    g = cr.grad(np.median)(np.array([2.0, 1.0, 2.0]))
    assert g.sum() == 1.0 and g[1] == 0.0
    # Even count: the two middle values get 1/2 each.
    np.testing.assert_array_equal(cr.grad(np.median)(np.array([4.0, 1.0, 3.0, 2.0])), [0, 0, 0.5, 0.5])
    # A NaN makes the median NaN, as in NumPy.
    assert np.isnan(_value(np.median, np.array([1.0, np.nan, 3.0])))


def test_quantile_errors():
    x = np.arange(4.0)
    with pytest.raises(UnsupportedOperationError, match="q was a traced value"):
        cr.grad(lambda q: np.quantile(x + q, q))(0.5)
    with pytest.raises(ValueError, match=r"range \[0, 1\]"):
        cr.grad(lambda a: np.quantile(a, 1.5))(x)
    with pytest.raises(ValueError, match="method"):
        cr.grad(lambda a: np.quantile(a, 0.5, method="cubic"))(x)
    with pytest.raises(UnsupportedOperationError, match="weights="):
        cr.grad(lambda a: np.quantile(a, 0.5, method="inverted_cdf", weights=np.ones(4)))(x)


NAN_REDUCTIONS = [
    (np.nanmax, {}), (np.nanmax, {"axis": 1}), (np.nanmin, {"axis": 0, "keepdims": True}),
    (np.nanprod, {}), (np.nanprod, {"axis": 1}),
    (np.nanvar, {}), (np.nanvar, {"axis": 1, "ddof": 1}), (np.nanstd, {"axis": 0}),
    (np.nanstd, {"axis": 1, "keepdims": True}),
    (np.nancumsum, {"axis": 1}), (np.nancumsum, {}), (np.nancumprod, {"axis": 0}),
]  # fmt: skip


@pytest.mark.parametrize(("fun", "kwargs"), NAN_REDUCTIONS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_nan_reductions(fun, kwargs):
    check_rule(fun, nargs=1, shapes=[(3, 4)], kwargs=kwargs, args_factory=_with_nans)
    (x,) = _with_nans(np.random.default_rng(3), [(3, 4)])
    np.testing.assert_allclose(_value(lambda a: fun(a, **kwargs), x), fun(x, **kwargs), rtol=1e-13)
    # without NaN they agree with the plain reductions' rules
    check_rule(fun, nargs=1, shapes=[(2, 3)], kwargs=kwargs, args_factory=_distinct)


def test_nan_reduction_kinks():
    x = np.array([[1.0, np.nan, 3.0, 3.0], [np.nan, np.nan, np.nan, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmax(x, axis=1)
    np.testing.assert_array_equal(_value(lambda a: np.nanmax(a, axis=1), x), ref)
    g = cr.grad(lambda a: np.nansum(np.nanmax(a, axis=1)))(x)
    # ties split equally; NaN entries and the all-NaN row get zero
    np.testing.assert_array_equal(g, [[0, 0, 0.5, 0.5], [0, 0, 0, 0]])
    # nanstd of a constant slice: gradient 0 (std's choice), never NaN
    g = cr.grad(lambda a: np.nanstd(a))(np.array([2.0, np.nan, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])


def test_nan_to_num():
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    np.testing.assert_array_equal(_value(np.nan_to_num, x), np.nan_to_num(x))
    np.testing.assert_array_equal(
        _value(lambda a: np.nan_to_num(a, nan=5.0, posinf=9.0, neginf=-9.0), x),
        np.nan_to_num(x, nan=5.0, posinf=9.0, neginf=-9.0),
    )
    g = cr.grad(lambda a: np.sum(np.nan_to_num(a, posinf=9.0, neginf=-9.0) * 3.0))(x)
    np.testing.assert_array_equal(g, [3, 0, 0, 0, 3])
    check_rule(np.nan_to_num, nargs=1)
