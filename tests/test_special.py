"""The scipy.special rules against finite differences, at orders 1 and 2, and at their edges."""

import math

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

import chainrule as cr  # noqa: E402
import chainrule.rules.special  # noqa: E402  (registers the rules)
from chainrule.check import check_derivatives  # noqa: E402

RNG = np.random.default_rng(0)


def _draw(shape, low, high):
    return RNG.uniform(low, high, size=shape)


# (function, domain of its input)
UNARY = [
    (sc.expit, (-4, 4)), (sc.logit, (0.1, 0.9)), (sc.log_expit, (-4, 4)),
    (sc.erf, (-2, 2)), (sc.erfc, (-2, 2)), (sc.erfi, (-1.5, 1.5)), (sc.erfcx, (-1, 3)),
    (sc.dawsn, (-3, 3)), (sc.erfinv, (-0.9, 0.9)), (sc.erfcinv, (0.1, 1.9)),
    (sc.ndtr, (-3, 3)), (sc.log_ndtr, (-6, 3)), (sc.ndtri, (0.05, 0.95)), (sc.ndtri_exp, (-6, -0.1)),
    (sc.gammaln, (0.3, 4)), (sc.gammaln, (-2.8, -2.2)), (sc.loggamma, (0.3, 4)),
    (sc.gamma, (0.5, 3)), (sc.gamma, (-1.8, -1.2)), (sc.digamma, (0.3, 4)), (sc.psi, (-0.8, -0.2)),
    (sc.entr, (0.1, 2)),
    (sc.j0, (-5, 5)), (sc.j1, (-5, 5)), (sc.y0, (0.5, 5)), (sc.y1, (0.5, 5)),
    (sc.i0, (-3, 3)), (sc.i1, (-3, 3)), (sc.i0e, (0.1, 3)), (sc.i0e, (-3, -0.1)),
    (sc.i1e, (0.1, 3)), (sc.i1e, (-3, -0.1)),
    (sc.k0, (0.3, 4)), (sc.k1, (0.3, 4)), (sc.k0e, (0.3, 4)), (sc.k1e, (0.3, 4)),
    (sc.exp2, (-2, 2)), (sc.exp10, (-1, 1)), (sc.expm1, (-2, 2)), (sc.log1p, (-0.5, 3)),
    (sc.cbrt, (0.2, 3)), (sc.cosm1, (-3, 3)), (sc.softplus, (-4, 4)),
    (sc.rgamma, (0.3, 4)), (sc.rgamma, (-1.8, -1.2)),
]  # fmt: skip

BINARY = [
    (sc.xlogy, (-2, 2), (0.2, 3)), (sc.xlog1py, (-2, 2), (-0.5, 2)),
    (sc.rel_entr, (0.2, 2), (0.2, 2)), (sc.kl_div, (0.2, 2), (0.2, 2)),
    (sc.betaln, (0.3, 3), (0.3, 3)), (sc.beta, (0.5, 3), (0.5, 3)),
    (sc.pseudo_huber, (0.5, 2), (-3, 3)),
]  # fmt: skip

# Functions differentiated in their second argument only; the first is a fixed parameter.
PARAMETRIZED = [
    (sc.gammainc, (0.5, 3), (0.2, 3)), (sc.gammaincc, (0.5, 3), (0.2, 3)),
    (sc.gammaincinv, (0.5, 3), (0.2, 0.8)), (sc.gammainccinv, (0.5, 3), (0.2, 0.8)),
    (sc.zeta, (1.5, 4), (0.3, 3)),
    (sc.stdtr, (1.5, 6), (-3, 3)), (sc.stdtrit, (1.5, 6), (0.1, 0.9)),
    (sc.jv, (-1.5, 2.5), (0.5, 5)), (sc.yv, (-1.5, 2.5), (0.5, 5)), (sc.iv, (-1.5, 2.5), (0.3, 3)),
    (sc.ive, (-1.5, 2.5), (0.3, 3)), (sc.kv, (-1.5, 2.5), (0.3, 3)), (sc.kve, (-1.5, 2.5), (0.3, 3)),
]  # fmt: skip

SHAPE_PAIRS = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2)), ((4, 1, 3), (2, 1))]


def _name(p):
    return getattr(p, "__name__", None) or str(p)


@pytest.mark.parametrize(("fun", "domain"), UNARY, ids=_name)
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_unary_rule(fun, domain, shape):
    check_derivatives(fun, _draw(shape, *domain), order=2)


@pytest.mark.parametrize(("fun", "dx", "dy"), BINARY, ids=_name)
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_rule_broadcasting(fun, dx, dy, shapes):
    check_derivatives(fun, _draw(shapes[0], *dx), _draw(shapes[1], *dy), order=2)


@pytest.mark.parametrize(("fun", "da", "dx"), PARAMETRIZED, ids=_name)
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_rule_in_second_argument_broadcasting(fun, da, dx, shapes):
    a = _draw(shapes[0], *da)
    check_derivatives(lambda x: fun(a, x), _draw(shapes[1], *dx), order=2)


def test_yn_integer_order():
    n = np.array([1, 2, 3])
    check_derivatives(lambda x: sc.yn(n, x), _draw((2, 3), 0.5, 5), order=2)


def test_polygamma_through_zeta():
    # scipy.special.polygamma calls np.asarray; its zeta form is differentiable.
    x = _draw((5,), 0.3, 3)
    np.testing.assert_allclose(sc.zeta(3.0, x) * -2.0, sc.polygamma(2, x))
    check_derivatives(lambda x: -2.0 * sc.zeta(3.0, x), x, order=2)
    expected = sc.polygamma(2, x)  # digamma'' = polygamma(2, .)
    got = cr.grad(lambda x: np.sum(cr.grad(lambda y: np.sum(sc.digamma(y)))(x)))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# -- edges -----------------------------------------------------------------------


@pytest.mark.parametrize("fun", [sc.xlogy, sc.xlog1py, sc.rel_entr])
def test_zero_x_gives_zero_gradient_in_y(fun):
    y0 = -1.0 if fun is sc.xlog1py else 0.0  # the point where log(.) is -inf
    y = np.array([y0, 0.5, 2.0])
    x = np.zeros(3)
    gy = cr.grad(lambda y: np.sum(fun(x, y)))(y)
    np.testing.assert_array_equal(gy, np.zeros(3))
    _, t = cr.jvp(lambda y: fun(x, y), (y,), (np.ones(3),))
    np.testing.assert_array_equal(t, np.zeros(3))


def test_kl_div_at_zero():
    # kl_div(0, y) = y: the derivative in y is exactly 1, also at y = 0.
    y = np.array([0.0, 0.5, 2.0])
    np.testing.assert_array_equal(cr.grad(lambda y: np.sum(sc.kl_div(np.zeros(3), y)))(y), np.ones(3))


def test_xlogy_derivative_in_x_at_zero_x():
    y = np.array([0.5, 2.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(sc.xlogy(x, y)))(np.zeros(2)), np.log(y))
    # the second-order mixed derivative d2/dxdy at x = 0 is 1/y, not masked away
    mixed = cr.grad(lambda x: np.sum(cr.grad(lambda y: np.sum(sc.xlogy(x, y)))(y)))(np.zeros(2))
    np.testing.assert_allclose(mixed, 1.0 / y)


def test_unselected_infinite_derivative_does_not_poison():
    # entr'(0) is +inf, but the branch is not selected: the gradient is exactly 0 there.
    x = np.array([0.0, 0.5])
    g = cr.grad(lambda x: np.sum(np.where(x > 0, sc.entr(x), 0.0)))(x)
    np.testing.assert_array_equal(g, [0.0, -math.log(0.5) - 1.0])


def test_expit_tails_are_finite_and_accurate():
    x = np.array([-40.0, -745.0, 40.0, 745.0])
    g = cr.grad(lambda x: np.sum(sc.expit(x)))(x)
    assert np.all(np.isfinite(g))
    # expit'(x) = e^-|x| / (1 + e^-|x|)^2, symmetric
    e40 = math.exp(-40.0)
    np.testing.assert_allclose(g[[0, 2]], e40 / (1.0 + e40) ** 2, rtol=1e-14)
    assert g[1] == g[3]
    assert 0.0 <= g[1] < 1e-300
    lg = cr.grad(lambda x: np.sum(sc.log_expit(x)))(x)
    np.testing.assert_allclose(lg, [1.0, 1.0, e40 / (1.0 + e40), 0.0], rtol=1e-14, atol=1e-320)


def test_log_ndtr_far_left_tail():
    # d/dx log Phi(x) ~ -x for x -> -inf (Mills ratio); no 0/0.
    x = np.array([-40.0, -200.0])
    g = cr.grad(lambda x: np.sum(sc.log_ndtr(x)))(x)
    np.testing.assert_allclose(g, -x * (1.0 + 1.0 / x**2), rtol=1e-3)


def test_i0e_at_zero_uses_the_midpoint_subgradient():
    assert float(cr.grad(sc.i0e)(0.0)) == 0.0
    # i1e'(0) = (i0e(0) + ive(2, 0)) / 2 = 1/2
    assert float(cr.grad(sc.i1e)(0.0)) == 0.5


def test_known_values():
    assert float(cr.grad(sc.erf)(0.0)) == pytest.approx(2.0 / math.sqrt(math.pi), rel=1e-15)
    assert float(cr.grad(sc.ndtri)(0.5)) == pytest.approx(math.sqrt(2.0 * math.pi), rel=1e-15)
    assert float(cr.grad(sc.gammaln)(1.0)) == pytest.approx(-np.euler_gamma, rel=1e-15)
    assert float(cr.grad(sc.digamma)(1.0)) == pytest.approx(math.pi**2 / 6.0, rel=1e-14)
    assert float(cr.grad(lambda x: sc.gammainc(1.0, x))(2.0)) == pytest.approx(math.exp(-2.0), rel=1e-14)


# -- dtypes ------------------------------------------------------------------------


@pytest.mark.parametrize(("fun", "domain"), UNARY, ids=_name)
def test_float32_in_float32_out(fun, domain):
    x = _draw((3,), *domain).astype(np.float32)
    g = cr.grad(lambda x: np.sum(fun(x)))(x)
    assert g.dtype == np.float32
    _, t = cr.jvp(fun, (x,), (np.ones(3, np.float32),))
    assert t.dtype == np.float32


@pytest.mark.parametrize(("fun", "dx", "dy"), BINARY, ids=_name)
def test_float32_binary(fun, dx, dy):
    x = _draw((3,), *dx).astype(np.float32)
    y = _draw((2, 1), *dy).astype(np.float32)
    gx, gy = cr.grad(lambda x, y: np.sum(fun(x, y)), argnums=(0, 1))(x, y)
    assert gx.dtype == np.float32
    assert gy.dtype == np.float32


# -- errors --------------------------------------------------------------------------


def test_ufunc_without_rule_is_refused_by_name():
    with pytest.raises(cr.UnsupportedOperationError, match=r"scipy\.special\.struve"):
        cr.grad(lambda x: np.sum(sc.struve(1.0, x)))(np.array([0.5, 1.0]))


@pytest.mark.parametrize(
    ("fun", "name", "args"),
    [
        (sc.stdtr, "stdtr", (1.5, 2.0)),
        (sc.iv, "iv", (1.5, 2.0)),
        (sc.zeta, "zeta", (2.5, 2.0)),
    ],
)
def test_parameter_without_rule_is_refused_by_argument(fun, name, args):
    with pytest.raises(cr.UnsupportedOperationError, match=rf"scipy\.special\.{name} .*argument 0"):
        cr.grad(lambda a: fun(a, args[1]))(args[0])
    with pytest.raises(cr.UnsupportedOperationError, match=rf"scipy\.special\.{name} .*argument 0"):
        cr.jvp(lambda a: fun(a, args[1]), (args[0],), (1.0,))


@pytest.mark.parametrize("fun", [sc.logsumexp, sc.softmax, sc.log_softmax, lambda x: sc.polygamma(1, x)])
def test_python_level_functions_refuse_rather_than_drop_the_gradient(fun):
    with pytest.raises(cr.TracerConversionError):
        cr.grad(lambda x: np.sum(fun(x)))(np.array([0.5, 1.0]))


def test_gammasgn_has_zero_derivative():
    x = np.array([-1.5, 0.5, 2.5])
    g = cr.grad(lambda x: np.sum(sc.gammasgn(x) * x))(x)
    np.testing.assert_array_equal(g, sc.gammasgn(x))


# -- incomplete beta: differentiable in x only ----------------------------------------


@pytest.mark.parametrize("fun", [sc.betainc, sc.betaincc])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_incomplete_beta_in_x_broadcasting(fun, shapes):
    a, b = _draw(shapes[0], 0.8, 3.0), _draw(shapes[0], 0.8, 3.0)
    check_derivatives(lambda x: fun(a, b, x), _draw(shapes[1], 0.1, 0.9), order=2)


def test_betaincinv_in_y():
    a, b = _draw((3,), 0.8, 3.0), _draw((3,), 0.8, 3.0)
    check_derivatives(lambda y: sc.betaincinv(a, b, y), _draw((2, 3), 0.1, 0.9), order=2)


@pytest.mark.parametrize("argnum", [0, 1])
def test_incomplete_beta_refuses_its_parameters(argnum):
    def f(p):
        args = [2.0, 3.0, 0.4]
        args[argnum] = p
        return sc.betainc(*args)

    with pytest.raises(cr.UnsupportedOperationError, match=rf"scipy\.special\.betainc .*argument {argnum}"):
        cr.grad(f)(2.5)


# -- incomplete gamma: differentiable in a too (series), to second order --------------------


@pytest.mark.parametrize("fun", [sc.gammainc, sc.gammaincc, sc.gammaincinv, sc.gammainccinv])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_incomplete_gamma_in_both_arguments(fun, shapes):
    upper = 3.0 if fun in (sc.gammainc, sc.gammaincc) else 0.8
    check_derivatives(fun, _draw(shapes[0], 0.5, 4.0), _draw(shapes[1], 0.2, upper), order=2)


def test_incomplete_gamma_in_a_by_hand_and_at_the_edges():
    # P(1, x) = 1 - exp(-x); dP/da at a = 1 is -E1-type: compare with a central difference of SciPy
    # at large x (many terms) and the exact 0 at x = 0.
    for a, x in ((1.0, 2.0), (2.5, 40.0), (0.3, 1e-3)):
        h = 1e-6
        fd = (sc.gammainc(a + h, x) - sc.gammainc(a - h, x)) / (2 * h)
        assert cr.grad(lambda a, x=x: sc.gammainc(a, x))(a) == pytest.approx(fd, rel=1e-6, abs=1e-12)
    assert cr.grad(lambda a: sc.gammainc(a, 0.0))(1.5) == 0.0
    with pytest.raises(
        cr.UnsupportedOperationError, match="second derivative of scipy.special.gammainc in a"
    ):
        cr.grad(cr.grad(cr.grad(lambda a: sc.gammainc(a, 1.0))))(1.5)
