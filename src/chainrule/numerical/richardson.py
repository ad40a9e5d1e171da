"""Richardson extrapolation: combine differences at several steps to cancel their error terms.

A difference quotient at step ``h`` has the error expansion
``D(h) = D + c_1 h**p + c_2 h**(p + q) + ...`` (``q = 2`` for symmetric
stencils, 1 for one-sided ones). With steps ``h, h/r, h/r**2, ...`` each
column of the table removes one more term (L. F. Richardson, "The deferred
approach to the limit", Phil. Trans. R. Soc. A 226 (1927) 299-349):
``R[j][m] = R[j][m-1] + (R[j][m-1] - R[j-1][m-1]) / (r**(p + (m-1) q) - 1)``.

Examples
--------
>>> import numpy as np
>>> h = np.array([0.1, 0.05, 0.025])
>>> d = [(np.exp(s) - np.exp(-s)) / (2 * s) for s in h]   # d/dx exp at 0, error ~ h**2
>>> table = extrapolate(d, 2.0, 2, 2)
>>> bool(abs(table[-1][-1] - 1.0) < 1e-9 < abs(d[-1] - 1.0))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["extrapolate", "extrapolation_gain"]


def extrapolate(
    ds: Sequence[np.ndarray], ratio: float, p: int, q: int, terms: int | None = None
) -> list[list[np.ndarray]]:
    """The Richardson table of ``ds`` (differences at steps ``h / ratio**j``, coarse to fine).

    Row ``j`` holds ``min(j, terms) + 1`` entries, the last the most extrapolated.
    """
    table: list[list[np.ndarray]] = []
    for j, d in enumerate(ds):
        row = [np.asarray(d)]
        for m in range(1, min(j, terms if terms is not None else j) + 1):
            factor = ratio ** (p + (m - 1) * q) - 1.0
            row.append(row[m - 1] + (row[m - 1] - table[j - 1][m - 1]) / factor)
        table.append(row)
    return table


def extrapolation_gain(ratio: float, p: int, q: int, terms: int) -> float:
    """The sum of the magnitudes of the weights ``terms`` extrapolations put on the differences.

    Rounding noise in the differences is amplified by at most this factor.
    """
    weights = np.array([1.0])
    for m in range(1, terms + 1):
        factor = ratio ** (p + (m - 1) * q) - 1.0
        new = np.zeros(weights.size + 1)
        new[1:] += weights * (1.0 + 1.0 / factor)  # the finer row
        new[:-1] -= weights / factor  # the coarser row
        weights = new
    return float(np.sum(np.abs(weights)))
