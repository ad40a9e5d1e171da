"""``multivariate_normal`` and ``dirichlet``: densities as compositions of rules.

* ``multivariate_normal.logpdf`` uses the Cholesky factor of ``cov`` (whose
  rule reads a symmetric matrix) and a triangular solve: differentiable in
  ``x``, ``mean`` and ``cov``. ``cov`` may be a scalar, a vector (the
  diagonal) or a matrix, as in SciPy; ``allow_singular=True`` is refused.
* ``dirichlet.logpdf(x, alpha)``: components along the first axis of ``x``
  (as in SciPy), differentiable in ``x`` and ``alpha``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc

from ..linalg.triangular import solve_triangular_p
from ._base import as_float, plain

__all__ = ["dirichlet", "multivariate_normal"]

LOG_2PI = math.log(2.0 * math.pi)


class _MultivariateNormal:
    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.multivariate_normal>"

    def logpdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """The log density at ``x`` (last axis: the components), as SciPy's ``logpdf``.

        >>> import numpy as np
        >>> float(multivariate_normal.logpdf(np.zeros(2), cov=np.eye(2))) == -math.log(2 * math.pi)
        True
        """
        where = "chainrule.scipy.stats.multivariate_normal.logpdf"
        if allow_singular:
            raise ValueError(f"{where}: allow_singular=True is not supported (its density is not smooth)")
        x, cov = as_float(where, x), as_float(where, cov)
        mean = None if mean is None else as_float(where, mean)
        if np.ndim(cov) == 2:
            dim = np.shape(cov)[0]
        elif mean is not None and np.ndim(mean) == 1:
            dim = np.shape(mean)[0]
        else:
            dim = np.shape(x)[-1] if np.ndim(x) else 1
        if np.ndim(cov) < 2:
            cov = np.eye(dim) * cov
        if np.ndim(x) == 0 or (dim > 1 and np.shape(x)[-1] != dim):
            x = np.reshape(x, (*np.shape(x), 1)) if dim == 1 else x
        if np.shape(x)[-1] != dim:
            raise ValueError(
                f"{where}: x has shape {np.shape(x)}, its last axis should have {dim} components"
            )
        diff = x if mean is None else x - mean
        low = np.linalg.cholesky(cov)
        flat = np.reshape(diff, (-1, dim))
        y = solve_triangular_p(low, np.swapaxes(flat, 0, 1), 0, True, False)
        maha = np.reshape(np.sum(y * y, axis=0), np.shape(diff)[:-1])
        logdet = 2.0 * np.sum(np.log(np.diagonal(low)))
        return -0.5 * (dim * LOG_2PI + logdet + maha)

    def pdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """The density at ``x``, as SciPy's ``pdf``."""
        return np.exp(self.logpdf(x, mean, cov, allow_singular))


class _Dirichlet:
    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.dirichlet>"

    def logpdf(self, x: Any, alpha: Any) -> Any:
        """The log density of the point(s) ``x`` on the simplex, as SciPy's ``logpdf``.

        ``x`` has ``K`` (or ``K - 1``, the last implied) components along its first axis.

        >>> import numpy as np
        >>> float(dirichlet.logpdf(np.array([0.5, 0.5]), np.array([1.0, 1.0])))
        0.0
        """
        where = "chainrule.scipy.stats.dirichlet.logpdf"
        x, alpha = as_float(where, x), as_float(where, alpha)
        if np.ndim(alpha) != 1 or np.any(plain(alpha) <= 0):
            raise ValueError(f"{where}: alpha must be a vector of positive numbers, got {plain(alpha)!r}")
        k = np.shape(alpha)[0]
        if np.shape(x)[0] == k - 1:
            x = np.concatenate([x, 1.0 - np.sum(x, axis=0, keepdims=True)], axis=0)
        if np.shape(x)[0] != k:
            raise ValueError(
                f"{where}: x needs {k} or {k - 1} components along its first axis, got {np.shape(x)}"
            )
        px = plain(x)
        if np.any(px < 0) or np.any(px > 1) or not np.allclose(np.sum(px, axis=0), 1.0):
            raise ValueError(f"{where}: each point x must lie on the simplex (in [0, 1], summing to 1)")
        a = np.reshape(alpha, (k,) + (1,) * (np.ndim(x) - 1))
        return np.sum(sc.xlogy(a - 1.0, x), axis=0) + sc.gammaln(np.sum(alpha)) - np.sum(sc.gammaln(alpha))

    def pdf(self, x: Any, alpha: Any) -> Any:
        """The density, as SciPy's ``pdf``."""
        return np.exp(self.logpdf(x, alpha))

    def mean(self, alpha: Any) -> Any:
        """``alpha / sum(alpha)``."""
        return alpha / np.sum(alpha)


multivariate_normal = _MultivariateNormal()
dirichlet = _Dirichlet()
