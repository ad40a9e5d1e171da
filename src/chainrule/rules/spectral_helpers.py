"""Helpers shared by the decomposition rules: packing several outputs into one, ties, refusals.

A primitive has one output, so a decomposition's factors (``U, S, Vh``; ``w, V``;
``Q, R``) are packed along the last axis into one array and unpacked by
differentiable slicing (the pattern of :mod:`chainrule.derivatives.custom`).
One LAPACK call per forward pass, and the rules see every factor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import (
    ComplexValueError,
    Tracer,
    UnsupportedOperationError,
    any_set,
    plain_array,
    primal,
    raw_array,
)
from .linalg_helpers import matrix_transpose

Shape = tuple[int, ...]


def pack(parts: list[Any], batch: Shape) -> Any:
    """The parts (each of shape ``batch + core``) flattened past ``batch`` and concatenated."""
    flat = [np.reshape(p, (*batch, -1)) for p in parts]
    return flat[0] if len(flat) == 1 else np.concatenate(flat, axis=-1)


def unpack(packed: Any, batch: Shape, cores: list[Shape]) -> list[Any]:
    """The inverse of :func:`pack`, given each part's core shape."""
    out, start = [], 0
    for core in cores:
        size = int(np.prod(core, dtype=np.int64))
        out.append(np.reshape(packed[..., start : start + size], (*batch, *core)))
        start += size
    return out


def tie_mask(values: Any, scale: Any, count: int) -> np.ndarray:
    """Pairs ``(i, j)`` of ``values`` (last axis) equal to rounding: ``|v_i - v_j| <= count * eps * scale``.

    ``scale`` has the batch shape (one scale per matrix). The diagonal is
    always tied. Plain booleans: where values tie is piecewise constant.
    """
    v = primal(values)
    tol = tolerance(v, scale, count)
    tied: np.ndarray = np.abs(v[..., :, None] - v[..., None, :]) <= tol[..., None, None]
    return tied


def tolerance(values: np.ndarray, scale: Any, count: int) -> np.ndarray:
    """``count * eps * scale``: the rounding level of values of magnitude ``scale`` (batch shape)."""
    level: np.ndarray = count * np.finfo(values.dtype).eps * plain_array(scale)
    return level


def safe_inverse_gaps(gaps: Any, tied: np.ndarray) -> Any:
    """``1 / gaps`` off the tied pairs and exactly 0 on them (no inf, no NaN, differentiable)."""
    if not any_set(tied):
        return 1.0 / gaps
    return np.where(tied, 0.0, 1.0 / np.where(tied, 1.0, gaps))


def safe_reciprocal(s: Any, small: np.ndarray) -> Any:
    """``1 / s`` where ``s`` is not ``small``, exactly 0 where it is."""
    if not any_set(small):
        return 1.0 / s
    return np.where(small, 0.0, 1.0 / np.where(small, 1.0, s))


def from_triangle(t: Any, lower: bool) -> Any:
    """The symmetric matrix NumPy reads from one triangle of ``t`` (a linear map)."""
    if lower:
        return np.tril(t) + matrix_transpose(np.tril(t, -1))
    return np.triu(t) + matrix_transpose(np.triu(t, 1))


def hermitian_from_triangle(t: Any, lower: bool) -> Any:
    """The Hermitian matrix LAPACK reads from one triangle of a complex ``t`` (real part of the diagonal)."""
    strict = np.tril(t, -1) if lower else np.triu(t, 1)
    return strict + np.conjugate(matrix_transpose(strict)) + _real_diagonal(t)


def hermitian_to_triangle(g: Any, lower: bool) -> Any:
    """The transpose of :func:`hermitian_from_triangle` for the pairing ``Re(sum(g * t))``."""
    both = g + np.conjugate(matrix_transpose(g))
    strict = np.tril(both, -1) if lower else np.triu(both, 1)
    return strict + _real_diagonal(g)


def _real_diagonal(m: Any) -> Any:
    """The diagonal matrices holding the real part of ``m``'s diagonal."""
    n = np.shape(m)[-1]
    d = np.real(np.diagonal(m, axis1=-2, axis2=-1))
    return d[..., :, None] * np.eye(n)


def to_triangle(g: Any, lower: bool) -> Any:
    """The transpose of :func:`from_triangle`: zero on the strict triangle NumPy never reads."""
    if lower:
        return np.tril(g) + np.tril(matrix_transpose(g), -1)
    return np.triu(g) + np.triu(matrix_transpose(g), 1)


def real_matrices(name: str, a: Any, square: bool = False) -> np.ndarray:
    """The plain value of ``a``, refusing complex values, fewer than 2 dimensions, or non-square matrices."""
    raw = raw_array(a)
    if np.iscomplexobj(raw):
        raise ComplexValueError(
            f"{name} of a complex matrix: chainrule has no derivative rule for complex matrices "
            "in this decomposition yet (docs/guide/complex.md lists the functions with complex rules); "
            "pass a real array."
        )
    return matrices(name, a, square)


def matrices(name: str, a: Any, square: bool = False) -> np.ndarray:
    """The plain value of ``a`` (real or complex), refusing fewer than 2 dimensions or non-square matrices."""
    raw = raw_array(a)
    if raw.ndim < 2:
        raise np.linalg.LinAlgError(
            f"{name}: a has {raw.ndim} dimension(s); it needs at least 2 (a matrix or a stack of matrices)"
        )
    if square and raw.shape[-1] != raw.shape[-2]:
        raise np.linalg.LinAlgError(
            f"{name}: the last two dimensions of a must be square, got {raw.shape[-2:]}"
        )
    return raw


def refuse_mixed_ties(
    name: str, tied: np.ndarray, value_cotangent: Any, vector_cotangents: list[Any]
) -> None:
    """Refuse a cotangent whose derivative at tied values the rules cannot give.

    At a tie, a loss that weighs the tied values differently (their cotangents
    differ) *and* uses their vectors is, like ``V diag(f(w)) V^T``, either
    differentiable with a derivative that needs ``f'`` across the tie (which a
    rule seeing the factors separately cannot know) or not differentiable at
    all: never something the rule can return correctly. Symmetric functions of
    the values (equal cotangents) and basis-free functions of the vectors (no
    value cotangent) pass. ``tied`` is ``(..., k, k)``; each vector cotangent
    has the vectors in its columns ``(..., n, k)``.
    """
    k = tied.shape[-1]
    off = tied & ~np.eye(k, dtype=bool)
    if not any_set(off):
        return
    gv = plain_array(value_cotangent)
    scale = np.max(np.abs(gv), axis=-1, keepdims=True)[..., None]
    differ = np.abs(gv[..., :, None] - gv[..., None, :]) > 1e-8 * scale
    used = np.zeros(gv.shape, dtype=bool)
    for g in vector_cotangents:
        used |= np.any(plain_array(g) != 0, axis=-2)
    if any_set(off & differ & (used[..., :, None] | used[..., None, :])):
        raise UnsupportedOperationError(
            f"{name}: the loss uses the vectors of tied (equal to rounding) values while weighing "
            "those values differently, as in U diag(f(s)) Vh or V diag(f(w)) V^T at a repeated "
            "value. Its derivative there needs f' across the tie, which the decomposition's rule "
            "cannot see (or does not exist), so chainrule refuses rather than return a wrong "
            "gradient. Compute the quantity from the matrix itself (a @ a.T instead of "
            "U S**2 U^T; a instead of U S Vh), or move off the tie."
        )


def refuse_traced_ties(name: str, tied: np.ndarray, value_cotangent: Any) -> None:
    """Refuse to differentiate a reverse rule at tied values when the values' cotangent is traced.

    The cotangent of the values is ``f'(w)`` for a spectral function; when it
    is itself being differentiated (a Hessian), the result needs ``f''``
    across each tie, which the rules cannot see (they would silently drop it).
    A constant cotangent (``f`` linear, as in ``sum(w)`` or the nuclear norm)
    has no such term and passes.
    """
    if type(value_cotangent) is not Tracer:
        return
    off = tied & ~np.eye(tied.shape[-1], dtype=bool)
    if not any_set(off):
        return
    used = plain_array(value_cotangent) != 0
    if any_set(off & (used[..., :, None] | used[..., None, :])):
        raise UnsupportedOperationError(
            f"{name}: a second derivative through tied (equal to rounding) values, e.g. the Hessian "
            "of sum(f(w)) at a repeated eigenvalue, needs f'' across the tie, which the "
            "decomposition's rule cannot see; chainrule refuses rather than return a wrong "
            "Hessian. Compute the quantity from the matrix itself (np.trace(a @ a @ a) instead "
            "of sum(eigvalsh(a)**3)), or move off the tie."
        )
