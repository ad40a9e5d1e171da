"""real_if_close and unwrap (rules), and the refusals of issue 13 that must name the function and
the alternative: np.vectorize, np.apply_along_axis, np.float64(x), np.r_/np.c_, ufunc.at, scipy.sparse."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import (
    ForeignArrayError,
    InPlaceError,
    TracerConversionError,
    UnsupportedOperationError,
)


def test_real_if_close_rule():
    check_rule(np.real_if_close, nargs=1)
    check_rule(lambda a: np.real_if_close(a, tol=1000), nargs=1)


def _phases(rng, shapes):
    # Steps far from the jump threshold (pi): the finite-difference steps never cross a jump.
    (shape,) = shapes
    steps = rng.choice([-5.0, -0.5, 0.5, 5.0], size=shape) + rng.uniform(-0.2, 0.2, size=shape)
    return [np.cumsum(steps, axis=-1)]


@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"period": 4.0}, {"discont": 4.0}], ids=str)
def test_unwrap_rule(kwargs):
    check_rule(lambda p: np.unwrap(p, **kwargs), nargs=1, shapes=[(6,), (3, 4)], args_factory=_phases)


def test_unwrap_value_and_gradient_by_hand():
    p = np.array([0.0, 3.0, -3.0, -2.0])  # one jump of -6 (more than pi): 2 pi added from there on
    out, vjp_fn = cr.vjp(np.unwrap, p)
    np.testing.assert_array_equal(out, np.unwrap(p))
    np.testing.assert_array_equal(vjp_fn(np.array([1.0, 2.0, 3.0, 4.0]))[0], [1.0, 2.0, 3.0, 4.0])


def test_unwrap_refuses_traced_period():
    with pytest.raises(UnsupportedOperationError, match="traced discont or period"):
        cr.grad(lambda t: np.sum(np.unwrap(np.array([0.0, 3.0]) * t, period=t)))(4.0)


X = np.array([0.5, 1.0, 2.0])


def _refusal(f):
    with pytest.raises(cr.ChainruleError) as info:
        cr.grad(f)(X.copy())
    return info


def test_vectorize_and_apply_along_axis_name_the_alternative():
    info = _refusal(lambda x: np.sum(np.vectorize(np.sin)(x)))
    assert info.type is TracerConversionError and "np.vectorize" in str(info.value)
    assert "np.stack" in str(info.value)
    info = _refusal(lambda x: np.sum(np.apply_along_axis(np.sin, 0, x)))
    assert info.type is UnsupportedOperationError and "apply_along_axis" in str(info.value)
    assert "axis=" in str(info.value)


def test_numpy_scalar_types_are_named():
    info = _refusal(lambda x: np.float64(x[0]))
    assert "np.float64(...)" in str(info.value) and "astype(np.float64)" in str(info.value)
    info = _refusal(lambda x: np.float32(x[0]) * x[1])
    assert "np.float32(...)" in str(info.value)


@pytest.mark.parametrize(("f", "fix"), [
    (lambda x: np.sum(np.r_[x, x]), "np.concatenate"),
    (lambda x: np.sum(np.c_[x, x]), "np.column_stack"),
])  # fmt: skip
def test_r_and_c_name_the_alternative(f, fix):
    info = _refusal(f)
    assert info.type is TracerConversionError and "np.r_" in str(info.value) and fix in str(info.value)


@pytest.mark.parametrize(("ufunc", "fix"), [
    (np.add, "at(x)[idx].add(v)"), (np.subtract, "add(-v)"), (np.multiply, "multiply(v)"),
    (np.maximum, "at(x)[idx].set(v)"),
])  # fmt: skip
def test_ufunc_at_names_the_functional_form(ufunc, fix):
    info = _refusal(lambda x: np.sum(ufunc.at(x, [0, 0], 2.0) or x))
    assert info.type is InPlaceError and fix in str(info.value)


def test_scipy_sparse_products_are_refused_by_name():
    sparse = pytest.importorskip("scipy.sparse")
    m = sparse.csr_matrix(np.eye(3))
    info = _refusal(lambda x: np.sum(m @ x))
    assert info.type is TracerConversionError and "sparse" in str(info.value)
    assert "custom_vjp" in str(info.value)
    for f in (lambda x: np.sum(x @ m), lambda x: np.sum(x * m)):
        info = _refusal(f)
        assert info.type is ForeignArrayError and "M.toarray()" in str(info.value)


def test_numpy_integer_types_point_to_astype():
    info = _refusal(lambda x: np.sum(x[np.int64(x[:2])]))
    assert "np.int64(...)" in str(info.value) and "x.astype(np.int64)" in str(info.value)


def test_real_if_close_of_complex_values():
    # A perturbation of the imaginary part larger than tol eps changes the result's type, so finite
    # differences do not apply: the rule is compared with np.real's and with the identity's.
    z = np.array([1.0 + 1e-18j, 2.0 - 1e-18j])  # negligible imaginary parts: np.real
    out, vjp_fn = cr.vjp(np.real_if_close, z)
    assert out.dtype == np.float64
    g = np.array([1.0, -3.0])
    np.testing.assert_array_equal(vjp_fn(g)[0], cr.vjp(np.real, z)[1](g)[0])
    w = np.array([1.0 + 0.5j, 2.0])  # not negligible: the identity, complex result
    out, vjp_fn = cr.vjp(np.real_if_close, w)
    assert out.dtype == np.complex128
    h = np.array([1.0 - 2.0j, 0.5j])
    np.testing.assert_array_equal(vjp_fn(h)[0], h)
