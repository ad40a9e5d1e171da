"""Jacobians and Hessians from the two modes: ``jacrev``, ``jacfwd``, ``jacobian``, ``hessian``, ``hvp``.

A Jacobian of ``f: R^n -> R^m`` is ``m`` backward sweeps (``jacrev``, one
per output element) or ``n`` forward passes (``jacfwd``, one per input
element), run as one sweep or pass over a batch of unit vectors
(:func:`~chainrule.vmap`); ``jacobian`` picks the smaller batch. For an input leaf of shape ``I`` and
an output leaf of shape ``O`` the block has shape ``O + I``. With pytrees the
result nests the input tree inside the output tree, as in JAX.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine.value_checks import is_complex
from ..errors import ComplexValueError, InPlaceError, TracerConversionError, UnsupportedOperationError
from ..pytree import tree_flatten, tree_unflatten
from .arguments import function_name, normalize_argnums, resolve_argnum, single_argnum
from .forward import jvp
from .reverse import grad, vjp
from .vectorizing import vmap

__all__ = ["hessian", "hvp", "jacfwd", "jacobian", "jacrev"]


def _partial(f: Callable[..., Any], args: tuple[Any, ...], nums: tuple[int, ...]) -> Callable[..., Any]:
    def g(*diff_args: Any) -> Any:
        full = list(args)
        for n, a in zip(nums, diff_args):
            full[n] = a
        return f(*full)

    g.__qualname__ = g.__name__ = function_name(f)  # errors name the user's function
    return g


def _identity_blocks(leaves: list[tuple[tuple[int, ...], Any]]) -> list[np.ndarray]:
    """The rows of the identity over all elements of ``leaves`` (shape, dtype), cut into one block per leaf.

    Block ``k`` has shape ``(total,) + shape_k``: row ``i`` is the ``i``-th unit
    vector of the concatenated leaves, seen in leaf ``k`` (zero outside it).
    """
    sizes = [int(np.prod(shape)) for shape, _ in leaves]
    total = sum(sizes)
    blocks, start = [], 0
    for (shape, dtype), n in zip(leaves, sizes):
        block = np.zeros((total, n), dtype=dtype)
        block[start : start + n] = np.eye(n, dtype=dtype)
        blocks.append(block.reshape((total, *shape)))
        start += n
    return blocks


def _batched(fn: Callable[..., Any], basis: list[np.ndarray], pair: bool = False) -> Any:
    """``vmap(fn)`` over the rows of ``basis``; a loop over them where a rule cannot batch.

    A few rules compute piecewise-constant parts with Python branches on values
    (a histogram's edges, NaN-skipping quantiles); their derivatives are still
    exact one unit vector at a time. ``pair``: ``fn`` returns ``(value, batched)``,
    the value the same for every row.
    """
    try:
        return vmap(fn, out_axes=(None, 0) if pair else 0)(*basis)
    except (UnsupportedOperationError, TracerConversionError, InPlaceError):
        pass
    results = [fn(*(b[j] for b in basis)) for j in range(len(basis[0]))]
    rows = [r[1] for r in results] if pair else results
    leaves = [tree_flatten(r)[0] for r in rows]
    stacked = tree_unflatten(tree_flatten(rows[0])[1], [np.stack(parts) for parts in zip(*leaves)])
    return (results[0][0], stacked) if pair else stacked


def _result_dtype(x: Any) -> Any:
    # A Python number is float64, as it is when differentiated (np.result_type(1.0,
    # np.float32) would be float32 under NumPy 2's promotion rules).
    return x.dtype if hasattr(x, "dtype") else np.result_type(np.asarray(x), np.float64)


def _assemble(
    out_leaves: list[Any],
    out_def: Any,
    in_leaves: list[list[Any]],
    in_defs: list[Any],
    blocks: dict[tuple[int, int, int], Any],
    single_arg: bool,
) -> Any:
    """Nest per-(output leaf, argument, input leaf) blocks into the result tree."""
    per_out = []
    for o in range(len(out_leaves)):
        per_arg = []
        for a, (leaves, tdef) in enumerate(zip(in_leaves, in_defs)):
            per_arg.append(tree_unflatten(tdef, [blocks[o, a, k] for k in range(len(leaves))]))
        per_out.append(per_arg[0] if single_arg else tuple(per_arg))
    return tree_unflatten(out_def, per_out)


def _check_complex(
    name: str, holomorphic: bool, inputs: Sequence[Any], outputs: Sequence[Any] | None
) -> None:
    """JAX's rules for complex Jacobians: ``holomorphic`` needs complex inputs and outputs;
    otherwise forward mode needs real inputs and reverse mode real outputs (a column or row
    per real direction would leave out the imaginary one)."""

    def complex_leaf(xs: Sequence[Any]) -> Any:
        return next((x for x in xs if is_complex(x)), None)

    def real_leaf(xs: Sequence[Any]) -> Any:
        return next((x for x in xs if not is_complex(x)), None)

    if holomorphic:
        for what, xs in (("inputs", inputs), ("outputs", outputs or ())):
            bad = real_leaf(xs)
            if bad is not None:
                raise ComplexValueError(
                    f"{name}(..., holomorphic=True) needs complex {what}, but one is a "
                    f"{type(bad).__name__} of dtype {getattr(bad, 'dtype', None)}. Use complex "
                    "values (x.astype(complex)), or drop holomorphic=True."
                )
        return
    if outputs is None:
        bad = complex_leaf(inputs)
        if bad is not None:
            raise ComplexValueError(
                f"{name} needs real inputs, but one is complex ({np.result_type(bad)}). For a "
                "holomorphic function pass holomorphic=True; otherwise use chainrule.jvp with "
                "complex tangents, or chainrule.jacrev for a real-valued function."
            )
    else:
        bad = complex_leaf(outputs)
        if bad is not None:
            raise ComplexValueError(
                f"{name} needs real outputs, but one is complex ({np.result_type(bad)}). For a "
                "holomorphic function pass holomorphic=True; otherwise use chainrule.vjp with "
                "complex cotangents, or differentiate np.real(f) and np.imag(f) separately."
            )


def jacrev(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    holomorphic: bool = False,
    *,
    argnum: int | None = None,
) -> Callable[..., Any]:
    """The Jacobian of ``f`` by reverse mode: one backward sweep, batched over the output elements.

    ``holomorphic``: ``f`` is holomorphic in complex inputs, and the result is
    the complex Jacobian ``df/dz``. Otherwise the outputs must be real (complex
    inputs then get JAX's convention, as in :func:`~chainrule.grad`).

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.jacrev(lambda x: x[:2] * x[1:])(np.array([1.0, 2.0, 3.0]))
    array([[2., 1., 0.],
           [0., 3., 2.]])
    """

    argnums = resolve_argnum(argnums, argnum, "jacrev")

    @functools.wraps(f)
    def jac(*args: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), f)
        out, pullback = vjp(_partial(f, args, nums), *[args[n] for n in nums])
        out_leaves, out_def = tree_flatten(out)
        in_flat = [tree_flatten(args[n]) for n in nums]
        in_leaves = [leaves for leaves, _ in in_flat]
        in_defs = [tdef for _, tdef in in_flat]
        _check_complex("jacrev", holomorphic, [x for xs in in_leaves for x in xs], out_leaves)
        sizes = [int(np.prod(np.shape(leaf))) for leaf in out_leaves]
        blocks = {}
        if sum(sizes):
            # One batched backward sweep: the cotangents are the rows of the identity,
            # each output leaf's block of them shaped like that leaf.
            basis = _identity_blocks([(np.shape(x), _result_dtype(x)) for x in out_leaves])
            rows = _batched(lambda *cts: pullback(tree_unflatten(out_def, list(cts))), basis)
            start = 0
            for o, leaf in enumerate(out_leaves):
                for a, g in enumerate(rows):
                    for k, gk in enumerate(tree_flatten(g)[0]):
                        block = gk[start : start + sizes[o]]
                        blocks[o, a, k] = np.reshape(block, np.shape(leaf) + np.shape(in_leaves[a][k]))
                start += sizes[o]
        for o, leaf in enumerate(out_leaves):  # outputs with no elements
            for a in range(len(nums)):
                for k, x in enumerate(in_leaves[a]):
                    blocks.setdefault((o, a, k), np.zeros(np.shape(leaf) + np.shape(x)))
        return _assemble(out_leaves, out_def, in_leaves, in_defs, blocks, single_argnum(argnums))

    return jac


def jacfwd(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    holomorphic: bool = False,
    *,
    argnum: int | None = None,
) -> Callable[..., Any]:
    """The Jacobian of ``f`` by forward mode: one forward pass, batched over the input elements.

    ``holomorphic``: ``f`` is holomorphic in complex inputs, and the result is
    ``df/dz``. Otherwise the inputs must be real.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.jacfwd(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    argnums = resolve_argnum(argnums, argnum, "jacfwd")

    @functools.wraps(f)
    def jac(*args: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), f)
        g = _partial(f, args, nums)
        primals = tuple(args[n] for n in nums)
        in_flat = [tree_flatten(p) for p in primals]
        in_leaves = [leaves for leaves, _ in in_flat]
        in_defs = [tdef for _, tdef in in_flat]
        _check_complex("jacfwd", holomorphic, [x for xs in in_leaves for x in xs], None)
        flat_in = [(a, k, x) for a, leaves in enumerate(in_leaves) for k, x in enumerate(leaves)]
        sizes = [int(np.prod(np.shape(x))) for _, _, x in flat_in]
        out_leaves, out_def = tree_flatten(g(*primals)) if not sum(sizes) else ([], None)
        columns: dict[tuple[int, int, int], Any] = {}
        if sum(sizes):
            # One batched forward pass: the tangents are the columns of the identity,
            # each input leaf's block of them shaped like that leaf.
            basis = _identity_blocks([(np.shape(x), _result_dtype(x)) for _, _, x in flat_in])

            def push(*tangent_leaves: Any) -> Any:
                it = iter(tangent_leaves)
                trees = tuple(
                    tree_unflatten(d, [next(it) for _ in leaves]) for d, leaves in zip(in_defs, in_leaves)
                )
                return jvp(g, primals, trees)

            outs, tangents = _batched(push, basis, pair=True)
            out_leaves, out_def = tree_flatten(outs)
            t_leaves = tree_flatten(tangents)[0]
            start = 0
            for (a, k, _), n in zip(flat_in, sizes):
                for o, t in enumerate(t_leaves):
                    columns[o, a, k] = t[start : start + n]
                start += n
        if holomorphic:
            _check_complex("jacfwd", holomorphic, [], out_leaves)
        blocks = {}
        for o, leaf in enumerate(out_leaves):
            for a, leaves in enumerate(in_leaves):
                for k, x in enumerate(leaves):
                    shape = np.shape(leaf) + np.shape(x)
                    part = columns.get((o, a, k))
                    if part is None or not np.size(part):
                        blocks[o, a, k] = np.zeros(
                            shape, dtype=np.result_type(_result_dtype(leaf), _result_dtype(x))
                        )
                    else:
                        blocks[o, a, k] = np.reshape(np.moveaxis(part, 0, -1), shape)
        return _assemble(out_leaves, out_def, in_leaves, in_defs, blocks, single_argnum(argnums))

    return jac


def jacobian(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    holomorphic: bool = False,
    *,
    argnum: int | None = None,
) -> Callable[..., Any]:
    """The Jacobian of ``f``, by reverse mode when outputs are fewer than inputs, else forward.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.jacobian(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])
    """

    argnums = resolve_argnum(argnums, argnum, "jacobian")

    @functools.wraps(f)
    def jac(*args: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), f)
        n_in = sum(int(np.size(leaf)) for n in nums for leaf in tree_flatten(args[n])[0])
        out = f(*args)
        n_out = sum(int(np.size(leaf)) for leaf in tree_flatten(out)[0])
        chosen = jacrev if n_out <= n_in else jacfwd
        return chosen(f, argnums, holomorphic)(*args)

    return jac


def hessian(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    mode: str = "fwd-rev",
    holomorphic: bool = False,
    *,
    argnum: int | None = None,
) -> Callable[..., Any]:
    """The Hessian of scalar ``f``: forward mode over reverse mode (``jacfwd(grad(f))``).

    For an argument of shape ``S`` the result has shape ``S + S``. With
    ``mode="rev-rev"`` it is ``jacrev(grad(f))`` instead: the gradient's own
    graph is recorded once and swept once with a batch of unit cotangents.
    Both modes run one batched pass (:func:`~chainrule.vmap`), not one pass
    per input element.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 3.0]))
    array([[6., 2.],
           [2., 0.]])
    """
    argnums = resolve_argnum(argnums, argnum, "hessian")
    if mode == "fwd-rev":
        return jacfwd(grad(f, argnums, holomorphic=holomorphic), argnums, holomorphic)
    if mode == "rev-rev":
        return jacrev(grad(f, argnums, holomorphic=holomorphic), argnums, holomorphic)
    raise ValueError(f"hessian: mode must be 'fwd-rev' or 'rev-rev', not {mode!r}")


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """The Hessian-vector product ``H v`` of scalar ``f`` for its first argument, never forming ``H``.

    Forward mode over reverse mode: the directional derivative of ``grad(f)``
    along ``tangents``, at about the cost of two gradient evaluations.
    ``primals`` and ``tangents`` are tuples as for :func:`~chainrule.jvp`; the
    result is shaped like the first argument.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.hvp(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
    """
    return jvp(grad(f), tuple(primals), tuple(tangents))[1]
