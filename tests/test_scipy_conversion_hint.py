"""A traced value reaching np.asarray inside a SciPy function: the error names that function and
points to its chainrule.scipy equivalent."""

import inspect

import numpy as np
import pytest

pytest.importorskip("scipy")

import scipy.integrate
import scipy.linalg
import scipy.signal
import scipy.special
import scipy.stats

import chainrule as cr
import chainrule.scipy
from chainrule.engine.conversion import CHAINRULE_SCIPY

X = np.array([[1.2, 0.3], [0.1, 0.9]])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda x: scipy.stats.norm.logpdf(x), "scipy.stats.norm.logpdf"),
        (lambda x: scipy.stats.norm(0.0, 2.0).cdf(x), "scipy.stats.norm.cdf"),
        (lambda x: scipy.stats.t.ppf(x * 0.1, 3.0), "scipy.stats.t.ppf"),
        (lambda x: scipy.stats.poisson.logpmf(1, x), "scipy.stats.poisson.logpmf"),
        (
            lambda x: scipy.stats.multivariate_normal.logpdf(x, np.zeros(2)),
            "scipy.stats.multivariate_normal.logpdf",
        ),
        (lambda x: scipy.linalg.expm(x), "scipy.linalg.expm"),
        (lambda x: scipy.linalg.lu_factor(x)[0], "scipy.linalg.lu_factor"),
        (lambda x: scipy.linalg.solve_triangular(x, np.ones(2)), "scipy.linalg.solve_triangular"),
        (lambda x: scipy.special.logsumexp(x), "scipy.special.logsumexp"),
        (lambda x: scipy.signal.fftconvolve(x, x), "scipy.signal.fftconvolve"),
        (lambda x: scipy.integrate.trapezoid(x), "scipy.integrate.trapezoid"),
    ],
)
def test_the_error_points_to_the_equivalent(call, name):
    with pytest.raises(cr.TracerConversionError) as info:
        cr.grad(lambda x: np.sum(call(x)))(X)
    message = str(info.value)
    assert f"Inside {name}:" in message
    assert f"use chainrule.{name}, its differentiable version" in message
    # and the advice is right: the equivalent exists and runs on the same arguments
    path = ("chainrule." + name).split(".")
    target = chainrule
    for part in path[1:]:
        target = getattr(target, part)
    assert callable(target)


def test_a_method_chainrule_lacks_is_said_so():
    with pytest.raises(
        cr.TracerConversionError, match=r"chainrule.scipy.stats.norm has logpdf, .* but not entropy"
    ):
        cr.grad(lambda s: scipy.stats.norm.entropy(scale=s))(1.0)


def test_a_function_chainrule_lacks_gets_the_generic_advice():
    with pytest.raises(cr.TracerConversionError, match=r"Inside scipy.linalg.eig: .*custom_vjp"):
        cr.grad(lambda x: np.sum(np.real(scipy.linalg.eig(x)[0])))(X)


def test_the_engines_table_matches_the_package():
    # conversion.py (in the engine) cannot import chainrule.scipy: its table is checked here.
    for module, functions in CHAINRULE_SCIPY.items():
        package = getattr(chainrule.scipy, module)
        if module == "stats":
            assert set(functions) == set(package.__all__)
            for dist, methods in functions.items():
                public = {
                    m
                    for m, _ in inspect.getmembers(getattr(package, dist), callable)
                    if not m.startswith("_")
                }
                assert set(methods) == public, dist
        else:
            non_ufuncs = {n for n in package.__all__ if not isinstance(getattr(package, n), np.ufunc)}
            assert set(functions) == non_ufuncs, module
