"""Differentiable versions of SciPy functions, with SciPy's own signatures.

SciPy's Python-level functions convert their inputs with ``np.asarray``, so a
traced value never reaches chainrule through them (the conversion is refused,
naming the function and its equivalent here). This package gives the same
functions written with differentiable NumPy operations, or as primitives with
their own rules, first and second order in both modes:

* :mod:`chainrule.scipy.special`: ``logsumexp``, ``softmax``, ``log_softmax``,
  ``polygamma``, ``multigammaln`` and the ufuncs with rules.
* :mod:`chainrule.scipy.stats`: ``norm``, ``t``, ``multivariate_normal``,
  ``poisson``, ``dirichlet``, ``gamma``, ``beta``, ``chi2``, ``expon``,
  ``laplace``, ``logistic``, ``cauchy``, ``binom``, ``bernoulli``.
* :mod:`chainrule.scipy.linalg`: ``expm``, ``sqrtm``, ``logm``,
  ``solve_triangular``, ``cho_factor``/``cho_solve``, ``lu_factor``/``lu_solve``,
  ``solve_sylvester``, ``solve_banded``, ``det``, ``inv``.
* :mod:`chainrule.scipy.signal`: ``convolve``, ``correlate``, ``fftconvolve``.
* :mod:`chainrule.scipy.integrate`: ``odeint`` and ``solve_ivp`` (adjoint
  sensitivities), ``trapezoid``.

SciPy is an optional dependency (``pip install chainrule[scipy]``); importing
this package without it raises ``ImportError``.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule.scipy import stats
>>> float(cr.grad(lambda mu: stats.norm.logpdf(1.0, loc=mu))(0.0))
1.0
"""

from . import integrate, linalg, signal, special, stats

__all__ = ["integrate", "linalg", "signal", "special", "stats"]
