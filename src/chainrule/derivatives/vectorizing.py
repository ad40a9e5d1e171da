"""``vmap``: a function of one example turned into a function of a batch, with JAX's semantics.

The batch trace (:mod:`chainrule.engine.batching`) runs the function once on
values that carry every example along a leading axis, so one NumPy call does
the work of a Python loop over the examples. It composes with the other
transformations in any order: ``vmap(grad(loss), in_axes=(None, 0, 0))`` gives
per-example gradients.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Tracer, trace_scope
from ..engine.batching import BatchTrace
from ..pytree import sorted_keys, tree_flatten, tree_unflatten
from .arguments import function_name

__all__ = ["vmap"]

Axis = int | None


def vmap(fun: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0) -> Callable[..., Any]:
    """Vectorize ``fun`` over an axis of its arguments: ``fun`` is written for one example.

    Parameters
    ----------
    fun
        A function of arrays (pytrees of arrays) written for a single example.
    in_axes
        Which axis of each argument holds the examples: an int (every
        argument, every leaf), ``None`` (not batched: the same value for every
        example), or a tuple with one entry per positional argument, each an
        int, ``None`` or a pytree prefix of that argument (a dict of axes for a
        dict of arrays). Negative axes count from the end. Keyword arguments
        are batched along axis 0.
    out_axes
        Where the batch axis goes in each output leaf: an int, ``None`` (an
        output that is the same for every example, returned once) or a pytree
        prefix of the output.

    Returns
    -------
    A function taking the batched arguments. All batched leaves must have the
    same number of examples.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.vmap(lambda x: x @ x)(np.arange(6.0).reshape(3, 2))  # a dot product per row
    array([ 1., 13., 41.])
    >>> def loss(w, x, y):
    ...     return (x @ w - y) ** 2
    >>> X, Y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 0.0])
    >>> cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(np.ones(2), X, Y)  # per-example gradients
    array([[0., 0.],
           [0., 8.]])
    """
    if not callable(fun):
        raise TypeError(f"vmap: fun must be callable, got {type(fun).__name__}")
    _check_axis_spec("in_axes", in_axes)
    _check_axis_spec("out_axes", out_axes)

    @functools.wraps(fun)
    def batched_fun(*args: Any, **kwargs: Any) -> Any:
        name = function_name(fun)
        if isinstance(in_axes, list):
            raise TypeError(
                f"vmap of {name}: in_axes is a list; write it as a tuple (one entry per "
                "positional argument), as lists are read as pytrees."
            )
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                f"vmap of {name}: in_axes has {len(in_axes)} entries but {name} was called with "
                f"{len(args)} positional arguments; give one entry (an int, None or a pytree of "
                "them) per argument."
            )
        leaves, treedef = tree_flatten((args, kwargs))
        axes = _leaf_axes(in_axes, args, name, "in_axes") + [0] * len(tree_flatten(kwargs)[0])
        labels = _leaf_labels(args, kwargs)
        size = _batch_size(leaves, axes, labels, name)
        with trace_scope(BatchTrace(size)) as trace:
            boxed = [
                leaf if axis is None else trace.wrap(np.moveaxis(_as_array(leaf), axis, 0))
                for leaf, axis in zip(leaves, axes)
            ]
            b_args, b_kwargs = tree_unflatten(treedef, boxed)
            out = fun(*b_args, **b_kwargs)
            out_leaves, out_def = tree_flatten(out)
            o_axes = _leaf_axes(out_axes, out, name, "out_axes", output=True)
            results = [_unbatch(trace, leaf, axis, size, name) for leaf, axis in zip(out_leaves, o_axes)]
        return tree_unflatten(out_def, results)

    return batched_fun


def _check_axis_spec(what: str, spec: Any) -> None:
    for leaf in tree_flatten(spec)[0]:
        if leaf is not None and (isinstance(leaf, bool) or not isinstance(leaf, int | np.integer)):
            raise TypeError(
                f"vmap: {what} must hold ints and None only (an axis per argument or leaf), "
                f"got {leaf!r} of type {type(leaf).__name__}; write e.g. {what}=0, "
                f"{what}=(None, 0) or {what}={{'w': None, 'x': 0}}."
            )


def _leaf_axes(spec: Any, tree: Any, name: str, what: str, output: bool = False) -> list[Axis]:
    """One axis per leaf of ``tree`` from ``spec``, a prefix of it (JAX's rule)."""
    if spec is None or isinstance(spec, int | np.integer):
        count = len(tree_flatten(tree)[0])
        return [None if spec is None else int(spec)] * count
    if output and not isinstance(tree, tuple | list | dict) and isinstance(spec, tuple | list):
        raise ValueError(
            f"vmap of {name}: {what} is a {type(spec).__name__} but {name} returned a single "
            f"value; give one int (or None) for it."
        )
    if isinstance(spec, tuple | list):
        if not isinstance(tree, tuple | list) or len(tree) != len(spec):
            raise ValueError(
                f"vmap of {name}: {what}={spec!r} does not match the structure of "
                f"{'the output' if output else 'the arguments'} ({_kind(tree)}); give one entry "
                "per element, or a single int for all."
            )
        out: list[Axis] = []
        for s, t in zip(spec, tree):
            out.extend(_leaf_axes(s, t, name, what, output))
        return out
    if isinstance(spec, dict):
        if not isinstance(tree, dict) or set(spec) != set(tree):
            raise ValueError(
                f"vmap of {name}: {what} has the dict keys {sorted(map(str, spec))} but the "
                f"value there is {_kind(tree)}; the keys must be the same."
            )
        out = []
        for key in sorted_keys(tree):  # in the order tree_flatten reads a dict: sorted keys
            out.extend(_leaf_axes(spec[key], tree[key], name, what, output))
        return out
    raise TypeError(f"vmap of {name}: {what} cannot hold a {type(spec).__name__}")


def _kind(tree: Any) -> str:
    if isinstance(tree, dict):
        return f"a dict with keys {sorted(map(str, tree))}"
    if isinstance(tree, tuple | list):
        return f"a {type(tree).__name__} of {len(tree)}"
    return f"a single {type(tree).__name__}"


def _leaf_labels(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    labels: list[str] = []
    for i, a in enumerate(args):
        leaves = tree_flatten(a)[0]
        labels.extend(
            f"argument {i}" if len(leaves) == 1 else f"argument {i} (leaf {k})" for k in range(len(leaves))
        )
    for key, v in kwargs.items():
        leaves = tree_flatten(v)[0]
        labels.extend(
            f"keyword {key}" if len(leaves) == 1 else f"keyword {key} (leaf {k})" for k in range(len(leaves))
        )
    return labels


def _as_array(leaf: Any) -> Any:
    return leaf if type(leaf) is Tracer or type(leaf) is np.ndarray else np.asarray(leaf)


def _batch_size(leaves: list[Any], axes: list[Axis], labels: list[str], name: str) -> int:
    sizes: dict[str, int] = {}
    for leaf, axis, label in zip(leaves, axes, labels):
        if axis is None:
            continue
        ndim = np.ndim(leaf)
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"vmap of {name}: {label} has {ndim} axes (shape {np.shape(leaf)}), so it cannot "
                f"be batched along axis {axis}; give an axis in [{-ndim}, {ndim}) in in_axes, or "
                "None if it is the same for every example."
            )
        sizes[label] = int(np.shape(leaf)[axis])
    if not sizes:
        raise ValueError(
            f"vmap of {name}: no argument is batched (in_axes is None for all of them); batch "
            "at least one, or call the function directly."
        )
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{label}: {n}" for label, n in sizes.items())
        raise ValueError(
            f"vmap of {name}: the batched arguments disagree on the number of examples "
            f"({listed}); they must all have the same length along their in_axes."
        )
    return next(iter(sizes.values()))


def _unbatch(trace: BatchTrace, leaf: Any, axis: Axis, size: int, name: str) -> Any:
    if type(leaf) is Tracer and leaf._trace is trace:
        if axis is None:
            raise ValueError(
                f"vmap of {name}: out_axes is None for an output that differs between the "
                "examples; give an axis for it (out_axes=0), or return a value that does not "
                "depend on the batched arguments."
            )
        data = leaf._value.data
    else:
        if axis is None:
            return leaf
        # The same for every example: repeated along the new axis (JAX's rule).
        data = np.broadcast_to(leaf, (size, *np.shape(leaf)))
        if type(data) is np.ndarray:
            data = data.copy()  # a writeable result the caller owns
    ndim = np.ndim(data)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"vmap of {name}: out_axes={axis} is out of range for an output with {ndim - 1} "
            f"axes per example; give an axis in [{-ndim}, {ndim})."
        )
    return np.moveaxis(data, 0, operator.index(axis))
