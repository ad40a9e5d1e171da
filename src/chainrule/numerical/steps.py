"""Step sizes: chosen per method, derivative order, dtype and scale of each input, or given by the user.

A finite difference of order of accuracy ``p`` for the ``n``-th derivative
has truncation error ``~ h**p`` and rounding error ``~ eps / h**n``; the two
balance at ``h ~ eps**(1 / (n + p))``, times the scale of the input. The
scale is ``|x|`` itself (1 at ``x = 0``): a step of ``1e-5`` at ``x = 3e-6``
would straddle the point (and the singularity of ``log`` or ``1/x`` at 0).
Where a function varies on a scale unrelated to ``|x|`` (``cos`` near 0),
the fixed step is not the best one, and the error estimate says so; the
``adaptive`` method searches a wide range of steps instead.

``eps`` is that of the dtype the function computes in: the less precise of
the input's working dtype and the output's (a float64 input to a function
that computes in float32 gets a float32-sized step).

=============  ==========================================================
method         default step (``s = |x|``, or 1 where ``x == 0``)
=============  ==========================================================
forward        ``eps**(1/(n+1)) * s``
backward       ``eps**(1/(n+1)) * s``
central        ``eps**(1/(n+2)) * s``
central4       ``eps**(1/(n+4)) * s``
central6       ``eps**(1/(n+6)) * s``
richardson     ``eps**(1/(n+6)) * s`` (first of h, h/2, h/4, h/8)
complex        ``1e-20 * s``
=============  ==========================================================
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

import numpy as np

from .stencils import method_accuracy

__all__ = ["StepUnderflowWarning", "default_step", "leaf_floor", "representable_step", "scale_of"]

COMPLEX_STEP = 1e-20
# Below this scale |x| is treated as 1e-30: steps and their powers h**n must stay normal numbers.
_TINY_SCALE = 1e-30


class StepUnderflowWarning(RuntimeWarning):
    """A step is too small for the precision of the input it perturbs."""


def scale_of(x: np.ndarray, floor: np.ndarray | float = 0.0) -> np.ndarray:
    """The scale a step is relative to: ``max(|x|, floor)``, or 1 where that is 0."""
    a = np.maximum(np.abs(np.asarray(x)).astype(np.float64), floor)
    return np.where(a > 0, np.maximum(a, _TINY_SCALE), 1.0)


def leaf_floor(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per element, a tenth of the root-mean-square of its leaf (an argument array).

    In a gradient, an array argument's elements share a scale: a weight that
    happens to be ``1e-5`` in a layer of weights around ``0.1`` is moved on
    the scale of the layer (a step relative to ``1e-5`` alone would drown in
    rounding). A leaf of one element keeps its own scale ``|x|``.
    """
    out = np.zeros(x.size)
    for a, b in itertools.pairwise(starts):
        if b - a > 1:
            out[a:b] = 0.1 * float(np.sqrt(np.mean(np.square(x[a:b], dtype=np.float64))))
    return out


def default_step(
    method: str,
    x: np.ndarray,
    dtype: np.dtype | type = np.float64,
    n: int = 1,
    accuracy: int | None = None,
    eps: float | None = None,
    floor: np.ndarray | float = 0.0,
) -> np.ndarray:
    """The default step of ``method`` for the ``n``-th derivative at each element of ``x``.

    ``dtype`` is the dtype the function computes in (its machine epsilon sets
    the rounding error the step balances); ``eps`` overrides it. ``floor``
    bounds the scale ``|x|`` from below (see :func:`leaf_floor`).

    Examples
    --------
    >>> default_step("central", np.array([0.5, 1000.0]))
    array([3.0277e-06, 6.0555e-03])
    >>> default_step("central", np.array([0.0, 3e-6]), n=2)
    array([1.22070312e-04, 3.66210938e-10])
    """
    scale = scale_of(x, floor)
    if method == "complex":
        complex_step: np.ndarray = COMPLEX_STEP * scale
        return complex_step
    eps = float(np.finfo(dtype).eps) if eps is None else eps
    step: np.ndarray = eps ** (1.0 / (n + method_accuracy(method, accuracy))) * scale
    return step


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
    taken: np.ndarray = ((x + h.astype(dtype)) - x).astype(np.float64)
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
