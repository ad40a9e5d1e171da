"""Step sizes: chosen per method, dtype and scale of each input, or given by the user.

A finite difference of order ``p`` has truncation error ``~ h**p`` and
rounding error ``~ eps / h``; the two balance at ``h ~ eps**(1 / (p + 1))``,
times the scale of the input ``max(1, |x|)`` (the perturbation must be
visible next to ``x``). The complex step has no subtraction, hence no
rounding error, and takes a tiny step.

=============  =====================================
method         default step
=============  =====================================
forward        ``eps**(1/2) * max(1, |x|)``
backward       ``eps**(1/2) * max(1, |x|)``
central        ``eps**(1/3) * max(1, |x|)``
central4       ``eps**(1/5) * max(1, |x|)``
central6       ``eps**(1/7) * max(1, |x|)``
richardson     ``eps**(1/7) * max(1, |x|)`` (first of h, h/2, h/4, h/8)
complex        ``1e-20 * max(1, |x|)``
=============  =====================================
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

__all__ = ["StepUnderflowWarning", "default_step", "representable_step"]

_EXPONENT = {
    "forward": 1 / 2,
    "backward": 1 / 2,
    "central": 1 / 3,
    "central4": 1 / 5,
    "central6": 1 / 7,
    "richardson": 1 / 7,
}
COMPLEX_STEP = 1e-20


class StepUnderflowWarning(RuntimeWarning):
    """A step is too small for the precision of the input it perturbs."""


def default_step(method: str, x: np.ndarray, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """The default step of ``method`` for each element of ``x`` computed in ``dtype``.

    Examples
    --------
    >>> default_step("central", np.array([0.5, 1000.0]))
    array([6.05545445e-06, 6.05545445e-03])
    """
    scale = np.maximum(1.0, np.abs(np.asarray(x, dtype=np.float64)))
    if method == "complex":
        return COMPLEX_STEP * scale
    eps = float(np.finfo(dtype).eps)
    return eps ** _EXPONENT[method] * scale


def representable_step(
    x: np.ndarray, h: np.ndarray, dtype: np.dtype | type, label: Callable[[int], str]
) -> np.ndarray:
    """The step actually taken, ``(x + h) - x`` in ``dtype``, checked for underflow.

    Rounding ``h`` this way makes the perturbation exact, so the difference
    quotient divides by the step the function really saw. Raises
    ``ValueError`` naming the first input where ``x + h == x``, and warns
    (:class:`StepUnderflowWarning`) where the step lost more than 10% to
    rounding.
    """
    x = np.asarray(x, dtype=dtype)
    h = np.asarray(h, dtype=np.float64)
    taken = ((x + h.astype(dtype)) - x).astype(np.float64)
    zero = np.flatnonzero(taken == 0)
    if zero.size:
        i = int(zero[0])
        raise ValueError(
            f"the step {h.flat[i]:.3g} for {label(i)} = {float(x.flat[i]):.17g} underflows its "
            f"{np.dtype(dtype).name} precision (spacing {float(np.spacing(x.flat[i])):.3g}): x + h == x. "
            "Use a larger step (or the default, step=None)."
        )
    bad = np.flatnonzero(np.abs(taken - h) > 0.1 * np.abs(h))
    if bad.size:
        i = int(bad[0])
        warnings.warn(
            f"the step {h.flat[i]:.3g} for {label(i)} = {float(x.flat[i]):.17g} is close to its "
            f"{np.dtype(dtype).name} spacing ({float(np.spacing(x.flat[i])):.3g}) and was rounded to "
            f"{taken.flat[i]:.3g}"
            + (f" ({bad.size} inputs affected)" if bad.size > 1 else "")
            + "; the derivative will be inaccurate. Use a larger step.",
            StepUnderflowWarning,
            stacklevel=4,
        )
    return taken
