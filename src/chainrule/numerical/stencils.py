"""Finite-difference formulas: each method's stencil, for any derivative order.

A stencil approximates ``f^(n)(x)`` by ``sum_k w_k f(x + k h) / h**n`` with an
error of order ``h**order``; the weights come from Fornberg's algorithm
(:mod:`.fornberg`), so every derivative order and every method share one
construction. ``complex`` (``Im f(x + i h) / h``), ``richardson`` (central
differences at ``h, h/2, h/4, h/8`` extrapolated to ``h = 0``) and
``adaptive`` (a geometric sequence of steps, Richardson extrapolation, and
the step of smallest estimated error) are built on these stencils.

==============  ==========  =====================================================
method          stencil     order of accuracy
==============  ==========  =====================================================
``forward``     one-sided   1 (``accuracy=`` raises it)
``backward``    one-sided   1
``central``     symmetric   2
``central4``    symmetric   4
``central6``    symmetric   6
``richardson``  symmetric   2, extrapolated over 4 steps: 8
``adaptive``    symmetric   2, extrapolated twice over the step sequence: 6
``complex``     ``Im f(x + ih)/h``  exact to rounding (first derivatives only)
==============  ==========  =====================================================
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .fornberg import fornberg_weights, stencil_offsets, truncation_order

__all__ = ["METHODS", "RICHARDSON_LEVELS", "STENCILS", "Stencil", "make_stencil", "richardson_offsets"]


@dataclass(frozen=True)
class Stencil:
    """``f^(n)(x) ~ sum(w * f(x + k h)) / h**n``, with error ``O(h**order)``."""

    offsets: tuple[float, ...]
    weights: tuple[float, ...]
    order: int
    n: int = 1
    kind: str = "central"

    @property
    def exponent_step(self) -> int:
        """The spacing of the error exponents: 2 for symmetric stencils, 1 for one-sided."""
        return truncation_order(self.kind, self.order)[1]

    def mirrored(self) -> Stencil:
        """The same formula on the other side (forward <-> backward)."""
        kind = {"forward": "backward", "backward": "forward"}.get(self.kind, self.kind)
        return make_stencil(kind, self.n, self.order)


_KIND_ACCURACY = {
    "forward": ("forward", 1),
    "backward": ("backward", 1),
    "central": ("central", 2),
    "central4": ("central", 4),
    "central6": ("central", 6),
    "richardson": ("central", 2),
    "adaptive": ("central", 2),
}

#: Every method :mod:`chainrule.numerical` accepts.
METHODS = ("forward", "backward", "central", "central4", "central6", "complex", "richardson", "adaptive")

#: Central differences at h, h/2, h/4, h/8, extrapolated three times.
RICHARDSON_LEVELS = 4

#: The largest derivative order offered (weights are exact; rounding grows like eps / h**n).
MAX_ORDER = 8


@functools.lru_cache(maxsize=256)  # every column of a Jacobian asks for the same few stencils
def make_stencil(kind: str, n: int = 1, accuracy: int | None = None) -> Stencil:
    """The stencil of ``kind`` ("central", "forward", "backward") for the ``n``-th derivative.

    Examples
    --------
    >>> make_stencil("central", 1, 4).weights
    (0.08333333333333333, -0.6666666666666666, 0.6666666666666666, -0.08333333333333333)
    """
    if accuracy is None:
        accuracy = 2 if kind == "central" else 1
    offsets = stencil_offsets(kind, n, accuracy)
    weights = tuple(float(w) for w in fornberg_weights(offsets, n))
    return Stencil(offsets, weights, accuracy, n, kind)


def method_stencil(method: str, n: int = 1, accuracy: int | None = None) -> Stencil:
    """The base stencil of ``method`` for the ``n``-th derivative."""
    kind, default = _KIND_ACCURACY[method]
    return make_stencil(kind, n, accuracy if accuracy is not None else default)


def method_accuracy(method: str, accuracy: int | None = None) -> int:
    """The order of accuracy the default step of ``method`` is balanced for.

    Richardson's first step is that of a sixth-order formula: its smaller
    steps then land near the balance of the eighth-order result.
    """
    if method in ("richardson", "adaptive"):
        return 6
    if accuracy is not None:
        return accuracy
    return _KIND_ACCURACY[method][1]


#: First-derivative stencils by method name (kept for code that reads them directly).
STENCILS: dict[str, Stencil] = {m: method_stencil(m) for m in ("forward", "backward", "central", "central4",
                                                                "central6")}  # fmt: skip


def richardson_offsets(levels: int = RICHARDSON_LEVELS) -> tuple[float, ...]:
    """The points (in units of the first step) Richardson extrapolation evaluates."""
    out: list[float] = []
    for j in range(levels):
        s = 0.5**j
        out += [-s, s]
    return tuple(out)
