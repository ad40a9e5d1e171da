"""The differential operators: ``grad``, ``value_and_grad``, ``vjp`` and ``jvp``.

Each opens a trace, wraps the differentiated arguments (pytrees of float
arrays) in tracers, runs the user's function once, and reads the derivatives
off the trace: by one reverse sweep (``grad``, ``vjp``) or from the tangents
carried forward (``jvp``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import ForwardTrace, ReverseTrace, Tracer, primal, reverse_sweep
from .errors import NonScalarOutputError
from .naming import argument_label
from .pytree import TreeDef, describe_difference, paths_of, tree_flatten, tree_unflatten

__all__ = ["grad", "jvp", "value_and_grad", "vjp"]


def _arg_name(f: Callable[..., Any], argnum: int) -> str:
    return argument_label(f, argnum)


def _fname(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def _as_float_leaf(x: Any, describe: Callable[[], str]) -> Any:
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
    raise TypeError(
        f"{where} is a {type(x).__name__}, which chainrule cannot differentiate with respect "
        "to. Differentiable leaves are float NumPy arrays and Python floats inside dicts, "
        "lists, tuples and namedtuples."
    )


def _normalize_argnums(argnums: int | Sequence[int], nargs: int, f: Callable[..., Any]) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise ValueError(
                f"argnums={argnums!r} asks for argument {n}, but {_fname(f)} was called with "
                f"{nargs} positional argument(s)"
            )
    return tuple(n % nargs for n in nums)


class _Leaves:
    """The traced leaves of the differentiated arguments, and how to rebuild trees."""

    def __init__(self) -> None:
        self.treedefs: list[TreeDef] = []
        self.values: list[list[Any]] = []
        self.tracers: list[list[Tracer]] = []


def _box(
    trace: ReverseTrace,
    f: Callable[..., Any],
    args: tuple[Any, ...],
    nums: tuple[int, ...],
) -> tuple[list[Any], _Leaves]:
    boxed = list(args)
    leaves = _Leaves()
    for n in nums:
        values, treedef = tree_flatten(args[n])
        describe = lambda k, n=n, treedef=treedef: f"{_arg_name(f, n)}{paths_of(treedef)[k]}"
        for k, v in enumerate(values):
            if not (type(v) is np.ndarray and v.dtype.kind == "f"):  # the usual leaf needs no check
                values[k] = _as_float_leaf(v, functools.partial(describe, k))
        tracers = [trace.leaf(v) for v in values]
        leaves.treedefs.append(treedef)
        leaves.values.append(values)
        leaves.tracers.append(tracers)
        boxed[n] = tree_unflatten(treedef, tracers)
    return boxed, leaves


def _leaf_gradient(value: Any, g: Any) -> Any:
    """The gradient of one leaf with the leaf's exact shape and dtype (zeros if none)."""
    if type(g) is np.ndarray and g.dtype == value.dtype and g.shape == value.shape and g.flags.writeable:
        return g
    if g is None:
        return np.zeros(np.shape(value), dtype=value.dtype)
    if np.shape(g) != np.shape(value):
        g = np.broadcast_to(g, np.shape(value)) if np.ndim(g) == 0 else np.reshape(g, np.shape(value))
    if g.dtype != value.dtype:
        from .rules.casting import astype

        g = astype(g, value.dtype)
    if type(g) is np.ndarray and not g.flags.writeable:
        g = g.copy()  # a broadcast view from the sweep: hand the user an array they own
    return g


def _untrace(x: Any, trace: Any) -> Any:
    """Unwrap one level: values of ``trace`` become their primal, others stay."""
    if type(x) is Tracer and x._trace is trace:
        return x._value
    return x


def _untrace_tree(tree: Any, trace: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [_untrace(v, trace) for v in leaves])


def _scalar_output(out: Any, f: Callable[..., Any]) -> None:
    if type(out) is Tracer:  # the usual case, checked without NumPy's dispatch
        value = primal(out)
        if value.shape == () and value.dtype.kind == "f":
            return
    shape = np.shape(out) if isinstance(out, Tracer | np.ndarray | np.generic | float | int) else None
    if shape is None:
        raise NonScalarOutputError(
            f"grad needs {_fname(f)} to return a scalar, but it returned a "
            f"{type(out).__name__}. To differentiate a function with several outputs use "
            "chainrule.vjp or chainrule.jacobian; to return extra values use has_aux=True."
        )
    if shape != ():
        raise NonScalarOutputError(
            f"grad needs {_fname(f)} to return a scalar, but its output has shape {shape}. "
            "Reduce it first (for example np.sum or np.mean), or use chainrule.vjp(f, x) "
            "for vector-Jacobian products or chainrule.jacobian(f) for the full Jacobian."
        )
    dtype = np.result_type(out) if not isinstance(out, Tracer) else out.dtype
    if not np.issubdtype(dtype, np.floating):
        raise NonScalarOutputError(
            f"grad needs {_fname(f)} to return a real floating-point scalar, but its output "
            f"has dtype {dtype}."
        )


def value_and_grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
) -> Callable[..., Any]:
    """Return a function computing ``f``'s value and its gradient in one backward pass.

    Parameters
    ----------
    f
        A function of NumPy arrays (pytrees of them) returning a float scalar,
        or ``(scalar, aux)`` when ``has_aux``.
    argnums
        Which positional argument(s) to differentiate: an int, or a tuple for
        a tuple of gradients.
    has_aux
        ``f`` returns a pair; the second element is passed through undifferentiated.

    Returns
    -------
    A function with ``f``'s signature returning ``(value, gradient)``, or
    ``((value, aux), gradient)`` with ``has_aux``. The gradient has the tree
    structure, shapes and dtypes of the differentiated argument(s).

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> value, g = cr.value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> float(value), g
    (5.0, array([2., 4.]))
    """

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        nums = _normalize_argnums(argnums, len(args), f)
        trace = ReverseTrace()
        boxed, leaves = _box(trace, f, args, nums)
        try:
            out = f(*boxed, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple | list) and len(out) == 2):
                    raise TypeError(
                        f"has_aux=True needs {_fname(f)} to return a pair (output, aux), "
                        f"but it returned a {type(out).__name__}"
                    )
                out, aux = out
            _scalar_output(out, f)
            seeds = []
            if type(out) is Tracer and out._trace is trace:
                seeds.append((out._node, np.ones((), dtype=out.dtype)[()]))
            adjoint = reverse_sweep(trace, seeds)
        finally:
            trace.active = False
        grads = []
        for treedef, values, tracers in zip(leaves.treedefs, leaves.values, leaves.tracers):
            g = [_leaf_gradient(v, adjoint.get(t._node)) for v, t in zip(values, tracers)]
            grads.append(tree_unflatten(treedef, g))
        value = _untrace(out, trace)
        result = grads[0] if isinstance(argnums, int) else tuple(grads)
        if has_aux:
            return (value, _untrace_tree(aux, trace)), result
        return value, result

    return value_and_grad_f


def grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
) -> Callable[..., Any]:
    """Return a function computing the gradient of scalar-valued ``f`` by backpropagation.

    One forward pass records the composition; one backward pass applies the
    chain rule node by node and yields every partial derivative. See
    :func:`value_and_grad` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.grad(lambda x: np.sum(np.sin(x)))(np.array([0.0, np.pi]))
    array([ 1., -1.])
    >>> def loss(params, x):
    ...     return np.sum((x @ params["w"] + params["b"]) ** 2)
    >>> g = cr.grad(loss)({"w": np.ones((2, 1)), "b": np.zeros(1)}, np.array([[1.0, 2.0]]))
    >>> g["w"].ravel(), g["b"]
    (array([ 6., 12.]), array([6.]))
    >>> cr.grad(cr.grad(lambda x: x ** 3))(2.0)  # second derivative: 6x
    np.float64(12.0)
    """
    vg = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        (value_aux), g = vg(*args, **kwargs)
        if has_aux:
            return g, value_aux[1]
        return g

    return grad_f


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """Evaluate ``f`` at ``primals`` and return ``(out, vjp_fn)``.

    ``vjp_fn(cotangent)`` maps a cotangent shaped like ``out`` (a pytree of
    arrays) to the tuple of cotangents of the primals, ``u^T J``, by one
    backward pass. It may be called many times (each call sweeps the recorded
    tape again). With ``has_aux``, returns ``(out, vjp_fn, aux)``.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> out, vjp_fn = cr.vjp(lambda x: x ** 2, np.array([1.0, 3.0]))
    >>> vjp_fn(np.array([1.0, 10.0]))
    (array([ 2., 60.]),)
    """
    trace = ReverseTrace()
    boxed, leaves = _box(trace, f, primals, tuple(range(len(primals))))
    try:
        out = f(*boxed)
    finally:
        trace.active = False
    aux = None
    if has_aux:
        out, aux = out
    out_leaves, out_def = tree_flatten(out)

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        ct_leaves, ct_def = tree_flatten(cotangent)
        if ct_def != out_def:
            raise ValueError(
                "vjp_fn: the cotangent must have the structure of the output; they differ "
                + describe_difference(_untrace_tree(out, trace), cotangent)
            )
        seeds = []
        for o, c in zip(out_leaves, ct_leaves):
            if np.shape(c) != np.shape(o):
                raise ValueError(
                    f"vjp_fn: a cotangent of shape {np.shape(c)} was given for an output of "
                    f"shape {np.shape(o)}"
                )
            if type(o) is Tracer and o._trace is trace:
                seeds.append((o._node, c))
        adjoint = reverse_sweep(trace, seeds, retain=True)
        result = []
        for treedef, values, tracers in zip(leaves.treedefs, leaves.values, leaves.tracers):
            g = [_leaf_gradient(v, adjoint.get(t._node)) for v, t in zip(values, tracers)]
            result.append(tree_unflatten(treedef, g))
        return tuple(result)

    primal_out = _untrace_tree(out, trace)
    if has_aux:
        return primal_out, vjp_fn, _untrace_tree(aux, trace)
    return primal_out, vjp_fn


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: evaluate ``f(*primals)`` and its directional derivative ``J v``.

    ``primals`` and ``tangents`` are tuples of pytrees of the same structure,
    shapes and dtypes. Returns ``(out, tangent_out)``; each output leaf that
    does not depend on the primals gets a zero tangent.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.jvp(np.sin, (np.array([0.0, 1.0]),), (np.array([1.0, 2.0]),))[1]
    array([1.        , 1.08060461])
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp(f, primals, tangents) takes primals and tangents as tuples, e.g. (x,), (v,)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    trace = ForwardTrace()
    boxed = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p_leaves, p_def = tree_flatten(p)
        t_leaves, t_def = tree_flatten(t)
        if p_def != t_def:
            raise ValueError(f"jvp: tangent {i} differs from primal {i} " + describe_difference(p, t))
        paths = paths_of(p_def)
        wrapped = []
        for pv, tv, path in zip(p_leaves, t_leaves, paths):
            pv = _as_float_leaf(pv, lambda i=i, path=path: f"{_arg_name(f, i)}{path}")
            if np.shape(tv) != np.shape(pv):
                raise ValueError(
                    f"jvp: the tangent of {_arg_name(f, i)}{path} has shape {np.shape(tv)}, "
                    f"but the primal has shape {np.shape(pv)}"
                )
            wrapped.append(trace.leaf(pv, tv))
        boxed.append(tree_unflatten(p_def, wrapped))
    try:
        out = f(*boxed)
    finally:
        trace.active = False
    out_leaves, out_def = tree_flatten(out)
    values, out_tangents = [], []
    for o in out_leaves:
        if type(o) is Tracer and o._trace is trace:
            values.append(o._value)
            out_tangents.append(o._node)
        else:
            values.append(o)
            out_tangents.append(np.zeros(np.shape(o), dtype=np.result_type(o)))
    return tree_unflatten(out_def, values), tree_unflatten(out_def, out_tangents)
