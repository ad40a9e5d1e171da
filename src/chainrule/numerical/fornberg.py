"""Finite-difference weights for any derivative order on any set of points (Fornberg's algorithm).

Given distinct offsets ``k_0, ..., k_{m-1}`` (in units of the step ``h``),
:func:`fornberg_weights` returns the weights ``w`` of the formula
``f^(n)(x) ~ sum_j w_j f(x + k_j h) / h**n``, exact for every polynomial of
degree below ``m``. The recursion is B. Fornberg's, "Generation of finite
difference formulas on arbitrarily spaced grids", Math. Comp. 51 (1988)
699-706: it builds the weights of all orders up to ``n`` on the first ``i``
points from those on the first ``i - 1``, using only the Lagrange
interpolation identities. It runs in exact rational arithmetic here (the
stencils are small and cached), so the weights carry no rounding of their own.

:func:`stencil_offsets` gives the points of the usual stencils: central
(symmetric, order of accuracy even), forward and backward (one-sided, for
the edge of a function's domain).

Examples
--------
>>> fornberg_weights((-1, 0, 1), 2)
array([ 1., -2.,  1.])
>>> stencil_offsets("central", 3, 2)
(-2.0, -1.0, 1.0, 2.0)
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

__all__ = ["KINDS", "fornberg_weights", "stencil_offsets", "truncation_order"]

#: The kinds of stencil :func:`stencil_offsets` builds.
KINDS = ("central", "forward", "backward")


def fornberg_weights(offsets: tuple[float, ...], n: int) -> np.ndarray:
    """Weights of the ``n``-th derivative at 0 from values at ``offsets`` (units of ``h``).

    Parameters
    ----------
    offsets
        Distinct points, as multiples of the step; at least ``n + 1`` of them.
    n
        The derivative order (0 interpolates).

    Examples
    --------
    >>> fornberg_weights((-2, -1, 1, 2), 1) * 12
    array([ 1., -8.,  8., -1.])
    """
    return np.array(
        [float(w) for w in _weights(tuple(Fraction(k).limit_denominator(1 << 20) for k in offsets), n)]
    )


@lru_cache(maxsize=256)
def _weights(nodes: tuple[Fraction, ...], n: int) -> tuple[Fraction, ...]:
    m = len(nodes)
    if n < 0:
        raise ValueError(f"the derivative order must be >= 0, not {n}")
    if m < n + 1:
        raise ValueError(f"a derivative of order {n} needs at least {n + 1} points, got {m}")
    if len(set(nodes)) != m:
        raise ValueError(f"the stencil offsets must be distinct, got {[float(k) for k in nodes]}")
    # c[j][d]: weight of node j for derivative d, on the nodes seen so far.
    c = [[Fraction(0)] * (n + 1) for _ in range(m)]
    c[0][0] = Fraction(1)
    prod_prev = Fraction(1)
    for i in range(1, m):
        prod = Fraction(1)
        top = min(i, n)
        for j in range(i):
            gap = nodes[i] - nodes[j]
            prod *= gap
            if j == i - 1:
                # The new node's weights, from the previous last node's.
                for d in range(top, 0, -1):
                    c[i][d] = prod_prev * (d * c[i - 1][d - 1] - nodes[i - 1] * c[i - 1][d]) / prod
                c[i][0] = -prod_prev * nodes[i - 1] * c[i - 1][0] / prod
            # The old nodes' weights, updated for the new node.
            for d in range(top, 0, -1):
                c[j][d] = (nodes[i] * c[j][d] - d * c[j][d - 1]) / gap
            c[j][0] = nodes[i] * c[j][0] / gap
        prod_prev = prod
    return tuple(c[j][n] for j in range(m))


def stencil_offsets(kind: str, n: int, accuracy: int) -> tuple[float, ...]:
    """The points of a ``kind`` stencil for the ``n``-th derivative with error ``O(h**accuracy)``.

    Central stencils are symmetric (``accuracy`` must be even) and skip the
    centre for odd ``n`` (its weight is zero); one-sided stencils use
    ``n + accuracy`` points from the centre outwards.

    Examples
    --------
    >>> stencil_offsets("forward", 1, 2)
    (0.0, 1.0, 2.0)
    >>> stencil_offsets("central", 2, 4)
    (-2.0, -1.0, 0.0, 1.0, 2.0)
    """
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"the derivative order n must be a positive integer, not {n!r}")
    if not isinstance(accuracy, int | np.integer) or accuracy < 1:
        raise ValueError(f"the order of accuracy must be a positive integer, not {accuracy!r}")
    if kind == "central":
        if accuracy % 2:
            raise ValueError(f"central stencils have an even order of accuracy, not {accuracy}")
        half = (n - 1) // 2 + accuracy // 2
        pts = [float(k) for k in range(-half, half + 1) if not (k == 0 and n % 2)]
        return tuple(pts)
    if kind == "forward":
        return tuple(float(k) for k in range(n + accuracy))
    if kind == "backward":
        return tuple(-float(k) for k in range(n + accuracy - 1, -1, -1))
    raise ValueError(f"unknown stencil kind {kind!r}; choose one of {', '.join(KINDS)}")


def truncation_order(kind: str, accuracy: int) -> tuple[int, int]:
    """(leading error exponent, spacing of the following exponents) of a stencil.

    Central stencils have even error terms only (``h**p, h**(p+2), ...``),
    one-sided ones all of them; Richardson extrapolation removes them in turn.
    """
    return accuracy, (2 if kind == "central" else 1)
