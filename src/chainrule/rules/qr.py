"""Derivative rules of ``numpy.linalg.qr`` (modes ``'reduced'``, ``'complete'``, ``'r'``).

``a = Q R`` with ``Q`` orthonormal columns and ``R`` upper triangular. With
``k = min(m, n)``, the factorization is differentiable where the leading
``k x k`` block of ``a`` has full rank (``R``'s diagonal is nonzero); NumPy's
sign convention is then locally fixed, and the rules differentiate exactly what
NumPy returns. At a rank-deficient ``a`` the derivative does not exist and the
rules raise NumPy's ``LinAlgError`` (singular matrix) or give non-finite values.

* tall or square (``m >= n``), ``'reduced'``: the forward rule is
  ``X = Q^T dA R^{-1}``, ``Omega = tril(X, -1) - tril(X, -1)^T``,
  ``dR = (X - Omega) R``, ``dQ = dA R^{-1} - Q (X - Omega)`` (Seeger et al.
  2017; Walter and Lehmann 2018). The reverse rule is its transpose,
  ``dA = (Qbar + Q sym(M)) R^{-T}`` with ``M = R Rbar^T - Qbar^T Q`` and
  ``sym`` the symmetric matrix copied from the lower triangle (Liao et al.
  2019, "Differentiable programming tensor networks").
* wide (``m < n``): ``a = [X Y]`` and ``R = [R_1 R_2]``: ``X = Q R_1`` is a
  square QR, and ``R_2 = Q^T Y``.
* ``'complete'`` of a tall matrix is refused: its last ``m - n`` columns of
  ``Q`` are any orthonormal basis of the complement of ``a``'s columns, not a
  function of ``a``. ``'raw'`` (Householder reflectors) is refused too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import Primitive, UnsupportedOperationError, defjvp, defvjp, register_function
from .linalg_helpers import matrix_transpose
from .spectral_helpers import pack, real_matrices, unpack

__all__ = ["qr_p"]

_QRResult = type(np.linalg.qr(np.eye(1)))


def _cores(m: int, n: int) -> list[tuple[int, ...]]:
    k = min(m, n)
    return [(m, k), (k, n)]


def _qr_impl(a: Any) -> Any:
    q, r = np.linalg.qr(a, mode="reduced")
    return pack([q, r], np.shape(a)[:-2])


qr_p = Primitive("numpy.linalg.qr", _qr_impl)


def _right_inverse(b: Any, r: Any) -> Any:
    """``b R^{-1}`` for an invertible (upper triangular) ``R``."""
    return matrix_transpose(np.linalg.solve(matrix_transpose(r), matrix_transpose(b)))


def _square_tangent(q: Any, r: Any, t: Any) -> tuple[Any, Any]:
    """``(dQ, dR)`` of ``X = Q R`` with ``R`` square (``Q`` tall or square) for ``dX = t``."""
    b = _right_inverse(t, r)
    x = matrix_transpose(q) @ b
    low = np.tril(x, -1)
    upper = x - low + matrix_transpose(low)  # X - Omega: upper triangular
    return b - q @ upper, upper @ r


def _square_cotangent(q: Any, r: Any, gq: Any, gr: Any) -> Any:
    """The transpose of :func:`_square_tangent`."""
    m = r @ matrix_transpose(gr) - matrix_transpose(gq) @ q
    sym = np.tril(m) + matrix_transpose(np.tril(m, -1))
    return _right_inverse(gq + q @ sym, matrix_transpose(r))


def _parts(ans: Any, shape: tuple[int, ...]) -> tuple[Any, Any, int, int, tuple[int, ...]]:
    m, n = shape[-2:]
    q, r = unpack(ans, shape[:-2], _cores(m, n))
    return q, r, m, n, shape[:-2]


def _qr_jvp(t: Any, ans: Any, a: Any) -> Any:
    q, r, m, n, batch = _parts(ans, np.shape(a))
    if m >= n:
        dq, dr = _square_tangent(q, r, t)
        return pack([dq, dr], batch)
    r1, r2 = r[..., :, :m], r[..., :, m:]
    dq, dr1 = _square_tangent(q, r1, t[..., :, :m])
    dr2 = matrix_transpose(q) @ (t[..., :, m:] - dq @ r2)
    return pack([dq, np.concatenate([dr1, dr2], axis=-1)], batch)


def _qr_vjp(ans: Any, a: Any) -> Any:
    shape = np.shape(a)  # the closure keeps the factors, not the input

    def vjp(g: Any) -> Any:
        q, r, m, n, batch = _parts(ans, shape)
        gq, gr = unpack(g, batch, _cores(m, n))
        if m >= n:
            return _square_cotangent(q, r, gq, gr)
        r2, gr2 = r[..., :, m:], gr[..., :, m:]
        # a's last columns Y = Q R_2: their cotangent term Y gR_2^T, from the factors.
        gx = _square_cotangent(q, r[..., :, :m], gq + q @ (r2 @ matrix_transpose(gr2)), gr[..., :, :m])
        return np.concatenate([gx, q @ gr2], axis=-1)

    return vjp


defvjp(qr_p, _qr_vjp)
defjvp(qr_p, _qr_jvp)


def _qr(a: Any, mode: str = "reduced") -> Any:
    raw = real_matrices("numpy.linalg.qr", a)
    m, n = raw.shape[-2:]
    if mode == "raw":
        raise UnsupportedOperationError(
            "numpy.linalg.qr(mode='raw') returns LAPACK's Householder reflectors, which chainrule "
            "does not differentiate; use mode='reduced' (or 'r')."
        )
    if mode == "complete" and m > n:
        raise UnsupportedOperationError(
            f"numpy.linalg.qr(mode='complete') of a tall {m}x{n} matrix: the last {m - n} columns of Q "
            "are any orthonormal basis of the complement of a's columns, not a differentiable function "
            "of a. Use mode='reduced' (Q is m x n), or differentiate only projector-like quantities "
            "computed from the reduced Q (I - Q Q^T)."
        )
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"numpy.linalg.qr: unrecognized mode {mode!r}; use 'reduced', 'complete' or 'r'")
    q, r = unpack(qr_p(a), raw.shape[:-2], _cores(m, n))
    return r if mode == "r" else _QRResult(q, r)


register_function(np.linalg.qr, _qr)
