"""chainrule.scipy.special against SciPy's values and finite differences (orders 1-2, both modes)."""

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

import chainrule as cr  # noqa: E402
from chainrule.check import check_derivatives  # noqa: E402
from chainrule.scipy import special as S  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp(axis, keepdims):
    a = RNG.standard_normal((3, 4))
    b = RNG.uniform(0.5, 2.0, size=(4,))
    for kw in ({}, {"b": b}):
        assert np.allclose(
            S.logsumexp(a, axis=axis, keepdims=keepdims, **kw),
            sc.logsumexp(a, axis=axis, keepdims=keepdims, **kw),
        )
    check_derivatives(lambda a: S.logsumexp(a, axis=axis, keepdims=keepdims), a)
    check_derivatives(lambda a, b: S.logsumexp(a, axis=axis, b=b, keepdims=keepdims), a, b)


def test_logsumexp_return_sign_with_negative_weights():
    a = RNG.standard_normal((2, 3))
    b = np.array([1.0, -3.0, 0.5])
    out, sign = S.logsumexp(a, axis=1, b=b, return_sign=True)
    ref, ref_sign = sc.logsumexp(a, axis=1, b=b, return_sign=True)
    assert np.allclose(out, ref) and np.array_equal(sign, ref_sign)
    assert type(sign) is np.ndarray  # plain: the sign is piecewise constant
    check_derivatives(lambda a, b: S.logsumexp(a, axis=1, b=b, return_sign=True)[0], a, b)
    with np.errstate(invalid="ignore"):
        assert np.isnan(S.logsumexp(np.zeros(2), b=np.array([1.0, -2.0]))) == np.isnan(
            sc.logsumexp(np.zeros(2), b=np.array([1.0, -2.0]))
        )


def test_logsumexp_extreme_values_and_infinities():
    a = np.array([1000.0, 1000.0, -np.inf])
    assert np.isclose(S.logsumexp(a), sc.logsumexp(a))
    assert S.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    g = cr.grad(S.logsumexp)(a)
    assert np.allclose(g, [0.5, 0.5, 0.0])


@pytest.mark.parametrize("fun", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_softmax(fun, axis):
    x = RNG.standard_normal((2, 3))
    assert np.allclose(getattr(S, fun)(x, axis=axis), getattr(sc, fun)(x, axis=axis))
    check_derivatives(lambda x: getattr(S, fun)(x, axis=axis), x)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma(n):
    x = RNG.uniform(0.5, 3.0, size=(2, 3))
    assert np.allclose(S.polygamma(n, x), sc.polygamma(n, x))
    check_derivatives(lambda x: S.polygamma(n, x), x)
    # the derivative of polygamma(n) is polygamma(n + 1)
    assert np.allclose(cr.grad(lambda x: np.sum(S.polygamma(n, x)))(x), sc.polygamma(n + 1, x))


def test_polygamma_array_orders():
    n = np.array([[0], [1], [2]])
    x = RNG.uniform(0.5, 3.0, size=(4,))
    assert np.allclose(S.polygamma(n, x), sc.polygamma(n, x))
    check_derivatives(lambda x: S.polygamma(n, x), x)
    with pytest.raises(ValueError, match="n must be >= 0"):
        S.polygamma(-1, x)


@pytest.mark.parametrize("d", [1, 2, 4])
def test_multigammaln(d):
    a = RNG.uniform(2.0, 5.0, size=(3,))
    assert np.allclose(S.multigammaln(a, d), sc.multigammaln(a, d))
    check_derivatives(lambda a: S.multigammaln(a, d), a)
    with pytest.raises(ValueError, match=r"> \(d - 1\) / 2"):
        S.multigammaln(np.array([0.1]), 3)


def test_ufuncs_are_reexported_with_rules():
    x = RNG.uniform(0.1, 0.9, size=(3,))
    for fun in (S.expit, S.logit, S.erfcx, S.rgamma):
        check_derivatives(fun, x)
    check_derivatives(lambda y: S.xlog1py(x, y), x)
    check_derivatives(lambda x: S.betainc(2.0, 3.0, x), x)


def test_integer_arguments_are_refused_when_traced():
    with pytest.raises(cr.TracerConversionError, match="n was a traced value"):
        cr.grad(lambda n: S.polygamma(n, 1.0))(1.0)
