"""Finite-difference formulas: offsets, weights and order of each method.

A stencil approximates ``f'(x)`` by ``sum_k w_k f(x + k h) / h`` with an
error of order ``h**order``. ``complex`` (``Im f(x + i h) / h``) and
``richardson`` (central differences at ``h, h/2, h/4, ...`` extrapolated to
``h = 0``) are methods built on other principles; their evaluation points are
listed here too so that every method's cost can be read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METHODS", "RICHARDSON_LEVELS", "Stencil", "richardson_offsets"]


@dataclass(frozen=True)
class Stencil:
    """``f'(x) ~ sum(w * f(x + k h)) / h``, exact for polynomials of degree ``order``."""

    offsets: tuple[float, ...]
    weights: tuple[float, ...]
    order: int


STENCILS: dict[str, Stencil] = {
    "forward": Stencil((0.0, 1.0), (-1.0, 1.0), 1),
    "backward": Stencil((-1.0, 0.0), (-1.0, 1.0), 1),
    "central": Stencil((-1.0, 1.0), (-0.5, 0.5), 2),
    "central4": Stencil((-2.0, -1.0, 1.0, 2.0), (1 / 12, -8 / 12, 8 / 12, -1 / 12), 4),
    "central6": Stencil(
        (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0),
        (-1 / 60, 9 / 60, -45 / 60, 45 / 60, -9 / 60, 1 / 60),
        6,
    ),
}

#: Every method :mod:`chainrule.numerical` accepts.
METHODS = (*STENCILS, "complex", "richardson")

#: Central differences at h, h/2, h/4, h/8, extrapolated three times.
RICHARDSON_LEVELS = 4


def richardson_offsets(levels: int = RICHARDSON_LEVELS) -> tuple[float, ...]:
    """The points (in units of the first step) Richardson extrapolation evaluates."""
    out: list[float] = []
    for j in range(levels):
        s = 0.5**j
        out += [-s, s]
    return tuple(out)
