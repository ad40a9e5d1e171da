"""chainrule.scipy.stats against SciPy's values and finite differences (orders 1-2, both modes),
in x and in the parameters, broadcasting as SciPy does."""

import numpy as np
import pytest

st = pytest.importorskip("scipy.stats")

import chainrule as cr  # noqa: E402
from chainrule.check import check_derivatives  # noqa: E402
from chainrule.scipy import stats as S  # noqa: E402

# name, shape parameters, range of the standardized point z (inside the support)
CONTINUOUS = [
    ("norm", (), (-2.5, 2.5)),
    ("t", (3.5,), (-2.5, 2.5)),
    ("gamma", (2.5,), (0.3, 4.0)),
    ("beta", (2.0, 3.0), (0.1, 0.9)),
    ("chi2", (3.0,), (0.3, 5.0)),
    ("expon", (), (0.2, 3.0)),
    ("laplace", (), (0.2, 2.0)),
    ("logistic", (), (-3.0, 3.0)),
    ("cauchy", (), (-3.0, 3.0)),
]
# cdf-like methods of these need derivatives of the incomplete beta function in its parameters
NO_SHAPE_TAILS = {"t", "beta"}
METHODS = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]


def _args(rng, lo, hi):
    z = rng.uniform(lo, hi, size=(2, 3))
    loc = rng.uniform(-0.5, 0.5, size=(3,))
    scale = np.array(rng.uniform(0.8, 1.5))
    return z, loc, scale


@pytest.mark.parametrize(("name", "shapes", "zrange"), CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
@pytest.mark.parametrize("method", METHODS)
def test_continuous(name, shapes, zrange, method):
    rng = np.random.default_rng(abs(hash((name, method))) % 2**32)
    z, loc, scale = _args(rng, *zrange)
    x = loc + scale * z
    if method == "ppf":
        x = st.__dict__[name].cdf(z, *shapes)
        x = np.clip(x, 0.05, 0.95)
    ours, theirs = getattr(getattr(S, name), method), getattr(getattr(st, name), method)
    assert np.allclose(ours(x, *shapes, loc=loc, scale=scale), theirs(x, *shapes, loc=loc, scale=scale))
    # shape parameters broadcast against x: one per row
    shape_arrays = [np.array([[s], [s * 1.2]]) for s in shapes]
    if method in ("logpdf", "pdf") or name not in NO_SHAPE_TAILS:
        f = lambda x, loc, scale, *sh: ours(x, *sh, loc=loc, scale=scale)
        check_derivatives(f, x, loc, scale, *shape_arrays, rtol=2e-6)
    else:
        f = lambda x, loc, scale: ours(x, *shape_arrays, loc=loc, scale=scale)
        check_derivatives(f, x, loc, scale, rtol=2e-6)
        with pytest.raises(cr.UnsupportedOperationError, match="scipy.special"):
            cr.grad(lambda s: np.sum(ours(x, *([s] * len(shapes)), loc=loc, scale=scale)))(shapes[0])


@pytest.mark.parametrize(("name", "shapes", "zrange"), CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_outside_support_and_invalid_parameters_match_scipy(name, shapes, zrange):
    x = np.array([-2.0, -0.5, 0.0, 0.5, 1.0, 1.5, 4.0])
    for method in METHODS[:-1]:
        for scale in (1.0, -1.0):
            ours = getattr(getattr(S, name), method)(x, *shapes, scale=scale)
            theirs = getattr(getattr(st, name), method)(x, *shapes, scale=scale)
            assert np.allclose(ours, theirs, equal_nan=True), (method, scale)
    q = np.array([-0.1, 0.0, 0.3, 1.0, 1.1])
    assert np.allclose(getattr(S, name).ppf(q, *shapes), getattr(st, name).ppf(q, *shapes), equal_nan=True)


def test_gradient_outside_the_support_is_zero_not_nan():
    g = cr.grad(lambda x: np.sum(S.gamma.pdf(x, 2.0)))(np.array([-1.0, 1.0]))
    assert g[0] == 0.0 and np.isfinite(g[1])


def test_laplace_cdf_and_ppf_are_smooth_at_the_median():
    # cdf'(0) is the density 1/2 and ppf'(1/2) = 2: the subgradient of |x| must not leak in.
    assert float(cr.grad(S.laplace.cdf)(0.0)) == 0.5
    assert float(cr.grad(S.laplace.ppf)(0.5)) == 2.0


DISCRETE = [
    ("poisson", lambda p: (p,), (0.5, 4.0)),
    ("binom", lambda p: (6, p), (0.1, 0.9)),
    ("bernoulli", lambda p: (p,), (0.1, 0.9)),
]


@pytest.mark.parametrize(("name", "params", "prange"), DISCRETE, ids=[d[0] for d in DISCRETE])
@pytest.mark.parametrize("method", ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"])
def test_discrete(name, params, prange, method):
    rng = np.random.default_rng(3)
    k = np.array([[-1.0, 0.0, 1.0, 2.0, 2.5, 7.0]]).T  # inside, outside, and non-integer counts
    p = rng.uniform(*prange, size=(4,))
    ours, theirs = getattr(getattr(S, name), method), getattr(getattr(st, name), method)
    assert np.allclose(ours(k, *params(p)), theirs(k, *params(p)))
    if method.startswith("log"):  # finite differences need a finite value
        k = k[np.all(np.isfinite(ours(k, *params(p))), axis=1)]
    check_derivatives(lambda p: ours(k, *params(p)), p, rtol=2e-6)
    q = np.linspace(0.05, 0.95, 4)
    assert np.array_equal(getattr(S, name).ppf(q, *params(p)), getattr(st, name).ppf(q, *params(p)))


def test_counts_carry_no_derivative():
    with pytest.raises(cr.TracerConversionError, match="k was a traced value"):
        cr.grad(lambda k: S.poisson.logpmf(k, 2.0))(1.0)


def test_multivariate_normal():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3))
    mean = rng.standard_normal(3)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + 3 * np.eye(3)
    for c in (cov, 2.0, np.array([1.0, 2.0, 3.0])):
        assert np.allclose(
            S.multivariate_normal.logpdf(x, mean, c), st.multivariate_normal.logpdf(x, mean, c)
        )
        assert np.allclose(
            S.multivariate_normal.pdf(x[0], mean, c), st.multivariate_normal.pdf(x[0], mean, c)
        )
    # cov is read as a symmetric matrix (its gradient is symmetric): perturb it symmetrically
    spd = lambda a: a @ a.T + 3 * np.eye(3)
    check_derivatives(lambda x, m, a: S.multivariate_normal.logpdf(x, m, spd(a)), x, mean, a, rtol=1e-5)
    # the gradient in cov by hand: 0.5 (S^-1 d d^T S^-1 - S^-1) for one point
    d = x[0] - mean
    inv = np.linalg.inv(cov)
    expected = 0.5 * (inv @ np.outer(d, d) @ inv - inv)
    assert np.allclose(cr.grad(lambda c: S.multivariate_normal.logpdf(x[0], mean, c))(cov), expected)


def test_dirichlet():
    rng = np.random.default_rng(5)
    x = rng.dirichlet([1.0, 2.0, 3.0], size=4).T
    alpha = np.array([1.5, 2.0, 3.0])
    assert np.allclose(S.dirichlet.logpdf(x, alpha), st.dirichlet.logpdf(x, alpha))
    assert np.allclose(S.dirichlet.pdf(x[:2, 0], alpha), st.dirichlet.pdf(x[:2, 0], alpha))
    check_derivatives(lambda a: S.dirichlet.logpdf(x, a), alpha, rtol=1e-5)
    check_derivatives(lambda x2: S.dirichlet.logpdf(x2, alpha), x[:2])
    with pytest.raises(ValueError, match="simplex"):
        S.dirichlet.logpdf(np.array([0.5, 0.6, 0.1]), alpha)


def test_argument_errors_name_the_method():
    with pytest.raises(TypeError, match=r"stats.norm.logpdf got an unexpected keyword argument 'mu'"):
        S.norm.logpdf(0.0, mu=1.0)
    with pytest.raises(TypeError, match=r"stats.gamma.cdf is missing the shape parameter"):
        S.gamma.cdf(1.0)
    with pytest.raises(cr.ComplexValueError, match="norm.logpdf: .*complex"):
        S.norm.logpdf(1j)


def test_staged_by_jit_with_guards_on_the_support():
    from chainrule.scipy.special import logsumexp

    def f(x, mu):
        return np.sum(S.norm.logpdf(x, loc=mu) + S.gamma.logpdf(x, 2.0) + S.poisson.logpmf(2, np.abs(x)))

    staged = cr.jit(cr.grad(f, argnums=(0, 1)))
    for x in (
        np.array([0.5, 1.5]),
        np.array([0.7, 2.5]),
        np.array([-0.5, 1.5]),
    ):  # the last leaves the support
        for got, want in zip(staged(x, 0.3), cr.grad(f, argnums=(0, 1))(x, 0.3)):
            assert np.allclose(got, want)
    lse = cr.jit(cr.grad(lambda x: logsumexp(x, b=np.array([1.0, -0.5]), return_sign=True)[0]))
    x = np.array([0.2, -0.3])
    assert np.allclose(
        lse(x), cr.grad(lambda x: logsumexp(x, b=np.array([1.0, -0.5]), return_sign=True)[0])(x)
    )
