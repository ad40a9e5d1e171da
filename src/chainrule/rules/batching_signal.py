"""Batching rules (``chainrule.vmap``) of the signal-processing primitives: the FFT family, convolution.

The four FFT primitives take their axes as arguments, so they batch by shifting
those axes past the batch axis (:func:`~chainrule.extend.axis_rule`): NumPy
transforms every example in one call.

``convolve``/``correlate`` are one primitive, the full convolution of two 1-D
arrays. Batched, it is computed in one call of its own:

* one argument batched, the other shared (a bank of signals filtered by one
  kernel): the examples, each followed by ``m - 1`` zeros, are laid end to end
  and convolved once; the zeros keep each example's full convolution apart, so
  the result is NumPy's own sums, reshaped;
* both batched, with a short kernel (the shorter argument at most
  :data:`WINDOW_LIMIT` long): windows of the zero-padded longer argument
  times the reversed shorter one, a batched matrix-vector product (a strided
  view of plain data; an index gather when an older trace records the call);
* both batched with two long arguments: the loop over the examples, whose
  ``numpy.convolve`` calls are faster than the ``n * m`` window products.

Measured against the loop for 64 examples in bench/RESULTS.md (issue 15).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import Primitive, axis_rule, defbatch, loop_rule
from . import differences, fft

__all__ = ["WINDOW_LIMIT"]

# The longest shorter argument for which the window product beats the per-example loop when
# both arguments are batched (measured: 64 examples of lengths 256 and 16, 2.3x faster;
# 64 and 64, even; 1000 and 50, 2x slower).
WINDOW_LIMIT = 32


def _convolve_rule(
    size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
) -> Any:
    a, v = values
    if batched[0] != batched[1]:
        # Convolution is commutative: x holds the examples, k the shared kernel.
        x, k = (a, v) if batched[0] else (v, a)
        n, m = np.shape(x)[1], np.shape(k)[0]
        width = n + m - 1
        stream = np.reshape(np.pad(x, ((0, 0), (0, m - 1))), (size * width,))
        return np.reshape(prim(stream, k)[: size * width], (size, width))
    n, m = np.shape(a)[1], np.shape(v)[1]
    x, k = (a, v) if n >= m else (v, a)
    n, m = max(n, m), min(n, m)
    if m > WINDOW_LIMIT:
        return loop_rule(size, prim, values, batched, kwargs)
    # out[t] = sum_j xp[t + j] k[m - 1 - j], xp = x with m - 1 zeros on each side.
    padded = np.pad(x, ((0, 0), (m - 1, m - 1)))
    if type(padded) is np.ndarray and type(k) is np.ndarray:
        windows = np.lib.stride_tricks.sliding_window_view(padded, m, axis=1)
        return np.matmul(windows, k[:, ::-1, None])[:, :, 0]
    index = np.arange(n + m - 1)[:, None] + np.arange(m)
    return np.einsum("btj,bj->bt", padded[:, index], k[:, ::-1])


_convolve_rule.family = "convolution"  # type: ignore[attr-defined]

defbatch(fft.fftn_p, axis_rule("axes"), "axis")
defbatch(fft.ifftn_p, axis_rule("axes"), "axis")
defbatch(fft.rfft_p, axis_rule("axis"), "axis")
defbatch(fft.irfft_p, axis_rule("axis"), "axis")
defbatch(differences.convolve_full_p, _convolve_rule, "convolution")
