"""Derivative rules of ``numpy.linalg``: inverse, solve, determinants, Cholesky and norms.

Products, ``einsum`` and diagonals are in :mod:`chainrule.rules.products`.

Primitives and their rules
--------------------------
* ``inv``, ``solve``, ``det``, ``slogdet`` (its ``logabsdet``), ``cholesky``:
  the classical matrix-calculus formulas, batched over leading dimensions.
* vector norms of any order, and the spectral matrix norms (``'nuc'``, 2, -2).

Subgradients at kinks
---------------------
* Every vector norm, the Frobenius norm and the spectral norms have gradient
  0 at ``x = 0`` (0 is in each subdifferential there).
* ``ord=1``: ``sign(x)``, so a zero element gets 0.
* ``ord=inf`` / ``-inf`` (and the matrix 1/inf norms built from them): the
  gradient is split equally among the elements tied for the max (min) ``|x|``.
* other ``p``: ``sign(x) |x|^(p-1) / ||x||^(p-1)``, 0 at zero elements.
* ``ord='nuc'``: ``U_r V_r^T`` over the singular values above the rank
  tolerance of ``matrix_rank``; ``ord=2`` / ``-2``: ``u v^T`` of the largest
  (smallest) singular value, split equally among exact ties. Their second
  derivatives assume distinct nonzero singular values; third derivatives are
  refused.
* ``cholesky`` reads a symmetric matrix: its cotangent is symmetric, and its
  tangent uses the symmetric part of the input's tangent (as if the input
  were ``(A + A^T) / 2``).
* ``det`` is differentiated as ``det(A) A^{-T}``, so it needs an invertible
  matrix (a singular one gives non-finite gradients).

Complex matrices (JAX's convention, ``docs/complex.md``)
---------------------------------------------------------
* ``inv``, ``solve``, ``det`` are holomorphic: the same rules.
* ``slogdet``: ``logabsdet`` is real with ``d = Re tr(A^-1 dA)``; the sign
  ``det / |det|`` is a smooth phase with ``d sign = i sign Im tr(A^-1 dA)``.
* ``cholesky`` reads a Hermitian matrix: the tangent uses the Hermitian part
  ``(dA + dA^H) / 2``, and the cotangent is Hermitian.
* vector norms and the Frobenius norm: ``sign(x)`` becomes ``conj(x) / |x|``
  (0 at 0); the spectral matrix norms (2, -2, ``'nuc'``) refuse complex values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..extend import (
    Primitive,
    Tracer,
    UnsupportedOperationError,
    any_set,
    defcomplex,
    defjvp,
    defvjp,
    is_batched,
    plain_call,
    primal,
    raw_array,
    register_function,
    unbroadcast,
)
from .linalg_helpers import expand2, matrix_transpose
from .products import _outer, _tensordot

__all__ = [
    "cholesky_p",
    "det_p",
    "inv_p",
    "logabsdet_p",
    "solve_p",
    "spectral_norm_p",
    "vector_norm_p",
]


# -- inverse, solve, determinants, Cholesky ------------------------------------
def _inv_impl(a: Any) -> Any:
    return np.linalg.inv(a)


inv_p = Primitive("numpy.linalg.inv", _inv_impl)


def _inv_vjp(ans: Any, a: Any) -> Any:
    inv_t = matrix_transpose(ans)
    return lambda g: -(inv_t @ g @ inv_t)


defvjp(inv_p, _inv_vjp)
defjvp(inv_p, lambda t, ans, a: -(ans @ t @ ans))
register_function(np.linalg.inv, lambda a: inv_p(a))


def _solve_impl(a: Any, b: Any) -> Any:
    return np.linalg.solve(a, b)


solve_p = Primitive("numpy.linalg.solve", _solve_impl)  # b is a (stack of) matrices


def _solve_vjp_a(ans: Any, a: Any, b: Any) -> Any:
    a_shape = np.shape(a)
    return lambda g: unbroadcast(-(solve_p(matrix_transpose(a), g) @ matrix_transpose(ans)), a_shape)


def _solve_vjp_b(ans: Any, a: Any, b: Any) -> Any:
    b_shape = np.shape(b)
    return lambda g: unbroadcast(solve_p(matrix_transpose(a), g), b_shape)


defvjp(solve_p, _solve_vjp_a, _solve_vjp_b)
defjvp(
    solve_p,
    lambda t, ans, a, b: -solve_p(a, t @ ans),
    lambda t, ans, a, b: solve_p(a, t),
)


def _solve(a: Any, b: Any) -> Any:
    if np.ndim(b) == 1:
        # NumPy 2: a 1-D b is one vector, solved against every matrix of a.
        x = solve_p(a, np.reshape(b, (-1, 1)))
        return np.reshape(x, np.shape(x)[:-1])
    return solve_p(a, b)


register_function(np.linalg.solve, _solve)


def _det_impl(a: Any) -> Any:
    return np.linalg.det(a)


det_p = Primitive("numpy.linalg.det", _det_impl)
defvjp(det_p, lambda ans, a: lambda g: expand2(g * ans) * matrix_transpose(inv_p(a)))
defjvp(det_p, lambda t, ans, a: ans * np.sum(matrix_transpose(inv_p(a)) * t, axis=(-2, -1)))
register_function(np.linalg.det, lambda a: det_p(a))


def _logabsdet_impl(a: Any) -> Any:
    return np.linalg.slogdet(a)[1]


logabsdet_p = Primitive("numpy.linalg.slogdet", _logabsdet_impl)
defvjp(logabsdet_p, lambda ans, a: lambda g: expand2(g) * matrix_transpose(inv_p(a)))


def _logabsdet_jvp(t: Any, ans: Any, a: Any) -> Any:
    # d log|det A| = Re tr(A^-1 dA); the reverse rule g A^-T is right for complex A as it is.
    trace = np.sum(matrix_transpose(inv_p(a)) * t, axis=(-2, -1))
    return np.real(trace) if np.iscomplexobj(raw_array(trace)) else trace


defjvp(logabsdet_p, _logabsdet_jvp)


def _sign_impl(a: Any) -> Any:
    return np.linalg.slogdet(a)[0]


# The sign of a complex determinant, det / |det|, is a smooth phase:
# d sign = sign * i Im(T) with T = tr(A^-1 dA); the transpose for Re(sum(g * .)) is
# i Im(g sign) A^-T. (The sign of a real determinant is piecewise constant.)
slogdet_sign_p = Primitive("slogdet_sign", _sign_impl)
defvjp(slogdet_sign_p, lambda ans, a: lambda g: expand2(1j * np.imag(g * ans)) * matrix_transpose(inv_p(a)))
defjvp(
    slogdet_sign_p,
    lambda t, ans, a: ans * (1j * np.imag(np.sum(matrix_transpose(inv_p(a)) * t, axis=(-2, -1)))),
)


def _slogdet_sign(a: np.ndarray) -> Any:
    return np.linalg.slogdet(a)[0]


def _slogdet(a: Any) -> Any:
    # The result is NumPy's own SlogdetResult named tuple. A real sign is piecewise
    # constant: a plain array.
    plain = primal(a)
    if np.iscomplexobj(raw_array(a)):
        sign = slogdet_sign_p(a)
    elif is_batched(plain):  # (vmap) NumPy's sign for each example, a batched value
        sign = plain_call(_slogdet_sign, (plain,), {})
    else:
        sign = np.linalg.slogdet(plain)[0]
    return type(np.linalg.slogdet(np.eye(1)))(sign, logabsdet_p(a))


register_function(np.linalg.slogdet, _slogdet)


def _cholesky_impl(a: Any) -> Any:
    return np.linalg.cholesky(a)


cholesky_p = Primitive("numpy.linalg.cholesky", _cholesky_impl)


def _phi_mask(n: int, dtype: Any) -> np.ndarray:
    """The lower triangle with a halved diagonal, as a multiplicative mask."""
    return np.tril(np.ones((n, n), dtype=dtype), -1) + 0.5 * np.eye(n, dtype=dtype)


def _adjoint(x: Any) -> Any:
    """The conjugate transpose (the transpose of a real matrix)."""
    xt = matrix_transpose(x)
    return np.conjugate(xt) if np.iscomplexobj(raw_array(x)) else xt


def _cholesky_vjp(ans: Any, a: Any) -> Any:
    # The transpose of the real-linear forward map below for Re(sum(g * t)): with
    # M = L^-T phi(L^T g) conj(L^-1), the cotangent is the Hermitian part (M + M^H) / 2.
    def vjp(g: Any) -> Any:
        n = np.shape(ans)[-1]
        linv = inv_p(ans)
        p = (matrix_transpose(ans) @ g) * _phi_mask(n, primal(ans).real.dtype)
        linv_c = np.conjugate(linv) if np.iscomplexobj(raw_array(ans)) else linv
        s = matrix_transpose(linv) @ p @ linv_c
        return 0.5 * (s + _adjoint(s))

    return vjp


def _cholesky_jvp(t: Any, ans: Any, a: Any) -> Any:
    # dL = L phi(L^-1 sym(dA) L^-H), sym the Hermitian part (A is read as Hermitian).
    n = np.shape(ans)[-1]
    linv = inv_p(ans)
    x = linv @ (0.5 * (t + _adjoint(t))) @ _adjoint(linv)
    return ans @ (x * _phi_mask(n, primal(ans).real.dtype))


defvjp(cholesky_p, _cholesky_vjp)
defjvp(cholesky_p, _cholesky_jvp)


def _cholesky(a: Any, /, *, upper: bool = False) -> Any:
    lower = cholesky_p(a)
    return _adjoint(lower) if upper else lower  # NumPy's upper factor is L^H


register_function(np.linalg.cholesky, _cholesky)


# -- norms ---------------------------------------------------------------------
def _nonzero(n: Any) -> Any:
    """``n`` with its zeros replaced by 1 (their quotients are 0 anyway)."""
    zero = primal(n) == 0
    return np.where(zero, 1.0, n) if any_set(zero) else n


def _keep_shape(shape: tuple[int, ...], axis: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _phase(x: Any, px: Any) -> Any:
    """d|x|/dx as a reverse factor: ``sign(x)`` (plain, piecewise constant) for real ``x``,
    ``conj(x) / |x|`` (traced: it varies) for complex ``x``; 0 at 0 in both."""
    if not np.iscomplexobj(px):
        return np.sign(px)
    zero = px == 0
    absx = np.abs(x)
    return np.conjugate(x) / (np.where(zero, 1.0, absx) if any_set(zero) else absx)


def _vnorm_deriv(x: Any, n: Any, ord: float, axis: tuple[int, ...]) -> Any:
    """d||x||/dx for the vector norm ``ord`` over ``axis``; ``n`` has keepdims shape.

    For complex ``x`` it is the reverse factor of JAX's convention (``conj(x) / ||x||``
    for ord 2): the forward rule takes the real part of ``sum(t * d)``.
    """
    px = primal(x)
    if ord == 2.0:
        return (np.conjugate(x) if np.iscomplexobj(px) else x) / _nonzero(n)
    if ord == 1.0:
        return _phase(x, px)
    if math.isinf(ord):
        tied = np.abs(px) == primal(n)
        count = np.sum(tied, axis=axis, keepdims=True).astype(px.real.dtype)
        share = tied / np.maximum(count, 1.0)
        if np.iscomplexobj(px):
            return _phase(x, px) * share
        return np.where(tied, np.sign(px) / np.maximum(count, 1.0), 0.0).astype(px.dtype)
    absx = np.abs(x)
    safe = np.where(px == 0, 1.0, absx) if any_set(px == 0) else absx
    return _phase(x, px) * (safe / _nonzero(n)) ** (ord - 1.0)


def _vnorm_impl(x: Any, ord: float, axis: tuple[int, ...], keepdims: bool) -> Any:
    return np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)


vector_norm_p = Primitive("numpy.linalg.norm", _vnorm_impl)


def _vnorm_vjp(ans: Any, x: Any, ord: float, axis: tuple[int, ...], keepdims: bool) -> Any:
    keep = _keep_shape(np.shape(x), axis)
    d = _vnorm_deriv(x, np.reshape(ans, keep), ord, axis)
    return lambda g: np.reshape(g, keep) * d


def _vnorm_jvp(t: Any, ans: Any, x: Any, ord: float, axis: tuple[int, ...], keepdims: bool) -> Any:
    d = _vnorm_deriv(x, np.reshape(ans, _keep_shape(np.shape(x), axis)), ord, axis)
    out = np.sum(t * d, axis=axis, keepdims=keepdims)
    return np.real(out) if np.iscomplexobj(raw_array(out)) else out


defvjp(vector_norm_p, _vnorm_vjp)
defjvp(vector_norm_p, _vnorm_jvp)
# Vector norms (every ord) and the Frobenius norm of complex values: the rules above use
# conj(x) / |x| for sign(x). Complex Cholesky reads a Hermitian matrix. slogdet of a complex
# matrix: logabsdet real, sign a smooth phase. (The spectral matrix norms need a complex svd.)
defcomplex(vector_norm_p, cholesky_p, logabsdet_p, slogdet_sign_p)


def _svd_plain(x: Any, kind: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if type(x) is Tracer:
        raise UnsupportedOperationError(
            f"chainrule differentiates numpy.linalg.norm(ord={kind!r}) of a matrix up to "
            "second order only; a third derivative was requested."
        )
    return np.linalg.svd(x, full_matrices=False)


def _spectral_weights(s: np.ndarray, kind: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The weights c with gradient ``U diag(c) V^T`` (see the module docstring)."""
    smax = s[..., :1]
    c: np.ndarray
    if kind == "nuc":
        tol = smax * (max(shape[-2:]) * np.finfo(s.dtype).eps)
        c = (s > tol).astype(s.dtype)
    else:
        target = smax if kind == 2 else s[..., -1:]
        tied = (s == target) & (smax > 0)
        c = tied / np.maximum(np.sum(tied, axis=-1, keepdims=True), 1)
    return c.astype(s.dtype)


def _safe_recip(d: np.ndarray) -> np.ndarray:
    return np.where(d == 0, 0.0, 1.0 / np.where(d == 0, 1.0, d)).astype(d.dtype)


def _spectral_linearization(x: np.ndarray, kind: Any) -> Any:
    """The derivative of ``X -> U diag(c) V^T``: a self-adjoint linear map."""
    transpose = x.shape[-2] < x.shape[-1]
    if transpose:
        x = x.swapaxes(-1, -2)
    u, s, vh = _svd_plain(x, kind)
    c = _spectral_weights(s, kind, x.shape)
    si, sj = s[..., :, None], s[..., None, :]
    ci, cj = c[..., :, None], c[..., None, :]
    k1 = np.where(ci == cj, 0.0, (ci - cj) * _safe_recip(si - sj)).astype(s.dtype)
    k2 = ((ci + cj) * _safe_recip(si + sj)).astype(s.dtype)
    v = vh.swapaxes(-1, -2)
    ut = u.swapaxes(-1, -2)
    vdv = (v * (c * _safe_recip(s))[..., None, :]) @ vh
    rectangular = x.shape[-2] > x.shape[-1]

    def apply_(t: Any) -> Any:
        if transpose:
            t = matrix_transpose(t)
        p = ut @ t @ v
        pt = matrix_transpose(p)
        m = k1 * (0.5 * (p + pt)) + k2 * (0.5 * (p - pt))
        r = u @ m @ vh
        if rectangular:
            tv = t @ vdv
            r = r + (tv - u @ (ut @ tv))
        return matrix_transpose(r) if transpose else r

    return apply_


def _spectral_grad_impl(x: Any, kind: Any) -> Any:
    transpose = np.shape(x)[-2] < np.shape(x)[-1]
    if transpose:
        x = matrix_transpose(x)
    u, s, vh = _svd_plain(x, kind)
    c = _spectral_weights(s, kind, np.shape(x))
    r = (u * c[..., None, :]) @ vh
    return matrix_transpose(r) if transpose else r


spectral_grad_p = Primitive("gradient of numpy.linalg.norm (matrix 2, -2, nuc)", _spectral_grad_impl)
defvjp(spectral_grad_p, lambda ans, x, kind: _spectral_linearization(x, kind))
defjvp(spectral_grad_p, lambda t, ans, x, kind: _spectral_linearization(x, kind)(t))


def _spectral_impl(x: Any, kind: Any) -> Any:
    return np.linalg.norm(x, kind, (-2, -1))


spectral_norm_p = Primitive("numpy.linalg.norm (matrix 2, -2, nuc)", _spectral_impl)  # over the last two axes
defvjp(spectral_norm_p, lambda ans, x, kind: lambda g: expand2(g) * spectral_grad_p(x, kind))
defjvp(spectral_norm_p, lambda t, ans, x, kind: np.sum(t * spectral_grad_p(x, kind), axis=(-2, -1)))


def _matrix_norm(x: Any, ord: Any, axis: tuple[int, int], keepdims: bool) -> Any:
    nd = np.ndim(x)
    shape = np.shape(x)
    row, col = axis
    keep = _keep_shape(shape, axis)
    if ord is None or ord == "fro":
        return vector_norm_p(x, 2.0, tuple(sorted(axis)), keepdims)
    if ord in ("nuc", 2, -2):
        perm = [i for i in range(nd) if i not in axis] + [row, col]
        if perm != list(range(nd)):
            x = np.transpose(x, perm)
        r = spectral_norm_p(x, ord)
    elif ord in (1, -1, math.inf, -math.inf):
        # max (min) over one axis of the sums of |x| along the other.
        summed, extreme = (row, col) if abs(ord) == 1 else (col, row)
        sums = vector_norm_p(x, 1.0, (summed,), True)
        r = vector_norm_p(sums, math.copysign(math.inf, ord), (extreme,), True)
    else:
        raise ValueError(f"numpy.linalg.norm: invalid norm order {ord!r} for matrices")
    return np.reshape(r, keep if keepdims else tuple(n for i, n in enumerate(shape) if i not in axis))


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    nd = np.ndim(x)
    if axis is None:
        if ord is None:
            return vector_norm_p(x, 2.0, tuple(range(nd)), bool(keepdims))
        if nd == 1:
            axis = (0,)
        elif nd == 2:
            axis = (0, 1)
        else:
            raise ValueError("numpy.linalg.norm: improper number of dimensions to norm")
    elif not isinstance(axis, tuple | list):
        axis = (axis,)
    axis = tuple(int(a) % max(nd, 1) for a in axis)
    if len(axis) == 2:
        if axis[0] == axis[1]:
            raise ValueError("numpy.linalg.norm: duplicate axes given")
        return _matrix_norm(x, ord, (axis[0], axis[1]), bool(keepdims))
    if len(axis) != 1:
        raise ValueError("numpy.linalg.norm: improper number of dimensions to norm")
    if isinstance(ord, str):
        raise ValueError(f"numpy.linalg.norm: invalid norm order {ord!r} for vectors")
    if ord is not None and ord == 0:
        # The count of nonzero elements: piecewise constant, a plain array.
        return np.linalg.norm(primal(x), 0, axis, keepdims)
    p = 2.0 if ord is None else float(ord)
    return vector_norm_p(x, p, axis, bool(keepdims))


register_function(np.linalg.norm, _norm)


def _vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    nd = np.ndim(x)
    if axis is None:
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple | list):
        axis = (axis,)
    axis = tuple(sorted({int(a) % max(nd, 1) for a in axis}))
    if isinstance(ord, str):
        raise ValueError(f"numpy.linalg.vector_norm: invalid norm order {ord!r} for vectors")
    if ord == 0:
        return np.linalg.vector_norm(primal(x), axis=axis, keepdims=keepdims, ord=0)
    return vector_norm_p(x, float(ord), axis, bool(keepdims))


def _matrix_norm_api(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    nd = np.ndim(x)
    return _matrix_norm(x, ord, (nd - 2, nd - 1), bool(keepdims))


register_function(np.linalg.vector_norm, _vector_norm)
register_function(np.linalg.matrix_norm, _matrix_norm_api)
register_function(np.linalg.matmul, lambda x1, x2, /: np.matmul(x1, x2))
register_function(np.linalg.outer, lambda x1, x2, /: _outer(x1, x2))
register_function(np.linalg.tensordot, lambda x1, x2, /, *, axes=2: _tensordot(x1, x2, axes))


def _vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    # NumPy's vecdot conjugates its first argument: sum(conj(x1) * x2).
    if np.iscomplexobj(raw_array(x1)):
        x1 = np.conjugate(x1)
    return np.sum(x1 * x2, axis=axis)


register_function(np.linalg.vecdot, _vecdot)
