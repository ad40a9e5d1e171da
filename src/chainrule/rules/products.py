"""Derivative rules of products: ``matmul``, ``einsum``, the ``dot`` family and diagonals.

Primitives and their rules
--------------------------
* ``matmul`` (the ufunc, also behind ``@``): ``dA = G B^T``, ``dB = A^T G``,
  with 1-D operands promoted and broadcast batch dimensions summed back.
* ``einsum``: the cotangent of operand ``k`` is itself an einsum of the
  cotangent with the other operands. Labels that only operand ``k`` carries
  (summed inside it) are restored by broadcasting; repeated labels
  (``'ii->i'``) put the cotangent back on the diagonal.
* ``diagonal`` and its adjoint ``diag_embed`` (the diagonal written into
  zeros): the pair behind ``np.diagonal``, ``np.diag`` and ``np.trace``.

``dot``, ``inner``, ``outer``, ``vdot``, ``tensordot``, ``kron`` and ``trace``
are exact compositions of these with ``reshape``/``transpose``/``multiply``, so
a 2-D ``dot`` costs the same as ``@``.
"""

from __future__ import annotations

import functools
import math
import operator
import string
from collections import Counter
from typing import Any

import numpy as np

from ..extend import (
    Primitive,
    astype,
    defjvp,
    deflinear,
    defvariadic,
    defvjp,
    primal,
    raw_array,
    refuse_out,
    register_function,
    unbroadcast,
)
from .linalg_helpers import matrix_transpose

__all__ = ["diag_embed_p", "diagonal_p", "einsum_p"]


# -- matmul ------------------------------------------------------------------
def _matmul_vjp_a(ans: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 2 and np.ndim(b) == 2:
        return lambda g: g @ b.T
    return lambda g: _matmul_grads(g, a, b, 0)


def _matmul_vjp_b(ans: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 2 and np.ndim(b) == 2:
        return lambda g: a.T @ g
    return lambda g: _matmul_grads(g, a, b, 1)


def _matmul_grads(g: Any, a: Any, b: Any, which: int) -> Any:
    """Cotangent of ``a`` (which=0) or ``b`` for 1-D and batched operands."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 1 and b_nd == 1:
        return g * (b if which == 0 else a)
    A = a if a_nd > 1 else np.reshape(a, (1, -1))
    B = b if b_nd > 1 else np.reshape(b, (-1, 1))
    gshape = np.shape(g)
    if a_nd == 1:
        gshape = (*gshape[:-1], 1, *gshape[-1:]) if b_nd > 1 else (*gshape, 1)
    if b_nd == 1:
        gshape = (*gshape, 1)
    G = np.reshape(g, gshape) if gshape != np.shape(g) else g
    if which == 0:
        r = unbroadcast(G @ matrix_transpose(B), np.shape(A))
        return np.reshape(r, np.shape(a))
    r = unbroadcast(matrix_transpose(A) @ G, np.shape(B))
    return np.reshape(r, np.shape(b))


defvjp(np.matmul, _matmul_vjp_a, _matmul_vjp_b)
defjvp(np.matmul, lambda t, ans, a, b: t @ b, lambda t, ans, a, b: a @ t)


# -- einsum ------------------------------------------------------------------
_LETTERS = string.ascii_letters


@functools.lru_cache(maxsize=1024)
def _parse_einsum(subscripts: str, ndims: tuple[int, ...]) -> str:
    """The explicit form of ``subscripts``: ellipses spelled out, output given."""
    s = subscripts.replace(" ", "")
    explicit = "->" in s
    lhs, out = s.split("->") if explicit else (s, "")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"numpy.einsum: the subscripts {subscripts!r} name {len(terms)} operand(s), "
            f"but {len(ndims)} were given"
        )
    for c in s.replace("...", "").replace("->", "").replace(",", ""):
        if c not in _LETTERS:
            raise ValueError(f"numpy.einsum: invalid subscript {c!r} in {subscripts!r}")
    used = set(s)
    fresh = [c for c in _LETTERS if c not in used]
    ell_dims = []
    for term, nd in zip(terms, ndims, strict=True):
        nlab = len(term.replace("...", ""))
        if "..." in term:
            ell_dims.append(nd - nlab)
        elif nlab != nd:
            raise ValueError(
                f"numpy.einsum: the subscripts {term!r} have {nlab} label(s) for an operand "
                f"with {nd} dimension(s)"
            )
        else:
            ell_dims.append(0)
    n_ell = max(ell_dims, default=0)
    ell = "".join(fresh[:n_ell])
    terms = [t.replace("...", ell[n_ell - e :]) for t, e in zip(terms, ell_dims, strict=True)]
    if explicit:
        if "..." in out:
            out = out.replace("...", ell)
        elif n_ell:
            raise ValueError(
                f"numpy.einsum: {subscripts!r} has an ellipsis in its operands but not in its output"
            )
    else:
        counts = Counter("".join(terms))
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return ",".join(terms) + "->" + out


@functools.lru_cache(maxsize=1024)
def _einsum_vjp_plan(spec: str, k: int, shapes: tuple[tuple[int, ...], ...]) -> tuple[Any, ...]:
    """How to build operand ``k``'s cotangent from the output cotangent."""
    lhs, out = spec.split("->")
    terms = lhs.split(",")
    term = terms[k]
    others = [t for j, t in enumerate(terms) if j != k]
    size: dict[str, int] = {}
    for t, shp in zip(terms, shapes, strict=True):
        for c, n in zip(t, shp, strict=True):
            size[c] = max(size.get(c, 1), n)
    own = dict(zip(term, shapes[k], strict=True))
    uniq = "".join(dict.fromkeys(term))
    elsewhere = set(out).union(*others)
    # Labels the output or another operand carries; the others (summed inside
    # operand k, or size 1 in it against a broadcast partner) are restored by
    # broadcasting.
    keep = "".join(c for c in uniq if c in elsewhere and not (own[c] == 1 and size[c] != 1))
    r_spec = ",".join([out, *others]) + "->" + keep
    full = tuple(own[c] for c in uniq)
    diag_spec = None
    eye_sizes: tuple[int, ...] = ()
    if len(uniq) < len(term):
        unused = iter(c for c in _LETTERS if c not in size)
        relabelled = []
        eyes = []
        seen: set[str] = set()
        for c in term:
            if c in seen:
                f = next(unused)
                relabelled.append(f)
                eyes.append(c + f)
            else:
                seen.add(c)
                relabelled.append(c)
        diag_spec = ",".join([uniq, *eyes]) + "->" + "".join(relabelled)
        eye_sizes = tuple(own[e[0]] for e in eyes)
    return r_spec, uniq, keep, full, diag_spec, eye_sizes


def _einsum_impl(*operands: Any, spec: str, optimize: Any = False) -> Any:
    return np.einsum(spec, *operands, optimize=optimize)


einsum_p = Primitive("numpy.einsum", _einsum_impl)


def _einsum_vjp(
    argnums: tuple[int, ...], ans: Any, *operands: Any, spec: str, optimize: Any = False
) -> list[Any]:
    return [_einsum_vjp_one(k, operands, spec, optimize) for k in argnums]


def _einsum_vjp_one(k: int, operands: tuple[Any, ...], spec: str, optimize: Any) -> Any:
    shapes = tuple(np.shape(op) for op in operands)
    r_spec, uniq, keep, full, diag_spec, eye_sizes = _einsum_vjp_plan(spec, k, shapes)
    others = [op for j, op in enumerate(operands) if j != k]

    def vjp(g: Any) -> Any:
        r = einsum_p(g, *others, spec=r_spec, optimize=optimize)
        rshape = np.shape(r)
        if len(keep) < len(uniq):
            sizes = dict(zip(keep, rshape, strict=True))
            mid = tuple(sizes.get(c, 1) for c in uniq)
            r = np.reshape(r, mid)
            rshape = mid
        if rshape != full:
            r = np.broadcast_to(r, full)
        if diag_spec is not None:
            dtype = primal(r).dtype
            eyes = [np.eye(n, dtype=dtype) for n in eye_sizes]
            r = einsum_p(r, *eyes, spec=diag_spec, optimize=optimize)
        return r

    return vjp


def _einsum_jvp(argnums: tuple[int, ...], tangents: tuple[Any, ...], ans: Any, *operands: Any, spec: str,
                optimize: Any = False) -> Any:  # fmt: skip
    # Multilinear: the tangent is the sum over operands of einsum with that operand's tangent.
    total = None
    for k, t in zip(argnums, tangents):
        ops = list(operands)
        ops[k] = t
        term = einsum_p(*ops, spec=spec, optimize=optimize)
        total = term if total is None else total + term
    return total


defvariadic(einsum_p, _einsum_vjp, _einsum_jvp)


def _sublist_to_str(sub: Any) -> str:
    # Integer labels 0-25 and 26-51 map to 'A'-'Z' and 'a'-'z', which keeps
    # their order in NumPy's implicit (sorted) output.
    parts = []
    for s in sub:
        if s is Ellipsis:
            parts.append("...")
        else:
            i = operator.index(s)
            if not 0 <= i < 52:
                raise ValueError(f"numpy.einsum: subscript {i} is outside [0, 52)")
            parts.append(string.ascii_uppercase[i] if i < 26 else string.ascii_lowercase[i - 26])
    return "".join(parts)


def _einsum(*operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Any:
    refuse_out("numpy.einsum", out)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("order", None)
    kwargs.pop("casting", None)
    if kwargs:
        raise TypeError(f"chainrule's numpy.einsum does not support {sorted(kwargs)} on traced values")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], operands[1:]
    else:
        ops = operands[0::2]
        subs = [_sublist_to_str(s) for s in operands[1::2]]
        if len(operands) % 2:
            ops = ops[:-1]
            subscripts = ",".join(subs) + "->" + _sublist_to_str(operands[-1])
        else:
            subscripts = ",".join(subs)
    if dtype is not None:
        ops = tuple(astype(op, dtype) for op in ops)
    spec = _parse_einsum(subscripts, tuple(np.ndim(op) for op in ops))
    return einsum_p(*ops, spec=spec, optimize=optimize)


register_function(np.einsum, _einsum)


# -- products built on matmul ------------------------------------------------
def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    a_shape, b_shape = np.shape(a), np.shape(b)
    if isinstance(axes, int | np.integer):
        n = int(axes)
        axes_a = list(range(a_nd - n, a_nd))
        axes_b = list(range(n))
    else:
        axes_a, axes_b = axes
        axes_a = [int(axes_a)] if isinstance(axes_a, int | np.integer) else list(axes_a)
        axes_b = [int(axes_b)] if isinstance(axes_b, int | np.integer) else list(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError("numpy.tensordot: shape-mismatch for sum (axes of different lengths)")
    axes_a = [int(ax) % max(a_nd, 1) for ax in axes_a]
    axes_b = [int(ax) % max(b_nd, 1) for ax in axes_b]
    for i, j in zip(axes_a, axes_b, strict=True):
        if a_shape[i] != b_shape[j]:
            raise ValueError("numpy.tensordot: shape-mismatch for sum")
    free_a = [i for i in range(a_nd) if i not in axes_a]
    free_b = [j for j in range(b_nd) if j not in axes_b]
    k = math.prod(a_shape[i] for i in axes_a)
    perm_a = free_a + axes_a
    perm_b = axes_b + free_b
    if perm_a != list(range(a_nd)):
        a = np.transpose(a, perm_a)
    if perm_b != list(range(b_nd)):
        b = np.transpose(b, perm_b)
    out_shape = tuple(a_shape[i] for i in free_a) + tuple(b_shape[j] for j in free_b)
    a2 = np.reshape(a, (-1, k))
    b2 = np.reshape(b, (k, -1))
    return np.reshape(a2 @ b2, out_shape)


def _dot(a: Any, b: Any, out: Any = None) -> Any:
    refuse_out("numpy.dot", out)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return np.multiply(a, b)
    if (a_nd <= 2 and b_nd <= 2) or a_nd == 1:
        return np.matmul(a, b)
    if b_nd == 1:
        # (..., n) . (n,): one matrix-vector product.
        return np.reshape(np.reshape(a, (-1, np.shape(a)[-1])) @ b, np.shape(a)[:-1])
    return _tensordot(a, b, ([a_nd - 1], [b_nd - 2]))


def _inner(a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return np.matmul(a, b)
    return _tensordot(a, b, ([-1], [-1]))


def _outer(a: Any, b: Any, out: Any = None) -> Any:
    refuse_out("numpy.outer", out)
    return np.reshape(a, (-1, 1)) * np.reshape(b, (1, -1))


def _vdot(a: Any, b: Any) -> Any:
    # vdot conjugates its first argument: conj(a) . b, flattened (not holomorphic in a).
    if np.iscomplexobj(raw_array(a)):
        a = np.conjugate(a)
    return np.matmul(np.reshape(a, (-1,)), np.reshape(b, (-1,)))


def _kron(a: Any, b: Any) -> Any:
    a_shape, b_shape = np.shape(a), np.shape(b)
    nd = max(len(a_shape), len(b_shape))
    a_shape = (1,) * (nd - len(a_shape)) + a_shape
    b_shape = (1,) * (nd - len(b_shape)) + b_shape
    # a[i, j] * b[k, l] laid out as (i, k, j, l), then merged pairwise.
    a_int = tuple(x for n in a_shape for x in (n, 1))
    b_int = tuple(x for n in b_shape for x in (1, n))
    prod = np.reshape(a, a_int) * np.reshape(b, b_int)
    return np.reshape(prod, tuple(m * n for m, n in zip(a_shape, b_shape, strict=True)))


register_function(np.tensordot, _tensordot)
register_function(np.dot, _dot)
register_function(np.inner, _inner)
register_function(np.outer, _outer)
register_function(np.vdot, _vdot)
register_function(np.kron, _kron)


# -- diagonals ---------------------------------------------------------------
def _diagonal_impl(a: Any, offset: int, axis1: int, axis2: int) -> Any:
    return np.diagonal(a, offset, axis1, axis2)


def _diag_embed_impl(v: Any, shape: tuple[int, ...], offset: int, axis1: int, axis2: int) -> Any:
    out = np.zeros(shape, dtype=v.dtype)
    n = np.shape(v)[-1]
    rows = np.arange(n) - min(offset, 0)
    cols = np.arange(n) + max(offset, 0)
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    view[..., rows, cols] = v
    return out


diagonal_p = Primitive("numpy.diagonal", _diagonal_impl)
diag_embed_p = Primitive("diag_embed", _diag_embed_impl)
# Linear, and each the other's transpose.
deflinear(
    diagonal_p,
    lambda ans, a, offset, axis1, axis2: lambda g: diag_embed_p(g, np.shape(a), offset, axis1, axis2),
)
deflinear(
    diag_embed_p, lambda ans, v, shape, offset, axis1, axis2: lambda g: diagonal_p(g, offset, axis1, axis2)
)


def _diag_axes(nd: int, axis1: int, axis2: int) -> tuple[int, int]:
    a1, a2 = axis1 % nd, axis2 % nd
    if a1 == a2:
        raise ValueError("axis1 and axis2 cannot be the same")
    return a1, a2


def _diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    a1, a2 = _diag_axes(np.ndim(a), axis1, axis2)
    return diagonal_p(a, int(offset), a1, a2)


def _trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    refuse_out("numpy.trace", out)
    return np.sum(_diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def _diag(v: Any, k: int = 0) -> Any:
    nd = np.ndim(v)
    k = int(k)
    if nd == 1:
        n = np.shape(v)[0] + abs(k)
        return diag_embed_p(v, (n, n), k, 0, 1)
    if nd == 2:
        return diagonal_p(v, k, 0, 1)
    raise ValueError("numpy.diag: input must be 1- or 2-d.")


register_function(np.diagonal, _diagonal)
register_function(np.trace, _trace)
register_function(np.diag, _diag)
register_function(np.linalg.diagonal, lambda x, /, *, offset=0: _diagonal(x, offset, -2, -1))
register_function(
    np.linalg.trace,
    lambda x, /, *, offset=0, dtype=None: _trace(x, offset, -2, -1, dtype=dtype),
)
