"""scipy.differentiate's public test cases, ported to chainrule.numerical.

Source: scipy/scipy, scipy/differentiate/tests/test_differentiate.py (BSD-3-Clause),
class TestDifferentiate; each test names the case it ports. scipy's
``derivative(f, x, args=..., rtol=..., order=..., step_direction=...)`` maps
to ``numerical.derivative(f, x, *args, rtol=..., method="adaptive")``; its
status codes are ours too (0 converged, -1 error increased, -2 steps
exhausted); where scipy returns a NaN with status -3 we raise NonFiniteError.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from chainrule import numerical
from chainrule.numerical import NonFiniteError


# test_basic: the normal CDF's derivative is its PDF, and the error estimate bounds the error.
@pytest.mark.parametrize("x", [0.6, np.linspace(-0.05, 1.05, 10)])
@pytest.mark.parametrize("method", ["adaptive", "richardson", "central4"])
def test_basic(x, method):
    est = numerical.derivative(special.ndtr, x, method=method, return_estimate=True)
    ref = stats.norm().pdf(x)
    np.testing.assert_allclose(est.value, ref, rtol=1e-7)
    assert np.all(np.abs(est.value - ref) <= est.error)


# test_accuracy: d/dx cdf = pdf at median + 0.1 for continuous distributions, atol 1e-10.
@pytest.mark.parametrize(
    ("name", "params"),
    [("norm", ()), ("gamma", (2.0,)), ("beta", (2.0, 3.0)), ("t", (5.0,)), ("lognorm", (0.5,)),
     ("weibull_min", (1.5,)), ("cauchy", ()), ("expon", ()), ("chi2", (4.0,)), ("logistic", ())],
)  # fmt: skip
def test_accuracy(name, params):
    dist = getattr(stats, name)(*params)
    x = dist.median() + 0.1
    est = numerical.derivative(dist.cdf, x, method="adaptive", return_estimate=True)
    np.testing.assert_allclose(est.value, dist.pdf(x), atol=1e-10)
    assert abs(est.value - dist.pdf(x)) <= est.error


# test_preserve_shape: a scalar x, a function returning several values.
def test_preserve_shape():
    def f(x):
        return np.stack([x, np.sin(3 * x), x + np.sin(10 * x), np.sin(20 * x) * (x - 1) ** 2])

    x = 0.0
    ref = [
        1.0,
        3 * np.cos(3 * x),
        1 + 10 * np.cos(10 * x),
        20 * np.cos(20 * x) * (x - 1) ** 2 + 2 * np.sin(20 * x) * (x - 1),
    ]
    est = numerical.derivative(f, x, method="adaptive", return_estimate=True)
    np.testing.assert_allclose(est.value, ref, rtol=1e-10, atol=1e-12)
    assert np.all(np.abs(est.value - ref) <= est.error)


# test_flags / test_flags_preserve_shape: a linear function converges; noise makes the error grow;
# a NaN function is reported (scipy: status -3, NaN; ours: NonFiniteError naming the point).
def test_flags():
    # scipy asks rtol=1e-14; our estimate keeps the rounding bound eps |f| / h (~1e-13 here)
    # even where f happens to be computed exactly, so we ask 1e-12
    est = numerical.derivative(lambda x: x - 2.5, 1.0, method="adaptive", rtol=1e-12, return_estimate=True)
    assert est.status == 0 and est.success and abs(est.value - 1.0) < 1e-12
    rng = np.random.default_rng(5651219684984213)
    noisy = lambda x: np.exp(x) * rng.random()
    est = numerical.derivative(noisy, 1.0, method="adaptive", rtol=1e-14, return_estimate=True)
    assert est.status in (-1, -2) and not est.success
    assert "tolerance" in est.message or "rounding" in est.message
    with pytest.raises(NonFiniteError):
        numerical.derivative(lambda x: np.full_like(x, np.nan) + 0.0 * (x != 1.0), 1.0, method="adaptive")


# test_convergence: a tighter tolerance gives a more accurate result; a loose one stops early.
def test_convergence():
    f, x, ref = special.ndtr, 1.0, float(stats.norm.pdf(1.0))
    loose = numerical.derivative(f, x, method="adaptive", atol=1e-3, return_estimate=True)
    assert abs(loose.value - ref) < 1e-3 and loose.status == 0
    rel = numerical.derivative(f, x, method="adaptive", rtol=1e-6, return_estimate=True)
    assert abs(rel.value - ref) < 1e-6 * ref and rel.status == 0
    # a tolerance below what rounding allows: the sequence runs on, and the status says so
    tight = numerical.derivative(f, x, method="adaptive", atol=1e-16, return_estimate=True)
    assert tight.status == -1 and not tight.success and "rounding" in tight.message
    assert loose.evaluations < tight.evaluations
    assert abs(tight.value - ref) <= tight.error < 1e-11


# test_step_direction: exp defined on [0, 2] only (NaN outside): one-sided near both edges.
def test_step_direction():
    def f(x):
        y = np.exp(x)
        return np.where((x < 0) | (x > 2), np.nan, y)

    x = np.linspace(0, 2, 10)
    est = numerical.derivative(f, x, method="adaptive", return_estimate=True)
    np.testing.assert_allclose(est.value, np.exp(x), rtol=1e-7)
    assert np.all(np.abs(est.value - np.exp(x)) <= est.error)
    assert "one-sided" in est.message
    for method in ("central", "richardson"):  # the fixed stencils switch sides too, at each edge
        np.testing.assert_allclose(numerical.derivative(f, 0.0, method=method), 1.0, rtol=1e-6)
        np.testing.assert_allclose(numerical.derivative(f, 2.0, method=method), np.exp(2.0), rtol=1e-6)


# test_vectorized_step_direction_args: extra arguments are passed through to f.
@pytest.mark.parametrize("p", [2.0, 3.0])
def test_args(p):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    got = numerical.derivative(lambda x, p: x**p, x, p, method="adaptive")
    np.testing.assert_allclose(got, p * x ** (p - 1), rtol=1e-10)


# test_dtype: the result has the dtype of x (float16 is refused: too coarse to differentiate).
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x", [0.65, [0.65, 0.7]])
def test_dtype(dtype, x):
    x = np.asarray(x, dtype=dtype)[()]
    est = numerical.derivative(np.exp, x, method="adaptive", return_estimate=True)
    assert np.asarray(est.value).dtype == dtype
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(est.value, np.exp(np.asarray(x, np.float64)), rtol=eps**0.5)


# test_special_cases: x**99 - 1 at 7 (99 * 7**98), and polynomials 2 x**n differentiated exactly.
def test_special_cases():
    est = numerical.derivative(lambda x: x**99 - 1, 7.0, method="adaptive", rtol=1e-10, return_estimate=True)
    assert est.success
    np.testing.assert_allclose(est.value, 99 * 7.0**98, rtol=1e-10)
    for n in range(6):
        ref = 2 * n * 1.5 ** (n - 1)
        for method in ("adaptive", "richardson", "central6"):
            got = numerical.derivative(lambda x, n=n: 2 * x**n, 1.5, method=method)
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13)  # scipy: 1e-15 (exact stencils)


# test_input_validation: what scipy refuses, we refuse too, with a message naming the problem.
def test_input_validation():
    with pytest.raises(ValueError, match="atol"):
        numerical.derivative(lambda x: x, 1.0, atol=-1)
    with pytest.raises(ValueError, match="order n"):
        numerical.derivative(lambda x: x, 1.0, n=0)
    with pytest.raises(ValueError, match="order n"):
        numerical.derivative(lambda x: x, 1.0, n=1.5)
    with pytest.raises(ValueError, match="elementwise"):
        numerical.derivative(lambda x: np.array([1.0, 2.0, 3.0]) * x[0], np.array([-2.0, -3.0]))
    with pytest.raises(TypeError, match="holomorphic"):  # scipy: "must be real numbers"
        numerical.derivative(lambda x: x, -4 + 1j)
