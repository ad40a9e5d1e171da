"""Differentiable ``scipy.stats`` distributions, with SciPy's method signatures.

``norm.logpdf(x, loc=0, scale=1)``, ``gamma.cdf(x, a, loc=0, scale=1)``,
``poisson.logpmf(k, mu)``, ``multivariate_normal.logpdf(x, mean, cov)``, ...:
each method is a NumPy composition of functions with rules, differentiable
(first and second order, both modes) in ``x`` and in the parameters
(``loc``, ``scale``, the shapes of the density), broadcasting as SciPy
does. Invalid parameters give NaN and points outside the support SciPy's
constants, as in SciPy (see :mod:`._base`).

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule.scipy.stats import norm
>>> float(cr.grad(lambda s: norm.logpdf(2.0, scale=s))(1.0))  # -1/s + x**2/s**3
3.0
"""

from .continuous import beta, cauchy, chi2, expon, gamma, laplace, logistic, norm, t
from .discrete import bernoulli, binom, poisson
from .multivariate import dirichlet, multivariate_normal

__all__ = [
    "bernoulli",
    "beta",
    "binom",
    "cauchy",
    "chi2",
    "dirichlet",
    "expon",
    "gamma",
    "laplace",
    "logistic",
    "multivariate_normal",
    "norm",
    "poisson",
    "t",
]
