"""Derivative rules of the spectral decompositions: ``numpy.linalg.svd``, ``eigh`` and their value-only forms.

References: Townsend, "Differentiating the singular value decomposition"
(2016); Seeger, Hetzel, Dai, Meissner, Lawrence, "Auto-differentiating linear
algebra" (2017); Giles, "Collected matrix derivative results for forward and
reverse mode algorithmic differentiation" (2008).

Conventions
-----------
* Every function works on stacks of matrices (leading ``...`` dimensions) as
  NumPy does, at any order, in both modes.
* ``svd(a)`` with distinct nonzero singular values: ``U``, ``S``, ``Vh`` are
  differentiable up to the sign of each singular pair, which NumPy fixes
  locally; the rules differentiate exactly what NumPy returns.
* ``full_matrices=True`` on a non-square ``a``: the extra columns of ``U`` (or
  rows of ``Vh``) are *any* orthonormal basis of the complement, so their
  derivative depends on a choice. chainrule takes the one that does not rotate
  the complement within itself (``U_2^T dU_2 = 0``). Losses that depend on
  them only through the projector ``U_2 U_2^T`` (gauge-invariant losses) are
  differentiated exactly; others are not differentiable functions of ``a``.
* ``eigh(a, UPLO)`` reads only the lower (``'L'``) or upper (``'U'``) triangle,
  as NumPy does: the gradient is zero on the other strict triangle, and
  perturbing it changes nothing.

Degenerate spectra (documented result, never NaN)
-------------------------------------------------
Singular values (eigenvalues) tied to rounding, ``|s_i - s_j| <= 10 max(m, n)
eps max(s)``, make the vectors of that cluster any basis of its subspace, so the
vectors are not differentiable there. The rules write Townsend's
``1 / (s_j^2 - s_i^2)`` as the partial fractions ``1 / (s_j - s_i)`` and
``1 / (s_j + s_i)`` and set the first to 0 on tied pairs (and the second where both
values are 0): the result is finite, and it is exact for losses that see each
cluster only through

* symmetric functions of its values (sums, norms, ``sum(w**3)``, log-determinants),
* basis-free functions of its vectors: projectors ``U_c U_c^T``, ``V_c V_c^T``,
  and for the SVD the polar factor ``U_c V_c^T``.

Losses that pair the vectors of a cluster with *distinct functions of its tied
values*, such as ``U diag(f(s)) Vh`` (``U S Vh`` itself) or ``V diag(f(w)) V^T``
with a non-constant ``f``, may be differentiable functions of ``a``, but their
derivative at the tie needs the limit ``(f(s_j) - f(s_i)) / (s_j - s_i) -> f'(s)``,
which a rule that sees the factors separately cannot know. Reverse mode detects
them (the tied values' cotangents differ while their vectors' are nonzero) and
raises ``UnsupportedOperationError`` saying so; forward mode sees no loss and
cannot tell, so its tangent there misses that term. Write such quantities from
``a`` directly (``a @ a.T``, not ``U S**2 U^T``), or keep the spectrum separated.
For the same reason a second derivative through a tie whose value cotangent is
itself differentiated (the Hessian of ``sum(f(w))`` with ``f`` not linear) is
refused in every mode; a constant value cotangent (``sum(w)``, the nuclear norm)
has no such term and its Hessian is exact.
Losses that depend on the basis itself have no
derivative; their result is finite and meaningless. A zero singular value of a
non-square ``a`` leaves its singular vector undetermined: the terms dividing by it
are dropped (exact for losses that do not use that vector). Singular values and
eigenvalues themselves have a kink where two cross (or a singular value reaches
0): each then gets ``u_i^T dA v_i`` of NumPy's choice of vectors, and the sum over
the cluster is exact.

``eig`` and ``eigvals`` (complex results in general, for real or complex
input): Giles' rules, with the eigenvector phase as a gauge (see ``_Eig``);
tied eigenvalues as above (the vectors of a tie are not differentiable; a
defective matrix has no derivative at all). A real matrix whose eigenvalues
are all real gets real results, as from NumPy.

Examples
--------
The largest singular value's gradient is ``u_1 v_1^T``:

>>> import numpy as np
>>> import chainrule as cr
>>> cr.grad(lambda x: np.linalg.svd(x, compute_uv=False)[0])(np.array([[3.0, 0.0], [0.0, 1.0]]))
array([[1., 0.],
       [0., 0.]])

``eigvalsh`` reads one triangle, so the gradient ``v v^T`` lands on it (the
off-diagonal entry counts twice, once for each place it stands in the matrix
NumPy reads):

>>> s = np.array([[2.0, 1.0], [1.0, 2.0]])
>>> cr.grad(lambda x: np.linalg.eigvalsh(x)[-1])(s)
array([[0.5, 0. ],
       [1. , 0.5]])
>>> cr.grad(lambda x: np.linalg.eigvalsh(x, UPLO="U")[-1])(s)
array([[0.5, 1. ],
       [0. , 0.5]])
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from ..extend import (
    Primitive,
    UnsupportedOperationError,
    any_set,
    defcomplex,
    defjvp,
    defvjp,
    differentiated,
    plain_array,
    primal,
    raw_array,
    register_function,
)
from .linalg_helpers import matrix_transpose
from .spectral_helpers import (
    from_triangle,
    hermitian_from_triangle,
    hermitian_to_triangle,
    matrices,
    pack,
    real_matrices,
    refuse_mixed_ties,
    refuse_traced_ties,
    safe_inverse_gaps,
    safe_reciprocal,
    tie_mask,
    to_triangle,
    tolerance,
    unpack,
)

__all__ = ["eigh_p", "svd_p"]

# NumPy's own named tuples, so results unpack and read (.U, .S, .Vh; .eigenvalues) alike.
_SVDResult = type(np.linalg.svd(np.eye(1)))
_EighResult = type(np.linalg.eigh(np.eye(1)))
_EigResult = type(np.linalg.eig(np.eye(1)))

# Values closer than _TIE_FACTOR * max(m, n) * eps * (largest magnitude) are tied: LAPACK
# returns an exactly repeated value within about max(m, n) * eps of each other.
_TIE_FACTOR = 10


def _diag(v: Any) -> Any:
    """The diagonal matrices with ``v`` (last axis) on the diagonal."""
    n = np.shape(v)[-1]
    return v[..., :, None] * np.eye(n, dtype=primal(v).dtype)


def _diagonal(m: Any) -> Any:
    return np.diagonal(m, axis1=-2, axis2=-1)


# -- SVD -----------------------------------------------------------------------------------------
def _svd_cores(m: int, n: int, full: bool) -> list[tuple[int, ...]]:
    k = min(m, n)
    return [(m, m if full else k), (k,), (n if full else k, n)]


def _svd_impl(a: Any, full: bool) -> Any:
    u, s, vh = np.linalg.svd(a, full_matrices=full)
    return pack([u, s, vh], np.shape(a)[:-2])


svd_p = Primitive("numpy.linalg.svd", _svd_impl)


class _SVD:
    """The factors of one recorded SVD and the quantities both rules need (not the input)."""

    def __init__(self, ans: Any, shape: tuple[int, ...], full: bool):
        self.batch, (self.m, self.n) = shape[:-2], shape[-2:]
        self.k = k = min(self.m, self.n)
        self.full = full
        u, s, vh = unpack(ans, self.batch, _svd_cores(self.m, self.n, full))
        self.u, self.s, self.vh = u, s, vh
        self.u1 = u[..., :, :k] if full and self.m > k else u
        self.v1 = matrix_transpose(vh[..., :k, :] if full and self.n > k else vh)
        plain_s = plain_array(s)
        smax = plain_s[..., 0] if k else np.zeros(self.batch, plain_s.dtype)
        count = _TIE_FACTOR * max(self.m, self.n)
        small = plain_s <= tolerance(plain_s, smax, count)[..., None]
        si, sj = s[..., :, None], s[..., None, :]
        # Townsend's F_ij = 1 / (s_j^2 - s_i^2) split into partial fractions: the part over
        # s_j - s_i (0 on tied pairs) and the part over s_j + s_i (0 where both are 0).
        self.tied = tie_mask(plain_s, smax, count)
        self.g_minus = safe_inverse_gaps(sj - si, self.tied)
        self.g_plus = safe_inverse_gaps(sj + si, small[..., :, None] & small[..., None, :])
        self.inv_s = safe_reciprocal(s, small)

    def tangent(self, t: Any) -> Any:
        u1, v1, inv_s = self.u1, self.v1, self.inv_s
        tv = t @ v1
        dp = matrix_transpose(u1) @ tv
        dpt = matrix_transpose(dp)
        sym = self.g_minus * (0.5 * (dp + dpt))
        skew = self.g_plus * (0.5 * (dp - dpt))
        du = u1 @ (sym + skew)
        dv = v1 @ (sym - skew)
        if self.m > self.k:
            du = du + (tv - u1 @ dp) * inv_s[..., None, :]
        if self.n > self.k:
            tu = matrix_transpose(t) @ u1
            dv = dv + (tu - v1 @ dpt) * inv_s[..., None, :]
        if self.full and self.m > self.k:
            u2 = self.u[..., :, self.k :]
            du2 = -(u1 @ (inv_s[..., :, None] * (matrix_transpose(tv) @ u2)))
            du = np.concatenate([du, du2], axis=-1)
        if self.full and self.n > self.k:
            v2 = matrix_transpose(self.vh[..., self.k :, :])
            dv2 = -(v1 @ (inv_s[..., :, None] * (matrix_transpose(u1) @ t @ v2)))
            dv = np.concatenate([dv, dv2], axis=-1)
        return pack([du, _diagonal(dp), matrix_transpose(dv)], self.batch)

    def cotangent(self, g: Any) -> Any:
        u1, v1, inv_s, k = self.u1, self.v1, self.inv_s, self.k
        gu, gs, gvh = unpack(g, self.batch, _svd_cores(self.m, self.n, self.full))
        gv = matrix_transpose(gvh)
        if self.full and self.m > k:
            u2 = self.u[..., :, k:]
            gu = gu[..., :, :k] - u2 @ (matrix_transpose(gu[..., :, k:]) @ u1)
        if self.full and self.n > k:
            v2 = matrix_transpose(self.vh[..., k:, :])
            gv = gv[..., :, :k] - v2 @ (matrix_transpose(gv[..., :, k:]) @ v1)
        refuse_mixed_ties("numpy.linalg.svd", self.tied, gs, [gu, gv])
        refuse_traced_ties("numpy.linalg.svd", self.tied, gs)
        utgu = matrix_transpose(u1) @ gu
        vtgv = matrix_transpose(v1) @ gv
        both, diff = utgu + vtgv, utgu - vtgv
        inner = (
            self.g_minus * (0.5 * (both - matrix_transpose(both)))
            + self.g_plus * (0.5 * (diff - matrix_transpose(diff)))
            + _diag(gs)
        )
        ga = u1 @ inner @ matrix_transpose(v1)
        if self.m > k:
            ga = ga + ((gu - u1 @ utgu) * inv_s[..., None, :]) @ matrix_transpose(v1)
        if self.n > k:
            ga = ga + u1 @ (inv_s[..., :, None] * matrix_transpose(gv - v1 @ vtgv))
        return ga


defvjp(svd_p, lambda ans, a, full: _SVD(ans, np.shape(a), full).cotangent)
defjvp(svd_p, lambda t, ans, a, full: _SVD(ans, np.shape(a), full).tangent(t))


def _svd_via_eigh(a: Any, compute_uv: bool) -> Any:
    """``svd(a, hermitian=True)`` as NumPy computes it: from ``eigh`` of the lower triangle."""
    w, v = _eigh(a, "L")
    s = np.abs(w)
    if not compute_uv:
        return np.sort(s, axis=-1)[..., ::-1]
    # The same order and signs as NumPy (the sign of each eigenvalue moves into Vh).
    order = np.argsort(primal(s), axis=-1)[..., ::-1]
    signs = np.take_along_axis(np.copysign(1.0, primal(w)), order, axis=-1)
    s = np.take_along_axis(s, order, axis=-1)
    u = np.take_along_axis(v, order[..., None, :], axis=-1)
    return _SVDResult(u, s, matrix_transpose(u * signs[..., None, :]))


# -- singular values of complex matrices (first order) --------------------------------------------
def _complex_svdvals_impl(a: Any) -> Any:
    return np.linalg.svd(a, compute_uv=False)


complex_svdvals_p = Primitive("numpy.linalg.svdvals (complex)", _complex_svdvals_impl)


def _singular_vectors_impl(a: Any) -> Any:
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return pack([u, np.conjugate(matrix_transpose(vh))], np.shape(a)[:-2])


# U and V (packed) of the thin SVD, as values only (never differentiated): a primitive so that
# vmap batches it (rules/batching.py), where a complex matrix's vjp runs on batched values.
singular_vectors_p = Primitive("numpy.linalg.svd (complex singular vectors)", _singular_vectors_impl)
defcomplex(singular_vectors_p)


def _plain_singular_vectors(a: Any) -> tuple[Any, Any]:
    """U and V of a complex ``a``, plain or batched by vmap; ``a`` differentiated (2nd order): refused."""
    if differentiated(a):
        raise UnsupportedOperationError(
            "numpy.linalg.svd(compute_uv=False) / svdvals of a complex matrix: chainrule gives first "
            "derivatives only (a second derivative needs the complex singular vectors' rules, "
            "which are not written yet). numpy.linalg.lstsq computes them too: for second "
            "derivatives of its solution write np.linalg.pinv(a) @ b."
        )
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    u, v = unpack(singular_vectors_p(a), np.shape(a)[:-2], [(m, k), (n, k)])
    return u, v


def _complex_svdvals_vjp(ans: Any, a: Any) -> Any:
    # ds_i = Re(u_i^H dA v_i), transposed for Re(sum(g * t)): conj(U) diag(g) V^T.
    u, v = _plain_singular_vectors(a)
    return lambda g: (np.conjugate(u) * g[..., None, :]) @ matrix_transpose(v)


def _complex_svdvals_jvp(t: Any, ans: Any, a: Any) -> Any:
    u, v = _plain_singular_vectors(a)
    return np.real(np.sum(np.conjugate(u) * (t @ v), axis=-2))


defvjp(complex_svdvals_p, _complex_svdvals_vjp)
defjvp(complex_svdvals_p, _complex_svdvals_jvp)
defcomplex(complex_svdvals_p)


def _svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    if not compute_uv and not hermitian and np.iscomplexobj(raw_array(a)):
        # Tied or zero singular values: u_i^H dA v_i of NumPy's vectors (the cluster sum is exact).
        matrices("numpy.linalg.svd", a)
        return complex_svdvals_p(a)
    raw = real_matrices("numpy.linalg.svd", a, square=bool(hermitian))
    if hermitian:
        return _svd_via_eigh(a, bool(compute_uv))
    m, n = raw.shape[-2:]
    full = bool(full_matrices) and bool(compute_uv) and m != n
    u, s, vh = unpack(svd_p(a, full), raw.shape[:-2], _svd_cores(m, n, full))
    if not compute_uv:
        return s
    return _SVDResult(u, s, vh)


register_function(np.linalg.svd, _svd)
register_function(np.linalg.svdvals, lambda x, /: _svd(x, compute_uv=False))


# -- symmetric eigendecomposition ----------------------------------------------------------------
def _eigh_impl(a: Any, lower: bool) -> Any:
    w, v = np.linalg.eigh(a, UPLO="L" if lower else "U")
    return pack([w, v], np.shape(a)[:-2])


eigh_p = Primitive("numpy.linalg.eigh", _eigh_impl)


class _Eigh:
    """The factors of one recorded ``eigh`` and the quantities both rules need (not the input)."""

    def __init__(self, ans: Any, shape: tuple[int, ...]):
        self.batch, n = shape[:-2], shape[-1]
        self.w, self.v = unpack(ans, self.batch, [(n,), (n, n)])
        # A Hermitian matrix: real eigenvalues packed beside complex vectors.
        self.complex = np.iscomplexobj(raw_array(ans))
        if self.complex:
            self.w = np.real(self.w)
        plain_w = plain_array(self.w)
        scale = np.max(np.abs(plain_w), axis=-1) if n else np.zeros(self.batch, plain_w.dtype)
        self.tied = tie_mask(plain_w, scale, _TIE_FACTOR * n)
        # F_ij = 1 / (w_j - w_i) off the ties, 0 on them.
        self.f = safe_inverse_gaps(self.w[..., None, :] - self.w[..., :, None], self.tied)

    def tangent(self, t: Any, lower: bool) -> Any:
        v = self.v
        if self.complex:
            # P = V^H dA V is Hermitian: dw = diag(P) (real), dV = V (F o P) (the gauge with
            # Im(diag(V^H dV)) = 0: a phase of each vector is not determined by a).
            p = np.conjugate(matrix_transpose(v)) @ hermitian_from_triangle(t, lower) @ v
            # diag(P) is real (P is Hermitian); it stays complex in the pack, read by np.real.
            return pack([_diagonal(p), v @ (self.f * p)], self.batch)
        p = matrix_transpose(v) @ from_triangle(t, lower) @ v
        return pack([_diagonal(p), v @ (self.f * p)], self.batch)

    def cotangent(self, g: Any, lower: bool) -> Any:
        n = np.shape(self.w)[-1]
        gw, gv = unpack(g, self.batch, [(n,), (n, n)])
        refuse_mixed_ties("numpy.linalg.eigh", self.tied, gw, [gv])
        refuse_traced_ties("numpy.linalg.eigh", self.tied, gw)
        v = self.v
        if self.complex:
            # The transpose of the tangent map for Re(sum(g * t)): conj(V) K V^T, K as for real.
            gw = np.real(gw)
            inner = _diag(gw) + self.f * (matrix_transpose(v) @ gv)
            return hermitian_to_triangle(np.conjugate(v) @ inner @ matrix_transpose(v), lower)
        inner = _diag(gw) + self.f * (matrix_transpose(v) @ gv)
        return to_triangle(v @ inner @ matrix_transpose(v), lower)


defvjp(eigh_p, lambda ans, a, lower: partial(_Eigh(ans, np.shape(a)).cotangent, lower=lower))
defjvp(eigh_p, lambda t, ans, a, lower: _Eigh(ans, np.shape(a)).tangent(t, lower))


def _uplo(name: str, uplo: Any) -> bool:
    if uplo not in ("L", "U"):
        raise ValueError(f"{name}: UPLO must be 'L' or 'U', got {uplo!r}")
    return bool(uplo == "L")


def _eigh(a: Any, UPLO: str = "L") -> Any:
    raw = matrices("numpy.linalg.eigh", a, square=True)
    n = raw.shape[-1]
    w, v = unpack(eigh_p(a, _uplo("numpy.linalg.eigh", UPLO)), raw.shape[:-2], [(n,), (n, n)])
    # A complex Hermitian matrix has real eigenvalues (packed as complex beside the vectors).
    return _EighResult(np.real(w) if np.iscomplexobj(raw) else w, v)


def _eigvalsh(a: Any, UPLO: str = "L") -> Any:
    # The eigenvectors are computed too: the eigenvalues' own derivative rules need them.
    return _eigh(a, UPLO)[0]


register_function(np.linalg.eigh, _eigh)
register_function(np.linalg.eigvalsh, _eigvalsh)
# Complex Hermitian matrices: exact for the eigenvalues and for losses invariant under a phase
# of each eigenvector (|V|, V diag(f(w)) V^H, projectors); a loss that reads a vector's phase
# has no derivative (LAPACK's phase choice is not a smooth function of a).
defcomplex(eigh_p)


# -- general eigendecomposition: complex eigenvalues and eigenvectors -------------------------------
def _eig_impl(a: Any) -> Any:
    w, v = np.linalg.eig(a)
    kind = np.result_type(w.dtype, np.complex64)
    return pack([w.astype(kind), v.astype(kind)], np.shape(a)[:-2])


eig_p = Primitive("numpy.linalg.eig", _eig_impl)


class _Eig:
    """The factors of one recorded ``eig`` (complex, packed) and what both rules need.

    With ``P = V^-1 dA V`` (Giles 2008, section 3.1): ``dw = diag(P)`` and
    ``dV = V (F o P)``, ``F_ij = 1 / (w_j - w_i)`` off the diagonal, then each
    column's change along itself is removed in the real part, keeping NumPy's
    unit 2-norm columns. The phase of each column is a gauge NumPy's LAPACK
    fixes by a rule that is not smooth in ``a``: the rules take
    ``Im(v_j^H dv_j) = 0``, exact for losses invariant under those phases.
    """

    def __init__(self, ans: Any, shape: tuple[int, ...]):
        self.batch, n = shape[:-2], shape[-1]
        self.w, self.v = unpack(ans, self.batch, [(n,), (n, n)])
        plain_w = plain_array(self.w)
        scale = np.max(np.abs(plain_w), axis=-1) if n else np.zeros(self.batch)
        self.tied = tie_mask(plain_w, scale, _TIE_FACTOR * n)
        self.f = safe_inverse_gaps(self.w[..., None, :] - self.w[..., :, None], self.tied)

    def tangent(self, t: Any) -> Any:
        v = self.v
        p = np.linalg.solve(v, t @ v)
        dv = v @ (self.f * p)
        dv = dv - v * np.real(np.sum(np.conjugate(v) * dv, axis=-2))[..., None, :]
        return pack([_diagonal(p), dv], self.batch)

    def cotangent(self, g: Any) -> Any:
        n = np.shape(self.w)[-1]
        gw, gv = unpack(g, self.batch, [(n,), (n, n)])
        refuse_mixed_ties("numpy.linalg.eig", self.tied, gw, [gv])
        refuse_traced_ties("numpy.linalg.eig", self.tied, gw)
        v = self.v
        # Transposes, last step first: the normalization, V (F o .), then P = V^-1 dA V.
        c = np.real(np.sum(gv * v, axis=-2))
        h = gv - np.conjugate(v) * c[..., None, :]
        gp = _diag(gw) + self.f * (matrix_transpose(v) @ h)
        return np.linalg.solve(matrix_transpose(v), gp @ matrix_transpose(v))


defvjp(eig_p, lambda ans, a: _Eig(ans, np.shape(a)).cotangent)
defjvp(eig_p, lambda t, ans, a: _Eig(ans, np.shape(a)).tangent(t))
defcomplex(eig_p)


def _eig(a: Any) -> Any:
    raw = matrices("numpy.linalg.eig", a, square=True)
    n = raw.shape[-1]
    w, v = unpack(eig_p(a), raw.shape[:-2], [(n,), (n, n)])
    if not np.iscomplexobj(raw) and not any_set(np.imag(primal(w)) != 0):
        # As NumPy: a real matrix with real eigenvalues gets real results (and real
        # perturbations keep simple real eigenvalues real, so nothing is dropped). Under vmap
        # the choice is made for the whole batch, as NumPy makes it for a stack.
        w, v = np.real(w), np.real(v)
    return _EigResult(w, v)


def _eigvals(a: Any) -> Any:
    # The eigenvectors are computed too: the eigenvalues' derivative rules need them.
    return _eig(a)[0]


register_function(np.linalg.eig, _eig)
register_function(np.linalg.eigvals, _eigvals)
