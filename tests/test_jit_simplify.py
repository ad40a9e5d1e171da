"""chainrule.jit's exact rewrites (jit/simplify.py, nested errstate blocks): where they apply and where not.

Each rewrite is checked twice: on the staged source (it happened, or it did not),
and on the values (the staged result equals eager chainrule's bit for bit).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.jit import simplify as S
from chainrule.rules import reductions as R


def assert_same(a, b) -> None:
    """Equal bit for bit, leaf by leaf (NaN where NaN, the sign of zero too)."""
    la, lb = cr.tree_flatten(a)[0], cr.tree_flatten(b)[0]
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes(), (x, y)


def mlp(params, x, y):
    h = np.tanh(x @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return (np.sum(lse) - np.sum(y * z)) / z.shape[0]


def mlp_args(rng, dtype):
    params = {
        "W1": rng.standard_normal((5, 4)).astype(dtype),
        "b1": rng.standard_normal(4).astype(dtype),
        "W2": rng.standard_normal((4, 3)).astype(dtype),
        "b2": rng.standard_normal(3).astype(dtype),
    }
    x = rng.standard_normal((6, 5)).astype(dtype)
    y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 6)]
    return params, x, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_staged_mlp_gradient_equals_eager_bit_for_bit(dtype) -> None:
    rng = np.random.default_rng(0)
    vg = cr.value_and_grad(mlp)
    jf = cr.jit(vg)
    src = jf.source(*mlp_args(rng, dtype))
    # The rewrites happened: no wrapper, no broadcast_to, no reshape, no transpose call.
    for absent in ("numpy_max", "numpy_sum", "np.broadcast_to", "np.reshape", "np.transpose"):
        assert absent not in src, absent
    # max's one tie-and-NaN test; none for log's quotient (its cotangent is a constant without zeros)
    assert src.count("raise GuardFailed") == 1
    for _ in range(5):
        args = mlp_args(rng, dtype)
        assert_same(jf(*args), vg(*args))
    assert jf.stagings == 1


def test_max_with_ties_after_staging_without_restages_and_splits_the_gradient() -> None:
    f = lambda x: np.sum(np.max(x, axis=1) * np.arange(1.0, 3.0))
    jf = cr.jit(cr.grad(f))
    jf(np.array([[1.0, 2.0, 0.0], [3.0, 1.0, 2.0]]))
    assert jf.stagings == 1
    tied = np.array([[2.0, 2.0, 0.0], [3.0, 3.0, 3.0]])
    g = jf(tied)
    assert jf.stagings == 2  # the staged code's guard failed
    third = 2.0 / 3.0
    np.testing.assert_array_equal(g, [[0.5, 0.5, 0.0], [third, third, third]])
    assert_same(g, cr.grad(f)(tied))
    # A NaN in one slice (its max: the gradient goes there) and a tie in the other:
    # one hit in each of two slices would not be "one per slice".
    mixed = np.array([[np.nan, 1.0, 0.0], [4.0, 4.0, 1.0]])
    g = jf(mixed)
    np.testing.assert_array_equal(g, [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    assert_same(g, cr.grad(f)(mixed))
    # Back to no ties: the first variant's guard holds again, no new staging.
    jf(np.array([[1.0, 2.0, 0.0], [3.0, 1.0, 2.0]]))
    assert jf.stagings == 3  # the NaN outcome was the third


def test_max_with_nan_in_each_slice_has_the_nan_weights() -> None:
    x = np.array([[np.nan, 1.0], [2.0, np.nan]])
    g = cr.grad(lambda x: np.sum(np.min(x, axis=0)))(x)
    np.testing.assert_array_equal(g, [[1.0, 0.0], [0.0, 1.0]])
    assert_same(cr.jit(cr.grad(lambda x: np.sum(np.min(x, axis=0))))(x), g)


# -- direct reductions ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(S._PRIMITIVE_REDUCTIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int8, np.bool_])
@pytest.mark.parametrize(("axis", "keepdims"), [(None, False), (1, True), ((0, 2), False), (-1, True)])
def test_a_primitive_and_its_ufunc_reduction_agree_bit_for_bit(name, dtype, axis, keepdims) -> None:
    prim = {"numpy.sum": R.sum_p, "numpy.max": R.max_p, "numpy.min": R.min_p}[name]
    ufunc, params = S._PRIMITIVE_REDUCTIONS[name]
    x = np.random.default_rng(1).standard_normal((3, 4, 5)) * 10
    x[0, 1, 2] = np.nan
    x = x.astype(dtype) if dtype is not np.int8 else np.nan_to_num(x).astype(dtype)
    expected = prim.impl(x, axis, keepdims) if len(params) == 3 else prim.impl(x, axis, keepdims, None)
    assert_same(ufunc.reduce(x, axis=axis, keepdims=keepdims), expected)


def test_reductions_with_other_options_are_not_rewritten() -> None:
    x = np.array([[0.5, 0.0], [1.0, 2.0]])
    jf = cr.jit(lambda x: (np.any(x, axis=0), np.sum(x, where=x > 0.7), np.max(x, initial=5.0)))
    src = jf.source(x)
    assert "np.any(x, axis=0)" in src  # any of a float array: not logical_or.reduce's bool loop
    assert_same(jf(x), (np.any(x, axis=0), np.sum(x, where=x > 0.7), np.max(x, initial=5.0)))


# -- keepdims -----------------------------------------------------------------------------------
def test_sum_then_reshape_to_its_keepdims_shape_is_one_sum() -> None:
    f = lambda x: np.reshape(np.sum(x, axis=1), (3, 1)) * x
    x = np.random.default_rng(2).standard_normal((3, 4))
    jf = cr.jit(f)
    src = jf.source(x)
    assert "keepdims=True" in src and "reshape" not in src
    assert_same(jf(x), f(x))


def test_a_reshape_to_another_shape_or_a_sum_read_twice_stays() -> None:
    x = np.random.default_rng(3).standard_normal((3, 4))
    other = lambda x: np.reshape(np.sum(x, axis=1), (1, 3)) * 2.0
    twice = lambda x: (np.reshape(np.sum(x, axis=1), (3, 1)), np.sum(x, axis=1) * 2.0)
    for f in (other, twice):
        jf = cr.jit(f)
        src = jf.source(x)
        assert "np.reshape" in src and "keepdims=True" not in src
        assert_same(jf(x), f(x))


# -- broadcast_to -------------------------------------------------------------------------------
def test_broadcast_to_read_by_a_broadcasting_product_is_dropped() -> None:
    f = lambda a, b: np.broadcast_to(a, (3, 4)) * b - np.broadcast_to(a, (3, 4))
    a, b = np.arange(3.0).reshape(3, 1), np.ones((3, 4)) * 0.1
    jf = cr.jit(f)
    assert "broadcast_to" not in jf.source(a, b)
    assert_same(jf(a, b), f(a, b))


@pytest.mark.parametrize(
    "f",
    [
        lambda a, b: np.broadcast_to(a, (3, 4)) + 1.0,  # the product alone would be (3, 1)
        lambda a, b: np.sum(np.broadcast_to(a, (3, 4)), axis=1) + b[:, 0],  # read by a non-ufunc
        lambda a, b: np.broadcast_to(a, (3, 4)) @ b.T,  # matmul reads the shape
        lambda a, b: (np.broadcast_to(a, (3, 4)) * b, np.broadcast_to(a, (3, 4))),  # returned
        lambda a, b: np.concatenate([np.broadcast_to(a, (3, 4)), b]) * 2.0,  # read inside a list
    ],
)
def test_broadcast_to_stays_where_the_result_would_change(f) -> None:
    a, b = np.arange(3.0).reshape(3, 1), np.ones((3, 4)) * 0.1
    jf = cr.jit(f)
    assert "np.broadcast_to" in jf.source(a, b)
    assert_same(jf(a, b), f(a, b))


# -- transposes ---------------------------------------------------------------------------------
def test_a_transpose_read_once_is_written_dot_t() -> None:
    f = lambda a, b: np.transpose(a) @ b
    a, b = np.ones((3, 2)), np.arange(6.0).reshape(3, 2)
    jf = cr.jit(f)
    assert "a.T @ b" in jf.source(a, b)
    assert_same(jf(a, b), f(a, b))


@pytest.mark.parametrize(
    "f",
    [
        lambda a, b: np.transpose(a, (1, 0)) @ b,  # axes given
        lambda a, b: (np.transpose(a), np.transpose(a) @ b),  # returned (a copy) and read
        lambda a, b: np.concatenate([np.transpose(a), b.T]),  # read inside a list
    ],
)
def test_other_transposes_stay_calls(f) -> None:
    a, b = np.ones((3, 2)), np.arange(6.0).reshape(3, 2)
    jf = cr.jit(f)
    assert "np.transpose" in jf.source(a, b)
    assert_same(jf(a, b), f(a, b))


# -- errstate -----------------------------------------------------------------------------------
def warned(fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args)
    return out, sorted(str(w.message) for w in caught)


def layered(x):
    with np.errstate(divide="ignore"):
        a = 1.0 / x  # divide by zero: ignored
        with np.errstate(over="ignore"):
            b = np.exp(a)  # overflow: ignored
        c = np.log(x)  # divide by zero: ignored
    with np.errstate(divide="warn", invalid="ignore"):
        d = np.log(x - 1.0)  # log(0): warns; log(-1): ignored
    return a + b + c + d


def test_errstate_blocks_nest_and_warn_as_eager() -> None:
    x = np.array([0.0, 1.0, 1e-3])
    jf = cr.jit(layered)
    src = warned(jf.source, x)[0]  # staging runs the function: it warns
    assert src.count("with np.errstate(") == 3
    assert "    with np.errstate(divide='ignore'):\n" in src
    assert "        with np.errstate(over='ignore'):\n" in src  # inside the divide block
    # Not inside the divide block (divide='warn' is the caller's setting: not written).
    assert "\n    with np.errstate(invalid='ignore'):\n" in src
    expected = warned(layered, x)
    assert "divide by zero encountered in log" in expected[1]  # from the last block
    got = warned(jf, x)
    assert jf.stagings == 1  # the staged code ran
    assert_same(got[0], expected[0])
    assert got[1] == expected[1]


# -- masked products with a constant cotangent ------------------------------------------------
def test_a_constant_cotangent_without_zeros_needs_no_mask_check_in_staged_code() -> None:
    w = np.array([2.0, 0.5, 1.0])
    f = lambda x: np.sum(w * np.log(x))
    jf = cr.jit(cr.grad(f))
    x = np.array([1.0, 2.0, 4.0])
    assert "GuardFailed" not in jf.source(x)
    assert_same(jf(x), cr.grad(f)(x))
    with np.errstate(divide="ignore"):
        assert_same(jf(np.array([0.0, 2.0, 4.0])), np.array([np.inf, 0.25, 0.25]))


@pytest.mark.parametrize("traced_weights", [False, True])
def test_a_cotangent_with_zeros_or_traced_keeps_the_check(traced_weights) -> None:
    w = np.array([0.0, 0.5, 1.0])  # no gradient reaches log(x[0]): its cotangent is exactly 0
    f = (lambda x, w: np.sum(w * np.log(x))) if traced_weights else (lambda x, w0: np.sum(w * np.log(x)))
    jf = cr.jit(cr.grad(f))
    x = np.array([1.0, 2.0, 4.0])
    assert "GuardFailed" in jf.source(x, w)
    at_zero = np.array([0.0, 2.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        g = jf(at_zero, w)
        expected = cr.grad(f)(at_zero, w)
    np.testing.assert_array_equal(g, [0.0, 0.25, 0.25])  # 0 / 0 masked to 0, not NaN
    assert_same(g, expected)
    assert jf.stagings == 2  # the check failed at zero: staged again with the mask
