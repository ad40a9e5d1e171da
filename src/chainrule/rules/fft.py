"""The FFT family of ``numpy.fft``: linear maps, with transposes under JAX's convention.

Every function here is built from four primitives, with zero-padding or
truncation (``n``, ``s``) done beforehand by slicing and ``numpy.pad``:

* ``fftn`` and ``ifftn`` (complex to complex over some axes). The DFT matrix
  ``F[j, k] = exp(-2 pi i jk / n)`` is symmetric, and the reverse rule is the
  transpose for the pairing ``Re(sum(g * t))`` without a conjugate (see
  ``docs/complex.md``), so each is its own transpose, with the same ``norm``.
  A real input gets the real part of its cotangent (the engine does that).
* ``rfft`` (real to half spectrum along one axis): ``rfft(x) = P F x`` with
  ``P`` keeping the first ``n // 2 + 1`` bins, so the transpose is
  ``Re(F P^T g)``: zero-pad ``g`` to length ``n``, ``fft`` it, real part.
* ``irfft`` (half spectrum to real along one axis): the output is
  ``x_j = c Re(sum_k w_k g_k exp(2 pi i jk / n))`` with the weights ``w_k = 2``
  for the bins that stand for a conjugate pair and ``w_k = 1`` for bin 0 and,
  when ``n`` is even, bin ``n / 2`` (their imaginary parts are ignored). The
  transpose is ``g -> w * ifft(c)[:n // 2 + 1]``: not ``rfft`` up to a scale,
  because of the weights (and the weights are why ``irfft(rfft(x)) = x``
  while ``rfft``'s transpose is not ``irfft``).

The ``n``-dimensional real transforms are the 1-D real transform along the
last axis composed with ``fftn``/``ifftn`` over the others (the normalizations
multiply); ``hfft`` and ``ihfft`` are ``irfft`` and ``rfft`` of a conjugate with
the normalization direction swapped, as NumPy defines them; ``fftshift`` and
``ifftshift`` are ``numpy.roll``. Every order of derivative is exact (linear
maps), and complex inputs are supported wherever NumPy accepts them
(``rfft``, ``rfftn``, ``rfft2`` and ``ihfft`` take real input only).

>>> import numpy as np
>>> import chainrule as cr
>>> x = np.array([1.0, 2.0, 0.5, -1.0])
>>> cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(x)  # Parseval: |F x|^2 = 4 |x|^2
array([ 8., 16.,  4., -8.])
"""

from __future__ import annotations

import operator
from typing import Any, Literal

import numpy as np

from ..extend import (
    ComplexValueError,
    Primitive,
    as_traced_array,
    axis_index,
    defcomplex,
    deflinear,
    plain_ints,
    raw_array,
    register_function,
)

__all__ = ["fftn_p", "ifftn_p", "irfft_p", "rfft_p"]

_NORMS = ("backward", "ortho", "forward")
_SWAPPED = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# -- the primitives --------------------------------------------------------------------------------
Norm = Literal["backward", "ortho", "forward"]


def _fftn_impl(x: Any, axes: tuple[int, ...], norm: Norm) -> Any:
    return np.fft.fftn(x, axes=axes, norm=norm)


def _ifftn_impl(x: Any, axes: tuple[int, ...], norm: Norm) -> Any:
    return np.fft.ifftn(x, axes=axes, norm=norm)


def _rfft_impl(x: Any, axis: int, norm: Norm) -> Any:
    return np.fft.rfft(x, axis=axis, norm=norm)


def _irfft_impl(g: Any, n: int, axis: int, norm: Norm) -> Any:
    return np.fft.irfft(g, n=n, axis=axis, norm=norm)


fftn_p = Primitive("numpy.fft.fftn", _fftn_impl)
ifftn_p = Primitive("numpy.fft.ifftn", _ifftn_impl)
rfft_p = Primitive("numpy.fft.rfft", _rfft_impl)
irfft_p = Primitive("numpy.fft.irfft", _irfft_impl)

# The DFT matrix is symmetric: the transpose (no conjugate) of each complex transform is itself.
deflinear(fftn_p, lambda ans, x, axes, norm: lambda g: fftn_p(g, axes, norm))
deflinear(ifftn_p, lambda ans, x, axes, norm: lambda g: ifftn_p(g, axes, norm))


def _along(axis: int, ndim: int, part: slice) -> tuple[Any, ...]:
    return (slice(None),) * axis + (part,) + (slice(None),) * (ndim - axis - 1)


def _resized(a: Any, axis: int, n: int) -> Any:
    """``a`` truncated or zero-padded at the end of ``axis`` to length ``n`` (as NumPy's ``n`` and ``s``)."""
    have = np.shape(a)[axis]
    if n < have:
        return a[_along(axis, np.ndim(a), slice(0, n))]
    if n > have:
        widths = [(0, 0)] * np.ndim(a)
        widths[axis] = (0, n - have)
        return np.pad(a, widths)
    return a


def _rfft_transpose(ans: Any, x: Any, axis: int, norm: str) -> Any:
    n = np.shape(x)[axis]
    # Re(F P^T g): the half spectrum zero-padded to the full length, transformed, real part.
    return lambda g: np.real(fftn_p(_resized(g, axis, n), (axis,), norm))


def _irfft_weights(m: int, n: int, axis: int, ndim: int, dtype: Any) -> Any:
    """2 for the bins standing for a conjugate pair, 1 for bin 0 and (even ``n``) bin ``n / 2``."""
    w = np.full(m, 2.0, dtype=dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return np.reshape(w, (m,) + (1,) * (ndim - axis - 1))


def _irfft_transpose(ans: Any, g: Any, n: int, axis: int, norm: str) -> Any:
    m = np.shape(g)[axis]
    # The weights in g's real precision: a complex64 spectrum keeps complex64 cotangents.
    w = _irfft_weights(m, n, axis, np.ndim(g), raw_array(g).real.dtype)
    # ifft carries irfft's scale for every norm; the slice keeps the half spectrum. A real
    # spectrum (irfft's output is real, so the engine leaves this to the rule) gets the real part.
    if np.iscomplexobj(g):
        return lambda c: w * _resized(ifftn_p(c, (axis,), norm), axis, m)
    return lambda c: w * np.real(_resized(ifftn_p(c, (axis,), norm), axis, m))


deflinear(rfft_p, _rfft_transpose)
deflinear(irfft_p, _irfft_transpose)
defcomplex(fftn_p, ifftn_p, rfft_p, irfft_p)


# -- argument normalization, as NumPy does it ------------------------------------------------------
def _norm(name: str, norm: Any) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f'{name}: invalid norm value {norm!r}; should be "backward", "ortho" or "forward".')
    return str(norm)


def _refuse_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(
            f"{name}: out= is not supported when differentiating; assign the returned array instead."
        )


def _real_input(name: str, a: Any) -> Any:
    a = as_traced_array(a)
    if np.iscomplexobj(a):
        raise ComplexValueError(
            f"{name}: the input must be real (NumPy refuses complex input too); "
            "use numpy.fft.fft/fftn for complex input."
        )
    return a


def _length(name: str, n: Any, default: int) -> int:
    if n is None:
        return default
    length: int = operator.index(plain_ints(name, "n", n))
    if length < 1:
        raise ValueError(f"{name}: invalid number of data points ({length}) specified; n must be at least 1.")
    return length


def _axes_and_sizes(name: str, a: Any, s: Any, axes: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """NumPy's ``s``/``axes`` defaults: all axes (or the last ``len(s)``), sizes from the shape."""
    nd = np.ndim(a)
    if s is not None:
        s = tuple(operator.index(v) for v in plain_ints(name, "s", s))
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    else:
        axes = tuple(axis_index(ax, nd) for ax in plain_ints(name, "axes", axes))
    if s is None:
        s = tuple(np.shape(a)[ax] for ax in axes)
    if len(s) != len(axes):
        raise ValueError(f"{name}: s and axes must have the same length (got {len(s)} and {len(axes)}).")
    if any(v < 1 for v in s):
        raise ValueError(
            f"{name}: invalid number of data points {s} specified; every size must be at least 1."
        )
    return axes, s


def _resized_all(a: Any, axes: tuple[int, ...], sizes: tuple[int, ...]) -> Any:
    for ax, n in zip(axes, sizes):
        a = _resized(a, ax, n)
    return a


# -- 1-D transforms --------------------------------------------------------------------------------
def _complex_1d(prim: Primitive, name: str) -> Any:
    def transform(a: Any, n: Any = None, axis: Any = -1, norm: Any = None, out: Any = None) -> Any:
        _refuse_out(name, out)
        a = as_traced_array(a)
        axis = axis_index(axis, np.ndim(a))
        n = _length(name, n, np.shape(a)[axis])
        return prim(_resized(a, axis, n), (axis,), _norm(name, norm))

    return transform


def _rfft(a: Any, n: Any = None, axis: Any = -1, norm: Any = None, out: Any = None) -> Any:
    _refuse_out("numpy.fft.rfft", out)
    a = _real_input("numpy.fft.rfft", a)
    axis = axis_index(axis, np.ndim(a))
    n = _length("numpy.fft.rfft", n, np.shape(a)[axis])
    return rfft_p(_resized(a, axis, n), axis, _norm("numpy.fft.rfft", norm))


def _irfft(a: Any, n: Any = None, axis: Any = -1, norm: Any = None, out: Any = None) -> Any:
    _refuse_out("numpy.fft.irfft", out)
    a = as_traced_array(a)
    axis = axis_index(axis, np.ndim(a))
    n = _length("numpy.fft.irfft", n, 2 * (np.shape(a)[axis] - 1))
    return irfft_p(_resized(a, axis, n // 2 + 1), n, axis, _norm("numpy.fft.irfft", norm))


def _hfft(a: Any, n: Any = None, axis: Any = -1, norm: Any = None, out: Any = None) -> Any:
    # NumPy's definition: irfft of the conjugate, with the normalization direction swapped.
    _refuse_out("numpy.fft.hfft", out)
    a = as_traced_array(a)
    return _irfft(np.conjugate(a), n, axis, _SWAPPED[_norm("numpy.fft.hfft", norm)])


def _ihfft(a: Any, n: Any = None, axis: Any = -1, norm: Any = None, out: Any = None) -> Any:
    _refuse_out("numpy.fft.ihfft", out)
    a = _real_input("numpy.fft.ihfft", a)
    return np.conjugate(_rfft(a, n, axis, _SWAPPED[_norm("numpy.fft.ihfft", norm)]))


# -- n-dimensional transforms ----------------------------------------------------------------------
def _complex_nd(prim: Primitive, name: str, default_axes: Any) -> Any:
    def transform(a: Any, s: Any = None, axes: Any = default_axes, norm: Any = None, out: Any = None) -> Any:
        _refuse_out(name, out)
        a = as_traced_array(a)
        axes, sizes = _axes_and_sizes(name, a, s, axes)
        return prim(_resized_all(a, axes, sizes), axes, _norm(name, norm))

    return transform


def _rfftn_nd(name: str, default_axes: Any) -> Any:
    def transform(a: Any, s: Any = None, axes: Any = default_axes, norm: Any = None, out: Any = None) -> Any:
        _refuse_out(name, out)
        a = _real_input(name, a)
        axes, sizes = _axes_and_sizes(name, a, s, axes)
        norm = _norm(name, norm)
        # The real transform along the last axis, then the complex one over the others.
        half = rfft_p(_resized_all(a, axes, sizes), axes[-1], norm)
        return fftn_p(half, axes[:-1], norm) if len(axes) > 1 else half

    return transform


def _irfftn_nd(name: str, default_axes: Any) -> Any:
    def transform(a: Any, s: Any = None, axes: Any = default_axes, norm: Any = None, out: Any = None) -> Any:
        _refuse_out(name, out)
        a = as_traced_array(a)
        axes, sizes = _axes_and_sizes(name, a, s, axes)
        if s is None:  # the last axis holds a half spectrum: the default output length is 2 (m - 1)
            sizes = (*sizes[:-1], 2 * (np.shape(a)[axes[-1]] - 1))
        norm = _norm(name, norm)
        last, n = axes[-1], sizes[-1]
        a = _resized_all(a, axes[:-1], sizes[:-1])
        a = _resized(a, last, n // 2 + 1)
        if len(axes) > 1:
            a = ifftn_p(a, axes[:-1], norm)
        return irfft_p(a, n, last, norm)

    return transform


# -- fftshift and ifftshift ------------------------------------------------------------------------
def _shift(sign: int) -> Any:
    def shift(x: Any, axes: Any = None) -> Any:
        x = as_traced_array(x)
        nd = np.ndim(x)
        if axes is None:
            axes = tuple(range(nd))
        elif isinstance(axes, int | np.integer):
            axes = (int(axes),)
        axes = tuple(axis_index(ax, nd) for ax in axes)
        # fftshift rolls by n // 2, ifftshift by -(n // 2): the same as NumPy's definitions.
        return np.roll(x, tuple(sign * (np.shape(x)[ax] // 2) for ax in axes), axis=axes)

    return shift


register_function(np.fft.fft, _complex_1d(fftn_p, "numpy.fft.fft"))
register_function(np.fft.ifft, _complex_1d(ifftn_p, "numpy.fft.ifft"))
register_function(np.fft.rfft, _rfft)
register_function(np.fft.irfft, _irfft)
register_function(np.fft.hfft, _hfft)
register_function(np.fft.ihfft, _ihfft)
register_function(np.fft.fftn, _complex_nd(fftn_p, "numpy.fft.fftn", None))
register_function(np.fft.ifftn, _complex_nd(ifftn_p, "numpy.fft.ifftn", None))
register_function(np.fft.fft2, _complex_nd(fftn_p, "numpy.fft.fft2", (-2, -1)))
register_function(np.fft.ifft2, _complex_nd(ifftn_p, "numpy.fft.ifft2", (-2, -1)))
register_function(np.fft.rfftn, _rfftn_nd("numpy.fft.rfftn", None))
register_function(np.fft.rfft2, _rfftn_nd("numpy.fft.rfft2", (-2, -1)))
register_function(np.fft.irfftn, _irfftn_nd("numpy.fft.irfftn", None))
register_function(np.fft.irfft2, _irfftn_nd("numpy.fft.irfft2", (-2, -1)))
register_function(np.fft.fftshift, _shift(1))
register_function(np.fft.ifftshift, _shift(-1))
