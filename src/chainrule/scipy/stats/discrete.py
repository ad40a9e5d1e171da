"""The discrete distributions ``poisson``, ``binom`` and ``bernoulli``.

Differentiable in their real parameters (``mu``, ``p``); the counts ``k``,
``n`` and the shift ``loc`` are integers and carry no derivative (a traced
one is refused). ``pmf`` is ``exp(logpmf)`` with ``logpmf`` built from
``xlogy``/``xlog1py``/``gammaln``; ``cdf``/``sf`` are regularized incomplete
gamma and beta functions of the parameter (``gammaincc(k + 1, mu)``,
``betainc(n - k, k + 1, 1 - p)``), which have rules in that argument. ``ppf``
is piecewise constant (a plain array, derivative 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc
import scipy.stats as st

from ...extend import Tracer, plain_ints
from ._base import as_float, plain

__all__ = ["bernoulli", "binom", "poisson"]


def _counts(where: str, what: str, v: Any) -> Any:
    plain_ints(where, what, v)  # (a staging value of chainrule.jit is data: kept)
    return v if type(v) is Tracer else np.asarray(v, dtype=np.float64)


def _nan_where(bad: Any, value: Any) -> Any:
    return np.where(bad, np.nan, value) if np.any(bad) else value


class _Poisson:
    name = "poisson"

    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.poisson>"

    def _prepare(self, method: str, k: Any, mu: Any, loc: Any) -> tuple[Any, Any, Any]:
        where = f"chainrule.scipy.stats.poisson.{method}"
        k = _counts(where, "k", k) - _counts(where, "loc", loc)
        mu = as_float(where, mu)
        bad = ~(plain(mu) >= 0)
        if np.any(bad):
            mu = np.where(bad, 1.0, mu)
        return k, mu, bad

    def logpmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """``k log(mu) - mu - log(k!)`` at integer ``k >= 0``, ``-inf`` elsewhere."""
        k, mu, bad = self._prepare("logpmf", k, mu, loc)
        ok = (k >= 0) & (k == np.floor(k))
        ks = np.where(ok, k, 0.0)
        value = np.where(ok, sc.xlogy(ks, mu) - mu - sc.gammaln(ks + 1.0), -np.inf)
        return _nan_where(bad, value)

    def pmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """The probability of ``k``."""
        return np.exp(self.logpmf(k, mu, loc))

    def cdf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """``P(K <= k) = gammaincc(floor(k) + 1, mu)``."""
        k, mu, bad = self._prepare("cdf", k, mu, loc)
        kf = np.floor(k)
        value = np.where(kf >= 0, sc.gammaincc(np.maximum(kf, 0.0) + 1.0, mu), 0.0)
        return _nan_where(bad, value)

    def sf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """``P(K > k) = gammainc(floor(k) + 1, mu)``."""
        k, mu, bad = self._prepare("sf", k, mu, loc)
        kf = np.floor(k)
        value = np.where(kf >= 0, sc.gammainc(np.maximum(kf, 0.0) + 1.0, mu), 1.0)
        return _nan_where(bad, value)

    def logcdf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """``log(cdf)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.cdf(k, mu, loc))

    def logsf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """``log(sf)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.sf(k, mu, loc))

    def ppf(self, q: Any, mu: Any, loc: Any = 0) -> Any:
        """SciPy's quantile (piecewise constant: a plain array)."""
        return st.poisson.ppf(plain(q), plain(mu), loc)


class _Binom:
    name = "binom"

    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.binom>"

    def _prepare(self, method: str, k: Any, n: Any, p: Any, loc: Any) -> tuple[Any, Any, Any, Any]:
        where = f"chainrule.scipy.stats.{self.name}.{method}"
        k = _counts(where, "k", k) - _counts(where, "loc", loc)
        n = _counts(where, "n", n)
        p = as_float(where, p)
        pp = plain(p)
        bad = ~((pp >= 0) & (pp <= 1) & (n >= 0) & (n == np.floor(n)))
        if np.any(bad):
            p = np.where(bad, 0.5, p)
            n = np.where(bad, 1.0, n)
        return k, n, p, bad

    def _logpmf(self, k: Any, n: Any, p: Any, bad: Any) -> Any:
        ok = (k >= 0) & (k <= n) & (k == np.floor(k))
        ks = np.where(ok, k, 0.0)
        log_choose = sc.gammaln(n + 1.0) - sc.gammaln(ks + 1.0) - sc.gammaln(n - ks + 1.0)
        value = np.where(ok, log_choose + sc.xlogy(ks, p) + sc.xlog1py(n - ks, -p), -np.inf)
        return _nan_where(bad, value)

    def _cdf(self, k: Any, n: Any, p: Any, bad: Any) -> Any:
        kf = np.floor(k)
        inner = (kf >= 0) & (kf < n)
        ks = np.where(inner, kf, 0.0)
        ns = np.where(inner, n, 1.0)
        value = np.where(inner, sc.betainc(ns - ks, ks + 1.0, 1.0 - p), np.where(kf < 0, 0.0, 1.0))
        return _nan_where(bad, value)

    def _sf(self, k: Any, n: Any, p: Any, bad: Any) -> Any:
        kf = np.floor(k)
        inner = (kf >= 0) & (kf < n)
        ks = np.where(inner, kf, 0.0)
        ns = np.where(inner, n, 1.0)
        value = np.where(inner, sc.betainc(ks + 1.0, ns - ks, p), np.where(kf < 0, 1.0, 0.0))
        return _nan_where(bad, value)

    def logpmf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        """``log(C(n, k)) + k log(p) + (n - k) log(1 - p)`` at integer ``0 <= k <= n``."""
        return self._logpmf(*self._prepare("logpmf", k, n, p, loc))

    def pmf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        """The probability of ``k`` successes in ``n`` trials."""
        return np.exp(self.logpmf(k, n, p, loc))

    def cdf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        """``P(K <= k)``."""
        return self._cdf(*self._prepare("cdf", k, n, p, loc))

    def sf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        """``P(K > k)``."""
        return self._sf(*self._prepare("sf", k, n, p, loc))

    def logcdf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        """``log(cdf)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.cdf(k, n, p, loc))

    def logsf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        """``log(sf)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.sf(k, n, p, loc))

    def ppf(self, q: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        """SciPy's quantile (piecewise constant: a plain array)."""
        return st.binom.ppf(plain(q), n, plain(p), loc)


class _Bernoulli(_Binom):
    """``binom`` with ``n = 1``."""

    name = "bernoulli"

    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.bernoulli>"

    def logpmf(self, k: Any, p: Any, loc: Any = 0) -> Any:  # type: ignore[override]
        """``k log(p) + (1 - k) log(1 - p)`` at ``k`` in {0, 1}."""
        return self._logpmf(*self._prepare("logpmf", k, 1, p, loc))

    def pmf(self, k: Any, p: Any, loc: Any = 0) -> Any:  # type: ignore[override]
        """The probability of ``k``."""
        return np.exp(self.logpmf(k, p, loc))

    def cdf(self, k: Any, p: Any, loc: Any = 0) -> Any:  # type: ignore[override]
        """``P(K <= k)``."""
        return self._cdf(*self._prepare("cdf", k, 1, p, loc))

    def sf(self, k: Any, p: Any, loc: Any = 0) -> Any:  # type: ignore[override]
        """``P(K > k)``."""
        return self._sf(*self._prepare("sf", k, 1, p, loc))

    def logcdf(self, k: Any, p: Any, loc: Any = 0) -> Any:  # type: ignore[override]
        """``log(cdf)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.cdf(k, p, loc))

    def logsf(self, k: Any, p: Any, loc: Any = 0) -> Any:  # type: ignore[override]
        """``log(sf)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.sf(k, p, loc))

    def ppf(self, q: Any, p: Any, loc: Any = 0) -> Any:  # type: ignore[override]
        """SciPy's quantile (piecewise constant: a plain array)."""
        return st.bernoulli.ppf(plain(q), plain(p), loc)


poisson = _Poisson()
binom = _Binom()
bernoulli = _Bernoulli()
