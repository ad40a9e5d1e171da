"""Reverse mode: ``grad``, ``value_and_grad`` and ``vjp``.

Each opens a reverse trace, wraps the differentiated arguments (pytrees of
float arrays) in tracers, runs the user's function once, and reads the
derivatives off the trace by one reverse sweep.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import ReverseTrace, Tracer, reverse_sweep, trace_scope
from ..pytree import describe_difference, tree_flatten, tree_unflatten
from .arguments import (
    box_arguments,
    check_holomorphic_inputs,
    check_numeric_output,
    check_scalar_output,
    direction_leaf,
    function_name,
    leaf_gradient,
    normalize_argnums,
    resolve_argnum,
    single_argnum,
    untrace,
    untrace_tree,
)

__all__ = ["grad", "value_and_grad", "vjp"]


def value_and_grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    *,
    argnum: int | None = None,
) -> Callable[..., Any]:
    """Return a function computing ``f``'s value and its gradient in one backward pass.

    Parameters
    ----------
    f
        A function of NumPy arrays (pytrees of them) returning a float scalar,
        or ``(scalar, aux)`` when ``has_aux``.
    argnums
        Which positional argument(s) to differentiate: an int (negative counts
        from the end), or a tuple of distinct ints for a tuple of gradients.
    has_aux
        ``f`` returns a pair; the second element is passed through undifferentiated.
    holomorphic
        ``f`` is a complex-valued holomorphic function of complex inputs: the
        result is ``f'(z)``. Without it, ``f`` must return a real scalar; for
        complex inputs the gradient then follows JAX's convention, the
        conjugate of ``df/dx + i df/dy`` written as ``df/dx - i df/dy``
        (so gradient descent steps along ``-conj(grad)``; see docs/guide/complex.md).
    argnum
        HIPS autograd's name for ``argnums`` (give one of the two).

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

    argnums = resolve_argnum(argnums, argnum, "value_and_grad")
    single = single_argnum(argnums)

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), f)
        with trace_scope(ReverseTrace()) as trace:
            boxed, leaves = box_arguments(trace, f, args, nums, copy=False)
            out = f(*boxed, **kwargs)
            aux = None
            if has_aux:
                out, aux = _split_aux(out, f)
            check_scalar_output(out, f, holomorphic)
            if holomorphic:
                check_holomorphic_inputs(leaves.values, "grad")
            seeds = []
            if type(out) is Tracer and out._trace is trace:
                seeds.append((out._node, np.ones((), dtype=out.dtype)[()]))
            trace.check_saved()
            adjoint = reverse_sweep(trace, seeds)
        grads = []
        taken: set[int] = set()
        for treedef, values, tracers in zip(leaves.treedefs, leaves.values, leaves.tracers):
            g = [leaf_gradient(v, adjoint.get(t._node), taken) for v, t in zip(values, tracers)]
            grads.append(tree_unflatten(treedef, g))
        value = untrace(out, trace)
        result = grads[0] if single else tuple(grads)
        if has_aux:
            return (value, untrace_tree(aux, trace)), result
        return value, result

    return value_and_grad_f


def grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    *,
    argnum: int | None = None,
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
    >>> cr.grad(lambda z: np.real(z * np.conj(z)))(3.0 + 4.0j)  # |z|^2; JAX convention: df/dx - i df/dy
    np.complex128(6-8j)
    >>> cr.grad(np.sin, holomorphic=True)(1j)  # f'(z) = cos(z)
    np.complex128(1.5430806348152437+0j)
    """
    vg = value_and_grad(f, resolve_argnum(argnums, argnum, "grad"), has_aux, holomorphic)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        (value_aux), g = vg(*args, **kwargs)
        if has_aux:
            return g, value_aux[1]
        return g

    return grad_f


def _split_aux(out: Any, f: Callable[..., Any]) -> tuple[Any, Any]:
    if not (isinstance(out, tuple | list) and len(out) == 2):
        got = type(out).__name__ + (f" of length {len(out)}" if isinstance(out, tuple | list) else "")
        raise TypeError(
            f"has_aux=True needs {function_name(f)} to return a pair (output, aux), but it "
            f"returned a {got}. Return (output, aux), or drop has_aux=True."
        )
    return out[0], out[1]


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
    with trace_scope(ReverseTrace()) as trace:
        boxed, leaves = box_arguments(trace, f, primals, tuple(range(len(primals))))
        out = f(*boxed)
        aux = None
        if has_aux:
            out, aux = _split_aux(out, f)
    out_leaves, out_def = tree_flatten(out)
    check_numeric_output(out_leaves, f, "vjp")

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        ct_leaves, ct_def = tree_flatten(cotangent)
        if ct_def != out_def:
            raise ValueError(
                "vjp_fn: the cotangent must have the structure of the output; they differ "
                + describe_difference(untrace_tree(out, trace), cotangent)
            )
        seeds = []
        taken: set[int] = set()  # the caller's arrays: no result may share their memory
        for o, c in zip(out_leaves, ct_leaves):
            c = direction_leaf(c, o, lambda: "vjp_fn: a cotangent", cast_floats=True)
            if type(c) is np.ndarray:
                taken.add(id(c) if c.base is None else id(c.base))
            if type(o) is Tracer and o._trace is trace:
                seeds.append((o._node, c))
        trace.check_saved()
        adjoint = reverse_sweep(trace, seeds, retain=True)
        result = []
        for treedef, values, tracers in zip(leaves.treedefs, leaves.values, leaves.tracers):
            g = [leaf_gradient(v, adjoint.get(t._node), taken) for v, t in zip(values, tracers)]
            result.append(tree_unflatten(treedef, g))
        return tuple(result)

    primal_out = untrace_tree(out, trace)
    if has_aux:
        return primal_out, vjp_fn, untrace_tree(aux, trace)
    return primal_out, vjp_fn
