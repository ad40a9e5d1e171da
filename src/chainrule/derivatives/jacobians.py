"""Jacobians and Hessians from the two modes: ``jacrev``, ``jacfwd``, ``jacobian``, ``hessian``, ``hvp``.

A Jacobian of ``f: R^n -> R^m`` costs ``m`` backward sweeps (``jacrev``, one
per output element) or ``n`` forward passes (``jacfwd``, one per input
element); ``jacobian`` picks the smaller. For an input leaf of shape ``I`` and
an output leaf of shape ``O`` the block has shape ``O + I``. With pytrees the
result nests the input tree inside the output tree, as in JAX.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine.value_checks import is_complex
from ..errors import ComplexValueError
from ..pytree import tree_flatten, tree_unflatten
from .arguments import function_name, normalize_argnums, resolve_argnum, single_argnum
from .forward import jvp
from .reverse import grad, vjp

__all__ = ["hessian", "hvp", "jacfwd", "jacobian", "jacrev"]


def _partial(f: Callable[..., Any], args: tuple[Any, ...], nums: tuple[int, ...]) -> Callable[..., Any]:
    def g(*diff_args: Any) -> Any:
        full = list(args)
        for n, a in zip(nums, diff_args):
            full[n] = a
        return f(*full)

    g.__qualname__ = g.__name__ = function_name(f)  # errors name the user's function
    return g


def _basis(shape: tuple[int, ...], dtype: Any, index: int) -> np.ndarray:
    e = np.zeros(int(np.prod(shape)), dtype=dtype)
    e[index] = 1
    return e.reshape(shape)


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
    """The Jacobian of ``f`` by reverse mode: one backward sweep per output element.

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
        _check_complex("jacrev", holomorphic, [x for xs in in_leaves for x in xs], out_leaves)
        in_defs = [tdef for _, tdef in in_flat]
        rows: dict[tuple[int, int, int], list[Any]] = {}
        for o, leaf in enumerate(out_leaves):
            shape = np.shape(leaf)
            for j in range(int(np.prod(shape))):
                cts = [
                    _basis(np.shape(x), _result_dtype(x), j)
                    if k == o
                    else np.zeros(np.shape(x), _result_dtype(x))
                    for k, x in enumerate(out_leaves)
                ]
                grads = pullback(tree_unflatten(out_def, cts))
                for a, g in enumerate(grads):
                    for k, gk in enumerate(tree_flatten(g)[0]):
                        rows.setdefault((o, a, k), []).append(gk)
        blocks = {}
        for (o, a, k), parts in rows.items():
            in_shape = np.shape(in_leaves[a][k])
            blocks[o, a, k] = np.reshape(np.stack(parts), np.shape(out_leaves[o]) + in_shape)
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
    """The Jacobian of ``f`` by forward mode: one forward pass per input element.

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
        zero_tangents = [[np.zeros(np.shape(x), _result_dtype(x)) for x in leaves] for leaves in in_leaves]
        columns: dict[tuple[int, int, int], list[Any]] = {}
        out_leaves: list[Any] = []
        out_def = None
        for a, leaves in enumerate(in_leaves):
            for k, x in enumerate(leaves):
                for j in range(int(np.prod(np.shape(x)))):
                    tangents = [list(z) for z in zero_tangents]
                    tangents[a][k] = _basis(np.shape(x), _result_dtype(x), j)
                    tangent_trees = tuple(tree_unflatten(d, t) for d, t in zip(in_defs, tangents))
                    out, t_out = jvp(g, primals, tangent_trees)
                    out_leaves, out_def = tree_flatten(out)
                    for o, t in enumerate(tree_flatten(t_out)[0]):
                        columns.setdefault((o, a, k), []).append(t)
        if out_def is None:  # every input is empty: evaluate once for the output's shape
            out_leaves, out_def = tree_flatten(g(*primals))
        if holomorphic:
            _check_complex("jacfwd", holomorphic, [], out_leaves)
        blocks = {}
        for o, leaf in enumerate(out_leaves):
            for a, leaves in enumerate(in_leaves):
                for k, x in enumerate(leaves):
                    parts = columns.get((o, a, k))
                    shape = np.shape(leaf) + np.shape(x)
                    if not parts:
                        blocks[o, a, k] = np.zeros(
                            shape, dtype=np.result_type(_result_dtype(leaf), _result_dtype(x))
                        )
                    else:
                        blocks[o, a, k] = np.reshape(np.stack(parts, axis=-1), shape)
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
    graph is recorded once and swept once per input element, which re-runs
    nothing and is several times faster in chainrule for small inputs (there is
    no vectorizing map to batch the forward passes).

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
