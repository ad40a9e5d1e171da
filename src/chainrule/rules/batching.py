"""Batching rules (``chainrule.vmap``) of the primitives that are not elementwise, by family.

Ufuncs and broadcasting primitives batch without a rule (the engine lifts
their arguments to a common rank). The families of
:mod:`chainrule.extend.batching` cover reductions, scans, joins and linear
algebra; the few primitives with a structure of their own (``matmul``,
``einsum``, indexing, reshapes) have a rule here. What is left is batched by
the engine's loop over the examples and listed as "loop" in docs/coverage.md.
"""

from __future__ import annotations

import itertools
import string
from typing import Any

import numpy as np

from ..extend import (
    CAST,
    GETITEM,
    Primitive,
    axis_rule,
    batched_ndim,
    broadcast_batch,
    defbatch,
    joining_rule,
    leading_rule,
    lift_ndim,
    loop_rule,
    num_threads,
    primitive_for,
    run_parts,
    shift_axis,
)
from . import (
    complex_values,
    cumulative,
    decompositions,
    indexing,
    joining,
    linalg,
    polynomials,
    products,
    pseudoinverse,
    qr,
    reductions,
    shape,
    updates,
)

__all__: list[str] = []

Values = list[Any]
Flags = list[bool]
Kwargs = dict[str, Any]


# -- matmul: 1-D operands promoted to matrices, leading axes lifted ----------------------------
def _matmul_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    a, b = values
    ba, bb = batched
    na, nb = batched_ndim(a, ba), batched_ndim(b, bb)
    if ba and not bb and na == 1 and nb == 2:  # a batch of vectors times one matrix: one product
        return prim(a, b, **kwargs)
    if na == 1:
        a = np.expand_dims(a, -2)
    if nb == 1:
        b = np.expand_dims(b, -1)
    lead = max(na, nb, 2)
    if ba:
        a = lift_ndim(a, lead)
    if bb:
        b = lift_ndim(b, lead)
    # An outer product (per-example gradients of a layer's weights): the broadcast
    # product computes it without matmul's per-matrix overhead for one term.
    outer = np.shape(a)[-1] == 1 and not kwargs
    out = _outer_product(a, b) if outer else prim(a, b, **kwargs)
    if na == 1 and nb == 1:
        return np.squeeze(out, axis=(-2, -1))
    if na == 1:
        return np.squeeze(out, axis=-2)
    if nb == 1:
        return np.squeeze(out, axis=-1)
    return out


_matmul_rule.family = "products"  # type: ignore[attr-defined]

# Outer products at least this large are split over threads (by example).
PARALLEL_MIN_BYTES = 1 << 24


def _outer_product(a: Any, b: Any) -> Any:
    """``a * b`` for ``a`` of shape ``(n, m, 1)`` and ``b`` of ``(n, 1, k)``, on threads when large.

    The per-example gradients of a layer's weights are one such product (256
    examples of a 784 x 128 layer: 205 MB), and its cost is writing fresh memory:
    the operating system zeroes each new page on first touch, and one core does
    that at a fraction of the memory's bandwidth. Each thread multiplies a slice
    of the examples into its slice of the result: the same products, bit for bit.
    """
    threads = num_threads()
    if threads == 1 or type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim != b.ndim:
        return np.multiply(a, b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    dtype = np.result_type(a, b)
    if (
        dtype.kind not in "fc"
        or len(shape) < 3
        or shape[0] < threads
        or (int(np.prod(shape)) * dtype.itemsize < PARALLEL_MIN_BYTES)
    ):
        return np.multiply(a, b)
    out = np.empty(shape, dtype)
    cuts = [shape[0] * k // threads for k in range(threads + 1)]

    def part(lo: int, hi: int) -> Any:
        return lambda: np.multiply(
            a if a.shape[0] == 1 else a[lo:hi], b if b.shape[0] == 1 else b[lo:hi], out=out[lo:hi]
        )

    run_parts([part(lo, hi) for lo, hi in itertools.pairwise(cuts)])
    return out


# -- einsum: the batch axis gets a label of its own --------------------------------------------
def _einsum_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    spec = kwargs["spec"]
    if "->" not in spec or "." in spec:
        return loop_rule(size, prim, values, batched, kwargs)
    lhs, out = spec.split("->")
    label = next(c for c in string.ascii_letters if c not in spec)
    terms = [label + t if b else t for t, b in zip(lhs.split(","), batched)]
    return prim(*values, **{**kwargs, "spec": ",".join(terms) + "->" + label + out})


_einsum_rule.family = "products"  # type: ignore[attr-defined]


# -- indexing: the batch axis kept whole ---------------------------------------------------------
def _getitem_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    x, index = values
    if batched[1]:
        if type(index) is tuple:
            return loop_rule(size, prim, values, batched, kwargs)
        # One batched integer array: a gather, example j reading x[j][index[j]].
        data = broadcast_batch(x, batched[0], size)
        rows = np.arange(size).reshape((size,) + (1,) * (np.ndim(index) - 1))
        return prim(data, (rows, index))
    if not batched[0]:
        return loop_rule(size, prim, values, batched, kwargs)
    parts = index if isinstance(index, tuple) else (index,)
    arrays = [i for i, p in enumerate(parts) if isinstance(p, np.ndarray)]
    if any(parts[i].dtype == bool for i in arrays):
        return loop_rule(size, prim, values, batched, kwargs)
    out = prim(x, (slice(None), *parts))
    if arrays:
        # With an array among them, integers are advanced indices too (NumPy's rule); when
        # the advanced indices are not next to each other NumPy puts their axes first, in
        # front of the batch axis as well.
        advanced = [i for i, p in enumerate(parts) if isinstance(p, np.ndarray | int | np.integer)]
        if advanced[-1] - advanced[0] + 1 != len(advanced):
            adv_ndim = len(np.broadcast_shapes(*(np.shape(parts[i]) for i in advanced)))
            out = np.moveaxis(out, adv_ndim, 0)
    return out


_getitem_rule.family = "indexing"  # type: ignore[attr-defined]


# -- writes at an index: scatter-add (the transpose of indexing) and chainrule.at --------------
def _batched_index(shape: tuple[int, ...], index: Any) -> tuple[tuple[Any, ...], int, int | None] | None:
    """The index with the batch axis in front, the rank of its selection, where NumPy puts the batch axis.

    ``None`` for what the loop handles (boolean masks). The batch axis lands in
    front of the selection unless the advanced indices are not next to each
    other: NumPy then puts their axes first, so the batch axis follows them.
    """
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(p, np.ndarray) and p.dtype == bool for p in parts) or isinstance(index, bool):
        return None
    selected = np.broadcast_to(np.empty((), dtype=np.int8), shape)[index].shape
    where: int | None = None
    if any(isinstance(p, np.ndarray) for p in parts):
        advanced = [i for i, p in enumerate(parts) if isinstance(p, np.ndarray | int | np.integer)]
        if advanced[-1] - advanced[0] + 1 != len(advanced):
            where = len(np.broadcast_shapes(*(np.shape(parts[i]) for i in advanced)))
    return (slice(None), *parts), len(selected), where


def _values_for(v: Any, batched: bool, size: int, rank: int, where: int | None) -> Any:
    """Batched values to write: lifted to the selection's rank, the batch axis where NumPy puts it."""
    data = lift_ndim(broadcast_batch(v, batched, size), rank)
    return data if where is None else np.moveaxis(data, 0, where)


def _scatter_add_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    g, index, shape, dtype = values
    layout = None if any(batched[1:]) else _batched_index(tuple(shape), index)
    if layout is None:
        return loop_rule(size, prim, values, batched, kwargs)
    full, rank, where = layout
    return prim(_values_for(g, batched[0], size, rank, where), full, (size, *shape), dtype)


def _update_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    x, v, index = values
    layout = None if batched[2] else _batched_index(tuple(np.shape(x))[1 if batched[0] else 0 :], index)
    if layout is None:
        return loop_rule(size, prim, values, batched, kwargs)
    full, rank, where = layout
    data = broadcast_batch(x, batched[0], size)
    return prim(data, _values_for(v, batched[1], size, rank, where), full)


_scatter_add_rule.family = "indexing"  # type: ignore[attr-defined]
_update_rule.family = "indexing"  # type: ignore[attr-defined]


# -- shapes ------------------------------------------------------------------------------------
def _reshape_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    a, new_shape, *rest = values
    order = rest[0] if rest else kwargs.get("order", "C")
    if order != "C" or any(batched[1:]):
        return loop_rule(size, prim, values, batched, kwargs)
    return prim(a, (size, *new_shape), order)


def _transpose_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    a = values[0]
    axes = values[1] if len(values) > 1 else kwargs.get("axes")
    nd = batched_ndim(a, True)
    perm = (0, *range(nd, 0, -1)) if axes is None else (0, *(shift_axis(x, nd) for x in axes))
    return prim(a, perm)


def _broadcast_to_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    a, target = values[0], tuple(values[1])
    return prim(lift_ndim(a, len(target)), (size, *target))


def _pad_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    if not batched[0] or any(batched[1:]):
        return loop_rule(size, prim, values, batched, kwargs)
    a, pairs, *rest = values
    nd = batched_ndim(a, True)
    widths = np.broadcast_to(np.asarray(pairs, dtype=np.intp), (nd, 2))
    full = ((0, 0), *(tuple(int(w) for w in row) for row in widths))
    return prim(a, full, *rest, **kwargs)


def _roll_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    a, shift_by, *rest = values
    axis = rest[0] if rest else kwargs.get("axis")
    if not batched[0] or any(batched[1:]):
        return loop_rule(size, prim, values, batched, kwargs)
    if axis is None:  # the flattened example is rolled
        flat = np.reshape(a, (size, -1))
        return np.reshape(prim(flat, shift_by, 1), np.shape(a))
    return prim(a, shift_by, shift_axis(axis, batched_ndim(a, True)))


def _diag_embed_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    v, out_shape, offset, axis1, axis2 = values
    if not batched[0] or any(batched[1:]):
        return loop_rule(size, prim, values, batched, kwargs)
    nd = len(out_shape)
    return prim(v, (size, *out_shape), offset, shift_axis(axis1, nd), shift_axis(axis2, nd))


for _rule, _family in [
    (_reshape_rule, "shape"),
    (_transpose_rule, "shape"),
    (_broadcast_to_rule, "shape"),
    (_pad_rule, "shape"),
    (_roll_rule, "shape"),
    (_diag_embed_rule, "shape"),
]:
    _rule.family = _family  # type: ignore[attr-defined]


_LINALG = leading_rule(2)
_ELEMENTWISE = leading_rule(0)

_RULES: list[tuple[Any, Any]] = [
    (primitive_for(np.matmul), _matmul_rule),
    (products.einsum_p, _einsum_rule),
    (GETITEM, _getitem_rule),
    (indexing.scatter_add_p, _scatter_add_rule),
    (updates.set_p, _update_rule),
    (updates.add_p, _update_rule),
    (CAST, _ELEMENTWISE),
    (shape.reshape_p, _reshape_rule),
    (shape.transpose_p, _transpose_rule),
    (shape.broadcast_to_p, _broadcast_to_rule),
    (shape.pad_p, _pad_rule),
    (shape.roll_p, _roll_rule),
    (shape.flip_p, axis_rule("axis")),
    (products.diag_embed_p, _diag_embed_rule),
    (products.diagonal_p, axis_rule("axis1", "axis2")),
    (reductions.sum_p, axis_rule("axis")),
    (reductions.mean_p, axis_rule("axis")),
    (reductions.var_p, axis_rule("axis")),
    (reductions.std_p, axis_rule("axis")),
    (reductions.max_p, axis_rule("axis")),
    (reductions.min_p, axis_rule("axis")),
    (cumulative.prod_p, axis_rule("axis")),
    (cumulative.cumsum_p, axis_rule("axis")),
    (cumulative.cumprod_p, axis_rule("axis")),
    (cumulative.grow_p, axis_rule("axis")),
    (cumulative.shift_p, axis_rule("axis")),
    (linalg.vector_norm_p, axis_rule("axis")),
    (joining.concatenate_p, joining_rule(stacks=False)),
    (joining.stack_p, joining_rule(stacks=True)),
    (shape.triu_p, _LINALG),
    (shape.tril_p, _LINALG),
    (linalg.inv_p, _LINALG),
    (linalg.solve_p, _LINALG),
    (linalg.det_p, _LINALG),
    (linalg.logabsdet_p, _LINALG),
    (linalg.cholesky_p, _LINALG),
    (linalg.spectral_norm_p, _LINALG),
    (linalg.spectral_grad_p, _LINALG),
    (decompositions.svd_p, _LINALG),
    (decompositions.eigh_p, _LINALG),
    (decompositions.eig_p, _LINALG),
    (decompositions.singular_vectors_p, _LINALG),
    (decompositions.complex_svdvals_p, _LINALG),
    (qr.qr_p, _LINALG),
    (pseudoinverse.pinv_p, _LINALG),
    (polynomials.i0_p, _ELEMENTWISE),
    (polynomials.i1_p, _ELEMENTWISE),
    (complex_values.real_p, _ELEMENTWISE),
    (complex_values.imag_p, _ELEMENTWISE),
    (complex_values.angle_p, _ELEMENTWISE),
    (linalg.slogdet_sign_p, _LINALG),
]

for _prim, _r in _RULES:
    defbatch(_prim, _r, _r.family)
