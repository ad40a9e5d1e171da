"""Triangular solves and the factorizations built on them: ``solve_triangular``,
``cho_factor``/``cho_solve``, ``lu_factor``/``lu_solve``, ``solve_banded``.

``solve_triangular`` is the one primitive: ``x = op(T)^{-1} b`` with ``T`` the
triangle of ``a`` that SciPy reads (the strict one with ``unit_diagonal``),
``op`` the identity or the transpose. Its cotangents are
``b_bar = op(T)^{-T} g`` and ``T_bar = -(b_bar x^T)`` (transposed when
``op`` is), restricted to the triangle read; its rules are written with the
primitive itself, so every order follows.

* ``cho_factor(a, lower)`` reads one triangle of ``a``, as SciPy does (the
  other gets no gradient), and returns the factor with zeros in the other
  triangle (SciPy leaves unspecified values there).
* ``lu_factor`` is a primitive on the packed ``L - I + U`` with the pivots of
  the value (piecewise constant, a plain array). With ``P^T A = L U``,
  ``F = L^{-1} P^T dA U^{-1}`` gives ``dL = L tril(F, -1)``, ``dU = triu(F) U``;
  the reverse rule is its transpose.
* ``solve_banded`` differentiates through the dense matrix of the band (the
  band storage is a linear gather): exact, but ``O(n^3)`` instead of
  SciPy's ``O(n)`` when traced; plain calls go to SciPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy
import scipy.linalg as sla

from ...extend import (
    Primitive,
    UnsupportedOperationError,
    broadcast_batch,
    contains_tracer,
    defbatch,
    defcomplex,
    defjvp,
    defvjp,
    is_batched,
    loop_rule,
    primal,
    refuse_complex,
)
from ._common import mT, real_square, trans_flag

__all__ = ["cho_factor", "cho_solve", "lu_factor", "lu_solve", "solve_banded", "solve_triangular"]


def _tri_impl(a: Any, b: Any, trans: int, lower: bool, unit: bool) -> Any:
    return sla.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)


solve_triangular_p = Primitive("scipy.linalg.solve_triangular", _tri_impl)
defcomplex(solve_triangular_p)  # rules with transposes, never conjugates: JAX's convention

# SciPy 1.16 and later solve stacks ("batched linear operations"); before, once per example.
_SCIPY_STACKS = tuple(int(part) for part in scipy.__version__.split(".")[:2]) >= (1, 16)


def _tri_batch_rule(
    size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
) -> Any:
    """The examples' triangular solves in one SciPy call, a right-hand side vector made a column."""
    a, b, *flags = values
    if not _SCIPY_STACKS or any(batched[2:]) or np.ndim(a) - batched[0] != 2:
        return loop_rule(size, prim, values, batched, kwargs)
    vector = np.ndim(b) - batched[1] == 1
    a, b = broadcast_batch(a, batched[0], size), broadcast_batch(b, batched[1], size)
    if vector:  # a stack of vectors (B, n) would be read as one matrix: columns instead
        return prim(a, b[..., None], *flags)[..., 0]
    return prim(a, b, *flags)


defbatch(solve_triangular_p, _tri_batch_rule, "leading axes" if _SCIPY_STACKS else "loop")


def _as_matrix(x: Any) -> Any:
    return np.reshape(x, (*np.shape(x), 1)) if np.ndim(x) == 1 else x


def _triangle(x: Any, lower: bool, unit: bool) -> Any:
    if lower:
        return np.tril(x, -1 if unit else 0)
    return np.triu(x, 1 if unit else 0)


def _tri_a_bar(ans: Any, a: Any, b: Any, trans: int, lower: bool, unit: bool) -> Any:
    def a_bar(g: Any) -> Any:
        b_bar = _as_matrix(solve_triangular_p(a, g, 1 - trans, lower, unit))
        x = _as_matrix(ans)
        eff = -(b_bar @ mT(x)) if trans == 0 else -(x @ mT(b_bar))
        return _triangle(eff, lower, unit)

    return a_bar


def _tri_a_dot(t: Any, ans: Any, a: Any, b: Any, trans: int, lower: bool, unit: bool) -> Any:
    dt = _triangle(t, lower, unit)
    if trans:
        dt = mT(dt)
    rhs = dt @ _as_matrix(ans)
    if np.ndim(ans) == 1:
        rhs = np.reshape(rhs, np.shape(ans))
    return -solve_triangular_p(a, rhs, trans, lower, unit)


defvjp(
    solve_triangular_p,
    _tri_a_bar,
    lambda ans, a, b, trans, lower, unit: lambda g: solve_triangular_p(a, g, 1 - trans, lower, unit),
)
defjvp(
    solve_triangular_p,
    _tri_a_dot,
    lambda t, ans, a, b, trans, lower, unit: solve_triangular_p(a, t, trans, lower, unit),
)


def _check_rhs(name: str, a: Any, b: Any, *, complex_ok: bool = False) -> None:
    if not complex_ok:
        refuse_complex(name, b)
    n = np.shape(a)[-1]
    if np.ndim(b) == 0 or (np.shape(b)[0] if np.ndim(b) == 1 else np.shape(b)[-2]) != n:
        raise ValueError(f"{name}: b of shape {np.shape(b)} does not match a of shape {np.shape(a)}")


def solve_triangular(
    a: Any,
    b: Any,
    trans: Any = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve ``op(a) x = b`` for a triangular ``a``, as :func:`scipy.linalg.solve_triangular`.

    Only the triangle SciPy reads carries a derivative (the other gets 0).
    ``overwrite_b`` and ``check_finite`` are accepted and ignored (nothing is
    overwritten).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> a = np.array([[2.0, 1.0], [0.0, 4.0]])
    >>> cr.grad(lambda b: np.sum(solve_triangular(a, b)))(np.ones(2)).tolist()
    [0.5, 0.125]
    """
    name = "chainrule.scipy.linalg.solve_triangular"
    real_square(name, a, complex_ok=True)
    _check_rhs(name, a, b, complex_ok=True)
    flag = trans_flag(name, trans)
    if flag == 2:  # the conjugate transpose: conj(a) transposed (conj has its own rule)
        a, flag = (np.conj(a) if np.iscomplexobj(a) else a), 1
    return solve_triangular_p(a, b, flag, bool(lower), bool(unit_diagonal))


def cho_factor(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> tuple[Any, bool]:
    """The Cholesky factor of ``a`` and ``lower``, as :func:`scipy.linalg.cho_factor`.

    Reads the ``lower`` (or upper) triangle of ``a`` only, as SciPy does; the
    other triangle of the factor is 0 (SciPy leaves unspecified values there).

    >>> import numpy as np
    >>> c, low = cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]))
    >>> c.tolist(), low
    ([[2.0, 1.0], [0.0, 2.0]], False)
    """
    name = "chainrule.scipy.linalg.cho_factor"
    real_square(name, a)
    if lower:
        sym = np.tril(a) + mT(np.tril(a, -1))
        return np.linalg.cholesky(sym), True
    sym = np.triu(a) + mT(np.triu(a, 1))
    return mT(np.linalg.cholesky(sym)), False


def cho_solve(
    c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """Solve ``a x = b`` from ``cho_factor(a)``, as :func:`scipy.linalg.cho_solve`.

    >>> import numpy as np
    >>> a = np.array([[4.0, 2.0], [2.0, 5.0]])
    >>> bool(np.allclose(cho_solve(cho_factor(a), np.ones(2)), np.linalg.solve(a, np.ones(2))))
    True
    """
    name = "chainrule.scipy.linalg.cho_solve"
    c, lower = c_and_lower
    real_square(name, c)
    _check_rhs(name, c, b)
    if lower:  # L L^T x = b
        return solve_triangular_p(c, solve_triangular_p(c, b, 0, True, False), 1, True, False)
    # U^T U x = b
    return solve_triangular_p(c, solve_triangular_p(c, b, 1, False, False), 0, False, False)


def _perm(piv: np.ndarray) -> np.ndarray:
    """The row order ``perm`` with ``a[perm] = L U`` from LAPACK's sequential swaps."""
    perm = np.arange(piv.shape[-1])
    for i, p in enumerate(piv):
        perm[i], perm[p] = perm[p], perm[i]
    return perm


def _refuse_batched(name: str, *values: Any) -> None:
    """The pivots are plain integers computed per matrix: under vmap they would differ by example."""
    if any(is_batched(v) for v in values):
        raise UnsupportedOperationError(
            f"{name} under chainrule.vmap: its pivots (plain integers) differ by example, and the "
            "factorization's rules permute rows by them, so it cannot be batched. Use "
            "numpy.linalg.solve (batched, with derivatives), or loop over the examples in Python."
        )


lu_p = Primitive("scipy.linalg.lu_factor", lambda a: sla.lu_factor(a)[0])


def _right_u_inverse(lu: Any, x: Any) -> Any:
    """``x U^{-1}``."""
    return mT(solve_triangular_p(lu, mT(x), 1, False, False))


def _right_u_inverse_t(lu: Any, x: Any) -> Any:
    """``x U^{-T}``."""
    return mT(solve_triangular_p(lu, mT(x), 0, False, False))


def _lu_factors(lu: Any) -> tuple[Any, Any]:
    n = np.shape(lu)[-1]
    return np.tril(lu, -1) + np.eye(n), np.triu(lu)


def _lu_jvp(t: Any, ans: Any, a: Any) -> Any:
    perm = _perm(sla.lu_factor(np.asarray(primal(a)))[1])
    low, up = _lu_factors(ans)
    f = _right_u_inverse(ans, solve_triangular_p(ans, t[perm], 0, True, True))
    return low @ np.tril(f, -1) + np.triu(f) @ up


def _lu_vjp(ans: Any, a: Any) -> Any:
    perm = _perm(sla.lu_factor(np.asarray(primal(a)))[1])
    inverse = np.argsort(perm)

    def a_bar(g: Any) -> Any:
        low, up = _lu_factors(ans)
        f_bar = np.tril(mT(low) @ np.tril(g, -1), -1) + np.triu(np.triu(g) @ mT(up))
        permuted = _right_u_inverse_t(ans, solve_triangular_p(ans, f_bar, 1, True, True))
        return permuted[inverse]

    return a_bar


defvjp(lu_p, _lu_vjp)
defjvp(lu_p, _lu_jvp)


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Any, np.ndarray]:
    """The packed LU factorization ``(lu, piv)`` of a square ``a``, as :func:`scipy.linalg.lu_factor`.

    ``lu`` is differentiable; ``piv`` is a plain integer array (the pivots are
    piecewise constant). Needs a matrix whose leading minors (after pivoting)
    are nonsingular.

    >>> import numpy as np
    >>> lu, piv = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> lu.round(4).tolist(), piv.tolist()
    ([[3.0, 4.0], [0.3333, 0.6667]], [1, 1])
    """
    name = "chainrule.scipy.linalg.lu_factor"
    _refuse_batched(name, a)
    real_square(name, a)
    if np.ndim(a) != 2:
        raise ValueError(f"{name}: expected one square matrix, got shape {np.shape(a)}")
    piv = sla.lu_factor(np.asarray(primal(a)))[1]
    return lu_p(a), piv


def lu_solve(
    lu_and_piv: tuple[Any, Any], b: Any, trans: Any = 0, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """Solve ``a x = b`` (``trans=1``: ``a^T x = b``) from ``lu_factor(a)``, as :func:`scipy.linalg.lu_solve`.

    >>> import numpy as np
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> lu_solve(lu_factor(a), np.array([5.0, 6.0])).round(6).tolist()
    [-4.0, 4.5]
    """
    name = "chainrule.scipy.linalg.lu_solve"
    lu, piv = lu_and_piv
    _refuse_batched(name, lu, piv)
    real_square(name, lu)
    _check_rhs(name, lu, b)
    perm = _perm(np.asarray(piv))
    if trans_flag(name, trans) == 0:  # ('C' is 'T': real matrices only here)  # L U x = b[perm]
        y = solve_triangular_p(lu, b[perm], 0, True, True)
        return solve_triangular_p(lu, y, 0, False, False)
    # U^T L^T (x[perm]) = b
    w = solve_triangular_p(lu, solve_triangular_p(lu, b, 1, False, False), 1, True, True)
    return w[np.argsort(perm)]


def solve_banded(
    l_and_u: tuple[int, int],
    ab: Any,
    b: Any,
    overwrite_ab: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve ``a x = b`` for ``a`` in band storage ``ab``, as :func:`scipy.linalg.solve_banded`.

    ``ab[u + i - j, j] = a[i, j]``. Traced calls solve the dense matrix of the
    band (exact derivatives in ``ab`` and ``b``, ``O(n^3)``); plain calls go
    to SciPy.

    >>> import numpy as np
    >>> ab = np.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0], [1.0, 1.0, 0.0]])
    >>> bool(np.allclose(solve_banded((1, 1), ab, np.ones(3)), [3 / 14, 1 / 7, 3 / 14]))
    True
    """
    name = "chainrule.scipy.linalg.solve_banded"
    refuse_complex(name, ab, b)
    low, up = (int(k) for k in l_and_u)
    if np.ndim(ab) != 2 or np.shape(ab)[0] != low + up + 1:
        raise ValueError(
            f"{name}: ab must have shape ({low + up + 1}, n) for (l, u) = {(low, up)}, got {np.shape(ab)}"
        )
    if not contains_tracer(ab) and not contains_tracer(b):
        return sla.solve_banded((low, up), ab, b)
    n = np.shape(ab)[1]
    i, j = np.indices((n, n))
    row = up + i - j
    inside = (row >= 0) & (row <= low + up)
    dense = np.where(inside, ab[np.clip(row, 0, low + up), j], 0.0)
    return np.linalg.solve(dense, b)
