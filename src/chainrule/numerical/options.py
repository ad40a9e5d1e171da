"""The options every operator shares, checked once: method, order, tolerance, complex conventions."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .evaluate import Evaluator
from .inputs import Inputs
from .stencils import MAX_ORDER, METHODS

__all__ = ["Options", "Workers"]

Workers = int | Executor | None


@dataclass
class Options:
    """What the user asked for, validated."""

    method: str = "central"
    n: int = 1
    accuracy: int | None = None
    atol: float | None = None
    rtol: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if not isinstance(self.n, int | np.integer) or not 1 <= self.n <= MAX_ORDER:
            raise ValueError(
                f"the derivative order n must be an integer from 1 to {MAX_ORDER}, not {self.n!r}"
            )
        if self.method == "complex" and self.n != 1:
            raise ValueError("method='complex' gives first derivatives only; use 'adaptive' for n > 1")
        if self.accuracy is not None and self.method not in ("forward", "backward", "central"):
            raise ValueError(
                f"accuracy= applies to method 'forward', 'backward' or 'central', not {self.method!r}"
            )
        for name in ("atol", "rtol"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name}= must be a finite number >= 0, not {v!r}")

    @property
    def tolerance(self) -> tuple[float, float] | None:
        if self.atol is None and self.rtol is None:
            return None
        return (self.atol or 0.0, self.rtol or 0.0)


def complex_convention(
    ev: Evaluator, inputs: Inputs, holomorphic: bool, what: str, f: Callable[..., Any]
) -> str:
    """How the two coordinates of a complex input combine ("grad" or "holomorphic"), or refuse.

    JAX's conventions: the gradient of a real-valued function of complex
    inputs is ``df/dx - i df/dy``; a complex-valued function of complex inputs
    is differentiated only when declared holomorphic (``df/dz = df/dx``).
    """
    if holomorphic:
        if not inputs.has_complex:
            raise TypeError(
                f"numerical.{what}(holomorphic=True) needs complex inputs; the differentiated "
                "arguments are real. Pass complex arrays, or drop holomorphic=True."
            )
        return "holomorphic"
    if inputs.has_complex and ev.complex_output:
        name = getattr(f, "__name__", "f")
        raise TypeError(
            f"numerical.{what}: {name} maps complex inputs to complex outputs. Its derivative is "
            "a single complex number only if it is holomorphic: pass holomorphic=True if it is "
            "(df/dz = df/dx is returned), or differentiate the real and imaginary parts "
            "(np.real(f), np.imag(f)) separately."
        )
    return "grad"
