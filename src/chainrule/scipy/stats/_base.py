"""The shared machinery of the univariate distributions: argument parsing, supports, invalid parameters.

Each method is a NumPy composition of functions with rules, evaluated on
"safe" values: where a parameter is invalid (SciPy gives NaN) or ``x`` lies
outside the support (SciPy gives ``-inf``, 0 or 1), the formula sees a
harmless substitute and ``np.where`` picks SciPy's constant, so no NaN or
warning leaks into the value or the derivative (the unselected branch of
``np.where`` gets an exact zero).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...extend import Tracer, primal, refuse_complex

__all__ = ["ContinuousDistribution", "as_float", "plain"]


def as_float(where: str, v: Any) -> Any:
    """A traced value as it is; anything else as a float array (complex values refused, naming ``where``)."""
    refuse_complex(where, v if type(v) is Tracer else np.asarray(v))
    return v if type(v) is Tracer else np.asarray(v, dtype=np.float64)


def plain(v: Any) -> Any:
    """The plain value of ``v`` (for masks and branch choices only).

    Under ``chainrule.jit`` it is the staging value itself: the comparisons made on it are
    recorded, and ``np.any``/``np.all`` of them become the staged function's guards.
    """
    p = primal(v)
    return p if type(p) is Tracer else np.asarray(p)


class ContinuousDistribution:
    """A location-scale family: ``pdf(x) = f((x - loc) / scale) / scale`` with shape parameters.

    Subclasses give the standardized ``_logpdf(z, *shapes)`` (and ``_cdf``,
    ``_sf``, ``_ppf``, ... where they have better formulas), the support
    ``[lower, upper]``, an interior point ``inner`` and ``_valid(*shapes)``.
    """

    name = ""
    shapes: tuple[str, ...] = ()
    lower = -math.inf
    upper = math.inf
    inner = 0.0

    def __repr__(self) -> str:
        return f"<chainrule.scipy.stats.{self.name}>"

    # -- what subclasses provide -----------------------------------------------------
    def _valid(self, *shapes: Any) -> Any:
        """Where the shape parameters are valid (all positive by default); ``None``: everywhere."""
        valid = None
        for s in shapes:
            valid = s > 0 if valid is None else valid & (s > 0)
        return valid

    def _bad(self, shapes: list[Any], scale: Any) -> Any:
        """Where SciPy returns NaN: invalid shape parameters or a scale that is not positive."""
        bad = ~(plain(scale) > 0)
        valid = self._valid(*[plain(s) for s in shapes])
        return bad if valid is None else bad | ~valid

    def _logpdf(self, z: Any, *shapes: Any) -> Any:
        raise NotImplementedError

    def _cdf(self, z: Any, *shapes: Any) -> Any:
        raise NotImplementedError

    def _sf(self, z: Any, *shapes: Any) -> Any:
        return 1.0 - self._cdf(z, *shapes)

    def _logcdf(self, z: Any, *shapes: Any) -> Any:
        return np.log(self._cdf(z, *shapes))

    def _logsf(self, z: Any, *shapes: Any) -> Any:
        return np.log(self._sf(z, *shapes))

    def _ppf(self, q: Any, *shapes: Any) -> Any:
        raise NotImplementedError

    # -- parsing ------------------------------------------------------------------
    def _parse(self, method: str, args: tuple[Any, ...], kwds: dict[str, Any]) -> tuple[list[Any], Any, Any]:
        names = (*self.shapes, "loc", "scale")
        where = f"chainrule.scipy.stats.{self.name}.{method}"
        if len(args) > len(names):
            raise TypeError(f"{where} takes at most {len(names)} parameters {names}, got {len(args)}")
        values: dict[str, Any] = dict(zip(names, args))
        for key, value in kwds.items():
            if key not in names:
                raise TypeError(f"{where} got an unexpected keyword argument {key!r} (parameters: {names})")
            if key in values:
                raise TypeError(f"{where} got multiple values for {key!r}")
            values[key] = value
        missing = [n for n in self.shapes if n not in values]
        if missing:
            raise TypeError(f"{where} is missing the shape parameter(s) {missing}")
        params = [as_float(where, values[n]) for n in self.shapes]
        loc, scale = as_float(where, values.get("loc", 0.0)), as_float(where, values.get("scale", 1.0))
        return params, loc, scale

    def _prepare(
        self, method: str, x: Any, args: tuple[Any, ...], kwds: dict[str, Any]
    ) -> tuple[Any, list[Any], Any, Any]:
        """``(x, safe shapes, safe scale, bad)``: invalid parameters replaced by 1, and where they were."""
        shapes, loc, scale = self._parse(method, args, kwds)
        x = as_float(f"chainrule.scipy.stats.{self.name}.{method}", x)
        bad = self._bad(shapes, scale)
        if np.any(bad):
            shapes = [np.where(bad, 1.0, s) for s in shapes]
            scale = np.where(bad, 1.0, scale)
        return (x - loc) / scale, shapes, scale, bad

    @staticmethod
    def _finish(value: Any, bad: Any) -> Any:
        return np.where(bad, np.nan, value) if np.any(bad) else value

    def _inside(self, z: Any) -> tuple[Any, Any]:
        pz = plain(z)
        inside = (pz >= self.lower) & (pz <= self.upper)
        return inside, (z if np.all(inside) else np.where(inside, z, self.inner))

    # -- SciPy's methods ----------------------------------------------------------------
    def logpdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The log of the probability density at ``x``, as SciPy's ``logpdf``."""
        z, shapes, scale, bad = self._prepare("logpdf", x, args, kwds)
        inside, zs = self._inside(z)
        with np.errstate(divide="ignore"):
            value = np.where(inside, self._logpdf(zs, *shapes) - np.log(scale), -np.inf)
        return self._finish(value, bad)

    def pdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The probability density at ``x``, as SciPy's ``pdf``."""
        return np.exp(self.logpdf(x, *args, **kwds))

    def _tail(self, method: str, x: Any, args: Any, kwds: Any, below: float, above: float) -> Any:
        z, shapes, _, bad = self._prepare(method, x, args, kwds)
        inside, zs = self._inside(z)
        pz = plain(z)
        with np.errstate(divide="ignore"):
            value = getattr(self, "_" + method)(zs, *shapes)
        if not np.all(inside):
            value = np.where(inside, value, np.where(pz < self.lower, below, above))
        return self._finish(value, bad)

    def cdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The cumulative distribution function at ``x``, as SciPy's ``cdf``."""
        return self._tail("cdf", x, args, kwds, 0.0, 1.0)

    def logcdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The log of the cumulative distribution function, as SciPy's ``logcdf``."""
        return self._tail("logcdf", x, args, kwds, -np.inf, 0.0)

    def sf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The survival function ``1 - cdf`` at ``x``, as SciPy's ``sf``."""
        return self._tail("sf", x, args, kwds, 1.0, 0.0)

    def logsf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The log of the survival function, as SciPy's ``logsf``."""
        return self._tail("logsf", x, args, kwds, 0.0, -np.inf)

    def ppf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        """The quantile function (inverse of ``cdf``) at ``q``, as SciPy's ``ppf``."""
        shapes, loc, scale = self._parse("ppf", args, kwds)
        q = as_float(f"chainrule.scipy.stats.{self.name}.ppf", q)
        pq = plain(q)
        bad = self._bad(shapes, scale) | ~((pq >= 0) & (pq <= 1))
        ends = (pq == 0) | (pq == 1)
        if np.any(bad):
            shapes = [np.where(bad, 1.0, s) for s in shapes]
            scale = np.where(bad, 1.0, scale)
        if np.any(bad | ends):  # the ends of the support are SciPy's exact values, not the formula's
            q = np.where(bad | ends, 0.5, q)
        with np.errstate(divide="ignore"):
            z = self._ppf(q, *shapes)
        if np.any(ends):
            z = np.where(pq == 0, self.lower, np.where(pq == 1, self.upper, z))
        return self._finish(loc + scale * z, bad)
