"""Derivative rules of ``numpy.linalg.pinv`` and ``numpy.linalg.lstsq``.

``pinv`` is a primitive with the derivative of Golub and Pereyra ("The
differentiation of pseudo-inverses and nonlinear least squares problems whose
variables separate", 1973), valid where the rank (the number of singular
values above ``rcond`` times the largest) is locally constant::

    dA+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+

That formula treats the singular values below the cutoff as zero. When the
cutoff drops singular values that are *not* zero to rounding (a large ``rcond``
used to regularize), ``pinv`` is the truncated ``V_r S_r^{-1} U_r^T``, whose
derivative couples the kept and the dropped singular vectors: it is then built
from the rules of ``numpy.linalg.svd`` (so tied kept singular values are refused
in reverse mode, as there). Where the rank changes (a singular value crosses the
cutoff) ``pinv`` jumps; the rules give the derivative of the branch NumPy chose.
Stacks of matrices are supported (``rcond`` may be one per matrix), and
``hermitian=True`` reads the lower triangle only, as NumPy does.

``lstsq(a, b, rcond)`` is built from them: the solution is ``pinv(a, rcond) @
b`` (the minimum-norm least-squares solution, as LAPACK's ``gelsd`` computes,
truncated the same way),
the residuals ``sum((b - a x)**2, axis=0)`` (empty unless ``rank == n < m``, as
in NumPy), the rank a plain integer, and the singular values those of
``numpy.linalg.svd``.

Examples
--------
The least-squares slope of a line fit, differentiated with respect to the data:

>>> import numpy as np
>>> import chainrule as cr
>>> t = np.array([0.0, 1.0, 2.0, 3.0])
>>> design = np.stack([t, np.ones(4)], axis=1)
>>> slope = lambda y: np.linalg.lstsq(design, y)[0][0]
>>> cr.grad(slope)(np.array([1.0, 2.0, 2.5, 4.0]))  # (t - mean(t)) / sum((t - mean(t))**2)
array([-0.3, -0.1,  0.1,  0.3])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import (
    ComplexValueError,
    Primitive,
    UnsupportedOperationError,
    any_set,
    defcomplex,
    defjvp,
    defvjp,
    is_batched,
    plain_array,
    primal,
    raw_array,
    register_function,
)
from .linalg_helpers import matrix_transpose
from .spectral_helpers import from_triangle, hermitian_from_triangle, matrices

__all__ = ["pinv_p"]


def _pinv_impl(a: Any, rcond: Any, hermitian: bool) -> Any:
    return np.linalg.pinv(a, rcond=rcond, hermitian=hermitian)


pinv_p = Primitive("numpy.linalg.pinv", _pinv_impl)


def _identity_minus(p: Any) -> Any:
    n = np.shape(p)[-1]
    return np.eye(n, dtype=primal(p).dtype) - p


def _adjoint(x: Any) -> Any:
    """The conjugate transpose (the transpose of a real matrix)."""
    xt = matrix_transpose(x)
    return np.conjugate(xt) if np.iscomplexobj(raw_array(x)) else xt


def _conj(x: Any) -> Any:
    return np.conjugate(x) if np.iscomplexobj(raw_array(x)) else x


def _pinv_jvp(t: Any, ans: Any, a: Any, rcond: Any, hermitian: bool) -> Any:
    # Complex: the transposes of Golub and Pereyra's formula are conjugate transposes.
    p, ph, th = ans, _adjoint(ans), _adjoint(t)
    out = -(p @ t @ p)
    out = out + p @ (ph @ (th @ _identity_minus(a @ p)))
    return out + _identity_minus(p @ a) @ (th @ (ph @ p))


def _pinv_vjp(ans: Any, a: Any, rcond: Any, hermitian: bool) -> Any:
    # The transpose of the forward map for Re(sum(g * t)): the first term is holomorphic
    # (plain transposes); a term X dA^H Y transposes to conj(Y) g^H conj(X).
    def vjp(g: Any) -> Any:
        p, pt, gh = ans, matrix_transpose(ans), _adjoint(g)
        pc, ac = _conj(p), _conj(a)
        out = -(pt @ g @ pt)
        out = out + _identity_minus(ac @ pc) @ (gh @ (pc @ pt))
        return out + (pt @ pc) @ (gh @ _identity_minus(pc @ ac))

    return vjp


defvjp(pinv_p, _pinv_vjp)
defjvp(pinv_p, _pinv_jvp)
defcomplex(pinv_p)


_NO_VALUE = object()


def _pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _NO_VALUE) -> Any:
    raw = matrices("numpy.linalg.pinv", a)
    # NumPy's defaults: rcond=None and rtol unset mean 1e-15; rtol=None means max(m, n) * eps.
    if rtol is not _NO_VALUE and rcond is not None:
        raise ValueError("numpy.linalg.pinv: `rtol` and `rcond` can't be both set.")
    if rcond is None:
        if rtol is _NO_VALUE:
            rcond = 1e-15
        elif rtol is None:
            rcond = max(raw.shape[-2:]) * np.finfo(raw.dtype).eps
        else:
            rcond = rtol
    return _pseudo_inverse(a, plain_array(rcond), bool(hermitian))


def _drops_nonzero(matrix: np.ndarray, rcond: np.ndarray) -> bool:
    """Whether the cutoff drops singular values that are not zero to rounding."""
    if matrix.size == 0:
        return False
    s = np.linalg.svd(matrix, compute_uv=False)
    largest = s[..., :1]
    dropped = s <= rcond[..., None] * largest
    rounding = 100 * max(matrix.shape[-2:]) * np.finfo(s.dtype).eps * largest
    return any_set(dropped & (s > rounding))  # (in any example, under vmap)


def _pseudo_inverse(a: Any, rcond: np.ndarray, hermitian: bool) -> Any:
    complex_ = np.iscomplexobj(raw_array(a))
    if hermitian:
        a = hermitian_from_triangle(a, lower=True) if complex_ else from_triangle(a, lower=True)
    if not _drops_nonzero(plain_array(a), rcond):
        return pinv_p(a, rcond, hermitian)
    if complex_:
        raise ComplexValueError(
            "numpy.linalg.pinv of a complex matrix whose cutoff (rcond/rtol) drops singular values "
            "that are not zero to rounding: that branch is differentiated through numpy.linalg.svd, "
            "which has no complex rule yet. Use a smaller rcond, or split real and imaginary parts."
        )
    # The truncated pseudo-inverse: differentiated through the SVD's rules.
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    plain_s = plain_array(s)
    kept = plain_s > rcond[..., None] * plain_s[..., :1]
    inverse = np.where(kept, 1.0 / np.where(kept, s, 1.0), 0.0)
    return matrix_transpose(vh) @ (inverse[..., :, None] * matrix_transpose(u))


register_function(np.linalg.pinv, _pinv)


def _lstsq(a: Any, b: Any, rcond: Any = None) -> Any:
    raw = matrices("numpy.linalg.lstsq", a)
    raw_b = plain_array(b)
    if raw.ndim != 2:
        raise np.linalg.LinAlgError(f"numpy.linalg.lstsq: a must be 2-dimensional, got shape {raw.shape}")
    if raw_b.ndim not in (1, 2) or raw_b.shape[0] != raw.shape[0]:
        raise np.linalg.LinAlgError(
            f"numpy.linalg.lstsq: b must have shape ({raw.shape[0]},) or ({raw.shape[0]}, k), "
            f"got {raw_b.shape}"
        )
    m, n = raw.shape
    dtype = np.result_type(raw, raw_b, np.float64 if raw.dtype.kind in "iub" else raw.dtype)
    if rcond is None:
        rcond = np.finfo(dtype).eps * max(m, n)
    elif rcond < 0:
        rcond = np.finfo(dtype).eps  # NumPy's legacy meaning of a negative rcond
    s = np.linalg.svd(a, compute_uv=False)
    plain_s = plain_array(s)
    if is_batched(plain_s):  # (vmap) a rank per example; the residuals' shape needs one answer
        ranks = np.sum(plain_s > rcond * plain_s[0]) if plain_s.size else np.zeros((), np.intp)
        full, deficient = not any_set(ranks != n), not any_set(ranks == n)
        if not (full or deficient):
            raise UnsupportedOperationError(
                "numpy.linalg.lstsq under chainrule.vmap: some examples have full column rank "
                "and others not, so their residuals would have different shapes; batch "
                "examples of one kind, or compute the residuals yourself from x."
            )
        rank: Any = n if full else -1
        rank_out: Any = ranks.astype(np.int32)
    else:
        rank = int(np.sum(plain_s > rcond * plain_s[0])) if plain_s.size else 0
        rank_out = np.int32(rank)
    x = _pseudo_inverse(a, np.asarray(rcond), False) @ b
    if rank == n and m > n:
        r = b - a @ x
        # NumPy's residuals are the squared 2-norms: real for complex a and b.
        squares = np.real(r) ** 2 + np.imag(r) ** 2 if np.iscomplexobj(raw_array(r)) else r**2
        residual = np.sum(squares, axis=0)
        residuals = np.reshape(residual, (1,)) if raw_b.ndim == 1 else residual
    else:
        residuals = np.zeros((0,), dtype=np.empty(0, dtype).real.dtype)
    return x, residuals, rank_out, s


register_function(np.linalg.lstsq, _lstsq)
