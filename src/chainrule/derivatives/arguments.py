"""The arguments and results of a differentiated call: which leaves are traced, and how gradients come back.

Shared by every differential operator, and by :mod:`chainrule.explain` and
:mod:`chainrule.check`, which trace calls of their own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import ReverseTrace, Tracer, astype, primal
from ..errors import NonScalarOutputError
from ..naming import argument_label
from ..pytree import TreeDef, paths_of, tree_flatten, tree_unflatten

__all__ = [
    "TracedLeaves",
    "as_float_leaf",
    "box_arguments",
    "check_scalar_output",
    "function_name",
    "leaf_gradient",
    "normalize_argnums",
    "untrace",
    "untrace_tree",
]


def function_name(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def as_float_leaf(x: Any, describe: Callable[[], str]) -> Any:
    """The value to trace for one leaf; refuses what has no derivative.

    ``describe`` names the leaf for the error message; it is only called on
    failure, because naming needs ``inspect.signature`` (slow on a hot path).
    """
    if type(x) is Tracer:
        return x
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x
    where = describe()
    if isinstance(x, int | np.integer | np.bool_):
        raise TypeError(
            f"{where} is an integer or boolean ({x!r}); derivatives are only defined for "
            "floating-point inputs. Pass a float (e.g. 2.0 or x.astype(float)), or leave "
            "this argument out of argnums."
        )
    if isinstance(x, float):
        return np.float64(x)
    if isinstance(x, np.ndarray | np.generic):
        if np.issubdtype(x.dtype, np.floating):
            return x
        kind = "complex" if np.issubdtype(x.dtype, np.complexfloating) else "non-float"
        raise TypeError(
            f"{where} has dtype {x.dtype} ({kind}); chainrule differentiates with respect "
            "to real floating-point arrays only. Convert with x.astype(float), or leave this "
            "argument out of argnums."
        )
    if isinstance(x, complex):
        raise TypeError(f"{where} is complex; chainrule differentiates real inputs only.")
    if callable(getattr(x, "__dask_graph__", None)):  # the message of chainrule.distributed.parameters
        raise TypeError(f"{where} is a Dask array; chainrule differentiates NumPy arrays only. Pass "
                        "x.compute(), or keep it as data: chainrule.distributed.dask_value_and_grad")
    raise TypeError(
        f"{where} is a {type(x).__name__}, which chainrule cannot differentiate with respect "
        "to. Differentiable leaves are float NumPy arrays and Python floats inside dicts, "
        "lists, tuples and namedtuples."
    )


def normalize_argnums(argnums: int | Sequence[int], nargs: int, f: Callable[..., Any]) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise ValueError(
                f"argnums={argnums!r} asks for argument {n}, but {function_name(f)} was called with "
                f"{nargs} positional argument(s)"
            )
    return tuple(n % nargs for n in nums)


class TracedLeaves:
    """The traced leaves of the differentiated arguments, and how to rebuild trees."""

    def __init__(self) -> None:
        self.treedefs: list[TreeDef] = []
        self.values: list[list[Any]] = []
        self.tracers: list[list[Tracer]] = []


def box_arguments(
    trace: ReverseTrace,
    f: Callable[..., Any],
    args: tuple[Any, ...],
    nums: tuple[int, ...],
) -> tuple[list[Any], TracedLeaves]:
    boxed = list(args)
    leaves = TracedLeaves()
    for n in nums:
        values, treedef = tree_flatten(args[n])
        describe = lambda k, n=n, treedef=treedef: f"{argument_label(f, n)}{paths_of(treedef)[k]}"
        for k, v in enumerate(values):
            if not (type(v) is np.ndarray and v.dtype.kind == "f"):  # the usual leaf needs no check
                values[k] = as_float_leaf(v, functools.partial(describe, k))
        tracers = [trace.leaf(v) for v in values]
        leaves.treedefs.append(treedef)
        leaves.values.append(values)
        leaves.tracers.append(tracers)
        boxed[n] = tree_unflatten(treedef, tracers)
    return boxed, leaves


def leaf_gradient(value: Any, g: Any) -> Any:
    """The gradient of one leaf with the leaf's exact shape and dtype (zeros if none)."""
    if type(g) is np.ndarray and g.dtype == value.dtype and g.shape == value.shape and g.flags.writeable:
        return g
    if g is None:
        return np.zeros(np.shape(value), dtype=value.dtype)
    if np.shape(g) != np.shape(value):
        g = np.broadcast_to(g, np.shape(value)) if np.ndim(g) == 0 else np.reshape(g, np.shape(value))
    if g.dtype != value.dtype:
        g = astype(g, value.dtype)
    if type(g) is np.ndarray and not g.flags.writeable:
        g = g.copy()  # a broadcast view from the sweep: hand the user an array they own
    return g


def untrace(x: Any, trace: Any) -> Any:
    """Unwrap one level: values of ``trace`` become their primal, others stay."""
    if type(x) is Tracer and x._trace is trace:
        return x._value
    return x


def untrace_tree(tree: Any, trace: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [untrace(v, trace) for v in leaves])


def check_scalar_output(out: Any, f: Callable[..., Any]) -> None:
    if type(out) is Tracer:  # the usual case, checked without NumPy's dispatch
        value = primal(out)
        if value.shape == () and value.dtype.kind == "f":
            return
    shape = np.shape(out) if isinstance(out, Tracer | np.ndarray | np.generic | float | int) else None
    if shape is None:
        raise NonScalarOutputError(
            f"grad needs {function_name(f)} to return a scalar, but it returned a "
            f"{type(out).__name__}. To differentiate a function with several outputs use "
            "chainrule.vjp or chainrule.jacobian; to return extra values use has_aux=True."
        )
    if shape != ():
        raise NonScalarOutputError(
            f"grad needs {function_name(f)} to return a scalar, but its output has shape {shape}. "
            "Reduce it first (for example np.sum or np.mean), or use chainrule.vjp(f, x) "
            "for vector-Jacobian products or chainrule.jacobian(f) for the full Jacobian."
        )
    dtype = np.result_type(out) if not isinstance(out, Tracer) else out.dtype
    if not np.issubdtype(dtype, np.floating):
        raise NonScalarOutputError(
            f"grad needs {function_name(f)} to return a real floating-point scalar, but its output "
            f"has dtype {dtype}."
        )
