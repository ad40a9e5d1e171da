"""The univariate continuous distributions: ``norm``, ``t``, ``gamma``, ``beta``, ``chi2``, ``expon``,
``laplace``, ``logistic``, ``cauchy``.

Each is a NumPy composition of ufuncs with rules (``ndtr``, ``log_ndtr``,
``gammainc``, ``betainc``, ``stdtr``, ...), so it is differentiable in ``x``,
``loc`` and ``scale`` and, through the density, in its shape parameters.

The ``cdf``, ``sf`` and ``ppf`` of ``gamma`` and ``chi2`` are differentiable in
``a`` and ``df`` to second order (the incomplete gamma function's derivatives
in its parameter, by series). Not differentiable (refused by name, never a
silent zero): the ``cdf``, ``sf`` and ``ppf`` of ``t`` and ``beta`` in ``df``,
``a``, ``b``, which need the incomplete beta function's derivatives in its
parameters (no rule yet).

Kinks: ``laplace`` at ``x = loc`` (the subgradient 0 of ``|x|``); densities on
the edge of their support (``gamma``, ``beta``, ``chi2``, ``expon``) are
differentiated from the inside.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc

from ._base import ContinuousDistribution, plain

__all__ = ["beta", "cauchy", "chi2", "expon", "gamma", "laplace", "logistic", "norm", "t"]

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
LOG_PI = math.log(math.pi)
LN2 = math.log(2.0)


class _Norm(ContinuousDistribution):
    name = "norm"

    def _logpdf(self, z: Any) -> Any:
        return -0.5 * z * z - HALF_LOG_2PI

    def _cdf(self, z: Any) -> Any:
        return sc.ndtr(z)

    def _sf(self, z: Any) -> Any:
        return sc.ndtr(-z)

    def _logcdf(self, z: Any) -> Any:
        return sc.log_ndtr(z)

    def _logsf(self, z: Any) -> Any:
        return sc.log_ndtr(-z)

    def _ppf(self, q: Any) -> Any:
        return sc.ndtri(q)


class _T(ContinuousDistribution):
    name = "t"
    shapes = ("df",)

    def _logpdf(self, z: Any, df: Any) -> Any:
        return (
            sc.gammaln(0.5 * (df + 1.0))
            - sc.gammaln(0.5 * df)
            - 0.5 * (np.log(df) + LOG_PI)
            - 0.5 * (df + 1.0) * np.log1p(z * z / df)
        )

    def _cdf(self, z: Any, df: Any) -> Any:
        return sc.stdtr(df, z)

    def _sf(self, z: Any, df: Any) -> Any:
        return sc.stdtr(df, -z)

    def _ppf(self, q: Any, df: Any) -> Any:
        return sc.stdtrit(df, q)


class _Gamma(ContinuousDistribution):
    name = "gamma"
    shapes = ("a",)
    lower = 0.0
    inner = 1.0

    def _logpdf(self, z: Any, a: Any) -> Any:
        return sc.xlogy(a - 1.0, z) - z - sc.gammaln(a)

    def _cdf(self, z: Any, a: Any) -> Any:
        return sc.gammainc(a, z)

    def _sf(self, z: Any, a: Any) -> Any:
        return sc.gammaincc(a, z)

    def _ppf(self, q: Any, a: Any) -> Any:
        return sc.gammaincinv(a, q)


class _Chi2(ContinuousDistribution):
    name = "chi2"
    shapes = ("df",)
    lower = 0.0
    inner = 1.0

    def _logpdf(self, z: Any, df: Any) -> Any:
        k = 0.5 * df
        return sc.xlogy(k - 1.0, z) - 0.5 * z - sc.gammaln(k) - k * LN2

    def _cdf(self, z: Any, df: Any) -> Any:
        return sc.gammainc(0.5 * df, 0.5 * z)

    def _sf(self, z: Any, df: Any) -> Any:
        return sc.gammaincc(0.5 * df, 0.5 * z)

    def _ppf(self, q: Any, df: Any) -> Any:
        return 2.0 * sc.gammaincinv(0.5 * df, q)


class _Beta(ContinuousDistribution):
    name = "beta"
    shapes = ("a", "b")
    lower = 0.0
    upper = 1.0
    inner = 0.5

    def _logpdf(self, z: Any, a: Any, b: Any) -> Any:
        return sc.xlogy(a - 1.0, z) + sc.xlog1py(b - 1.0, -z) - sc.betaln(a, b)

    def _cdf(self, z: Any, a: Any, b: Any) -> Any:
        return sc.betainc(a, b, z)

    def _sf(self, z: Any, a: Any, b: Any) -> Any:
        return sc.betaincc(a, b, z)

    def _ppf(self, q: Any, a: Any, b: Any) -> Any:
        return sc.betaincinv(a, b, q)


class _Expon(ContinuousDistribution):
    name = "expon"
    lower = 0.0
    inner = 1.0

    def _logpdf(self, z: Any) -> Any:
        return -z

    def _cdf(self, z: Any) -> Any:
        return -np.expm1(-z)

    def _sf(self, z: Any) -> Any:
        return np.exp(-z)

    def _logsf(self, z: Any) -> Any:
        return -z

    def _ppf(self, q: Any) -> Any:
        return -np.log1p(-q)


class _Laplace(ContinuousDistribution):
    name = "laplace"

    def _logpdf(self, z: Any) -> Any:
        return -np.abs(z) - LN2

    # The branches are written with their own half of the line, so the derivative at
    # z = 0 (q = 1/2) is the smooth one (the density 1/2), not the subgradient of |z|.
    def _cdf(self, z: Any) -> Any:
        left = plain(z) < 0
        return np.where(
            left, 0.5 * np.exp(np.where(left, z, 0.0)), 1.0 - 0.5 * np.exp(-np.where(left, 0.0, z))
        )

    def _sf(self, z: Any) -> Any:
        return self._cdf(-z)

    def _ppf(self, q: Any) -> Any:
        d = q - 0.5
        left = plain(d) < 0
        return np.where(
            left, np.log1p(2.0 * np.where(left, d, 0.0)), -np.log1p(-2.0 * np.where(left, 0.0, d))
        )


class _Logistic(ContinuousDistribution):
    name = "logistic"

    def _logpdf(self, z: Any) -> Any:
        return sc.log_expit(z) + sc.log_expit(-z)

    def _cdf(self, z: Any) -> Any:
        return sc.expit(z)

    def _sf(self, z: Any) -> Any:
        return sc.expit(-z)

    def _logcdf(self, z: Any) -> Any:
        return sc.log_expit(z)

    def _logsf(self, z: Any) -> Any:
        return sc.log_expit(-z)

    def _ppf(self, q: Any) -> Any:
        return sc.logit(q)


class _Cauchy(ContinuousDistribution):
    name = "cauchy"

    def _logpdf(self, z: Any) -> Any:
        return -LOG_PI - np.log1p(z * z)

    def _cdf(self, z: Any) -> Any:
        return 0.5 + np.arctan(z) / math.pi

    def _sf(self, z: Any) -> Any:
        return 0.5 - np.arctan(z) / math.pi

    def _ppf(self, q: Any) -> Any:
        return np.tan(math.pi * (q - 0.5))


norm = _Norm()
t = _T()
gamma = _Gamma()
chi2 = _Chi2()
beta = _Beta()
expon = _Expon()
laplace = _Laplace()
logistic = _Logistic()
cauchy = _Cauchy()
