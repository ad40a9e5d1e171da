"""Ufunc methods (reduce, accumulate, outer) of the ufuncs that have rules: values against NumPy,
derivatives against finite differences with ``check_rule`` (orders 1 and 2, both modes)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import InPlaceError, UnsupportedOperationError

FOLDED = [np.logaddexp, np.logaddexp2, np.hypot, np.subtract, np.divide, np.add, np.multiply]
PIECEWISE = [np.maximum, np.minimum, np.fmax, np.fmin]
REDUCE_KWARGS = [{}, {"axis": 1}, {"axis": None}, {"axis": (0, 1)}, {"axis": -1, "keepdims": True},
                 {"axis": 0, "initial": 0.7}, {"axis": None, "keepdims": True}]  # fmt: skip


def _distinct(rng, shapes):
    return [(rng.permutation(int(np.prod(s))).reshape(s) + 1.0) * 0.25 for s in shapes]


@pytest.mark.parametrize("ufunc", FOLDED + PIECEWISE, ids=lambda u: u.__name__)
def test_reduce_accumulate_values(ufunc):
    x = np.random.default_rng(0).uniform(0.5, 2.0, (3, 4))
    for kwargs in REDUCE_KWARGS:
        try:
            ref = ufunc.reduce(x, **kwargs)
        except (ValueError, TypeError):  # e.g. several axes of a non-reorderable ufunc
            with pytest.raises((ValueError, TypeError)):
                cr.vjp(lambda a, kw=kwargs: ufunc.reduce(a, **kw), x)
            continue
        got = cr.vjp(lambda a, kw=kwargs: ufunc.reduce(a, **kw), x)[0]
        assert np.shape(got) == np.shape(ref)
        np.testing.assert_allclose(got, ref, rtol=1e-13)
    for axis in (0, 1, -1):
        got = cr.vjp(lambda a, ax=axis: ufunc.accumulate(a, axis=ax), x)[0]
        np.testing.assert_allclose(got, ufunc.accumulate(x, axis=axis), rtol=1e-13)


@pytest.mark.parametrize("ufunc", FOLDED, ids=lambda u: u.__name__)
def test_reduce_accumulate_rules(ufunc):
    check_rule(ufunc.reduce, nargs=1, shapes=[(4,), (2, 3)], domain=(0.5, 2.0))
    if ufunc not in (np.subtract, np.divide):  # NumPy refuses several axes for these
        check_rule(lambda a: ufunc.reduce(a, axis=None), nargs=1, shapes=[(2, 3)], domain=(0.5, 2.0))
    check_rule(lambda a: ufunc.accumulate(a, axis=-1), nargs=1, shapes=[(4,), (2, 3)], domain=(0.5, 2.0))


@pytest.mark.parametrize("ufunc", PIECEWISE, ids=lambda u: u.__name__)
def test_piecewise_reduce_rules(ufunc):
    check_rule(lambda a: ufunc.reduce(a, axis=0), nargs=1, shapes=[(4,), (3, 2)], args_factory=_distinct)
    check_rule(lambda a: ufunc.accumulate(a), nargs=1, shapes=[(5,)], args_factory=_distinct)


def test_logaddexp_reduce_matches_the_log_sum_exp_gradient():
    x = np.array([0.5, -1.0, 2.0])
    g = cr.grad(np.logaddexp.reduce)(x)
    np.testing.assert_allclose(g, np.exp(x) / np.sum(np.exp(x)), rtol=1e-14)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.logaddexp, np.arctan2, np.power, np.hypot, np.sin],
                         ids=lambda u: u.__name__)  # fmt: skip
def test_outer(ufunc):
    if ufunc.nin == 1:
        with pytest.raises((ValueError, UnsupportedOperationError)):
            cr.vjp(lambda a: ufunc.outer(a, a), np.ones(2))
        return
    check_rule(ufunc.outer, nargs=2, shapes=[((3,), (2,)), ((2, 2), (3,)), ((), (2,))], domain=(0.5, 2.0))
    a, b = np.array([0.5, 1.5]), np.array([[1.0, 2.0, 0.7]])
    np.testing.assert_allclose(cr.vjp(ufunc.outer, a, b)[0], ufunc.outer(a, b), rtol=1e-14)


def test_ufunc_call_with_dtype_casts_the_inputs():
    x = np.array([1.0, 2.0, 3.0])
    got, g = cr.value_and_grad(lambda v: np.sum(np.multiply(v, v, dtype=np.float32)))(x)
    assert np.result_type(got) == np.float32
    np.testing.assert_allclose(g, 2.0 * x)
    assert g.dtype == np.float64
    check_rule(lambda a, b: np.subtract(a, b, dtype=np.float64), nargs=2)
    # NumPy's own histogram code subtracts traced range ends with dtype=: now recorded
    data = np.random.default_rng(0).normal(size=20)
    jac = cr.jacobian(lambda r: np.histogram(data, bins=4, range=(r[0], r[1]))[1])(np.array([-1.0, 1.0]))
    t = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(jac, np.stack([1 - t, t], axis=1))


def test_refused_methods():
    x = np.array([1.5, 2.0, 0.5])
    with pytest.raises(UnsupportedOperationError, match=r"numpy.power.reduce"):
        cr.grad(np.power.reduce)(x)
    with pytest.raises(UnsupportedOperationError, match=r"reduceat"):
        cr.grad(lambda a: np.sum(np.add.reduceat(a, [0, 2])))(x)
    with pytest.raises(InPlaceError, match="chainrule.at"):
        cr.grad(lambda a: np.add.at(a, [0], 1.0))(x)
