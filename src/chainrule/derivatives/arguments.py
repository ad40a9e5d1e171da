"""The arguments and results of a differentiated call: which leaves are traced, and how gradients come back.

Shared by every differential operator, and by :mod:`chainrule.explain` and
:mod:`chainrule.check`, which trace calls of their own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from threading import get_ident
from typing import Any

import numpy as np

from ..argnums import function_name, is_index, normalize_argnums
from ..engine import ReverseTrace, Tracer, astype, primal
from ..engine.value_checks import foreign_array_fix, is_complex
from ..errors import ComplexValueError, ForeignArrayError, ForeignTraceError, NonScalarOutputError
from ..naming import argument_label
from ..pytree import TreeDef, paths_of, tree_flatten, tree_unflatten

__all__ = [
    "direction_leaf",
    "TracedLeaves",
    "as_float_leaf",
    "box_arguments",
    "check_numeric_output",
    "check_scalar_output",
    "check_holomorphic_inputs",
    "function_name",
    "leaf_gradient",
    "normalize_argnums",
    "resolve_argnum",
    "single_argnum",
    "untrace",
    "untrace_tree",
]


def as_float_leaf(x: Any, describe: Callable[[], str]) -> Any:
    """The value to trace for one leaf; refuses what has no derivative.

    ``describe`` names the leaf for the error message; it is only called on
    failure, because naming needs ``inspect.signature`` (slow on a hot path).
    """
    if type(x) is Tracer:
        trace = x._trace
        if trace.active and getattr(trace, "thread", None) not in (None, get_ident()):
            raise ForeignTraceError(
                f"{describe()} is a traced value of a transformation running in another thread. "
                "Each thread differentiates its own values: pass plain arrays between threads "
                "(chainrule.primal(x))."
            )
        if primal(x) is not x or x.dtype.kind in "fc":
            return x
        x = x._value  # chainrule.jit's staging value: checked like the array it holds (refused below)
    if type(x) is np.ndarray and x.dtype.kind in "fc":
        return x
    if type(x) is float:  # before naming the leaf: naming is the slow part
        return np.float64(x)
    if isinstance(x, np.floating):  # list(np.linspace(...)) holds these
        return x
    where = describe()
    fix = foreign_array_fix(x)
    if fix is not None:
        raise ForeignArrayError(
            f"{where} is a {type(x).__module__}.{type(x).__name__}; chainrule differentiates "
            "plain NumPy arrays only, because this type changes what operations mean (masks, "
            f"matrix products, index alignment) and the derivative would be silently wrong. "
            f"Convert it first: {fix}."
        )
    if isinstance(x, int | np.integer | np.bool_):
        raise TypeError(
            f"{where} is an integer or boolean ({x!r}); derivatives are only defined for "
            "floating-point inputs. Pass a float (e.g. 2.0 or x.astype(float)), or leave "
            "this argument out of argnums."
        )
    if isinstance(x, float):
        return np.float64(x)
    if isinstance(x, np.ndarray | np.generic):
        if x.dtype.kind in "fc":
            return x
        raise TypeError(
            f"{where} has dtype {x.dtype} (not floating-point); chainrule differentiates with "
            "respect to real or complex floating-point arrays only. Convert with "
            "x.astype(float), or leave this argument out of argnums."
        )
    if isinstance(x, complex):
        return np.complex128(x)
    if callable(getattr(x, "__dask_graph__", None)):  # the message of chainrule.distributed.parameters
        raise TypeError(
            f"{where} is a Dask array; chainrule differentiates NumPy arrays only. Pass "
            "x.compute(), or keep it as data: chainrule.distributed.dask_value_and_grad"
        )
    raise TypeError(
        f"{where} is a {type(x).__name__}, which chainrule cannot differentiate with respect "
        "to. Differentiable leaves are float NumPy arrays and Python floats inside dicts, "
        "lists, tuples and namedtuples."
    )


def single_argnum(argnums: Any) -> bool:
    """Whether ``argnums`` names one argument (the gradient is then not wrapped in a tuple)."""
    return is_index(argnums)


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
    *,
    copy: bool = True,
) -> tuple[list[Any], TracedLeaves]:
    """Wrap the float leaves of ``args[nums]`` as ``trace``'s inputs.

    ``copy``: record copies of the caller's arrays, so that modifying them later
    (between ``vjp`` and ``vjp_fn``) cannot change the derivative. ``grad`` and
    ``value_and_grad`` sweep before they return, and the traced function cannot
    write into a traced leaf, so they pass ``copy=False`` (a copy of every
    parameter per gradient call doubled the MLP benchmark's time).
    """
    boxed = list(args)
    leaves = TracedLeaves()
    for n in nums:
        values, treedef = tree_flatten(args[n])
        describe = _LeafNames(f, n, treedef)
        for k, v in enumerate(values):
            if type(v) is np.ndarray and v.dtype.kind == "f":  # the usual leaf needs no check
                if copy:
                    values[k] = v.copy()
            else:
                values[k] = as_float_leaf(v, functools.partial(describe, k))
        tracers = [trace.leaf(v) for v in values]
        leaves.treedefs.append(treedef)
        leaves.values.append(values)
        leaves.tracers.append(tracers)
        boxed[n] = tree_unflatten(treedef, tracers)
    return boxed, leaves


class _LeafNames:
    """``argument 0 ('xs')[3]`` for leaf ``k``: the paths are built once, on the first failure.

    Building them per leaf made naming quadratic in the number of leaves.
    """

    def __init__(self, f: Callable[..., Any], n: int, treedef: TreeDef):
        self.f, self.n, self.treedef = f, n, treedef
        self.paths: list[str] | None = None

    def __call__(self, k: int) -> str:
        if self.paths is None:
            self.paths = paths_of(self.treedef)
        return f"{argument_label(self.f, self.n)}{self.paths[k]}"


def _owner(a: np.ndarray) -> int:
    """The id of the array owning ``a``'s memory (NumPy points a view's ``base`` at the owner)."""
    base = a.base
    return id(a) if base is None else id(base)


def leaf_gradient(value: Any, g: Any, taken: set[int] | None = None) -> Any:
    """The gradient of one leaf with the leaf's exact shape and dtype (zeros if none).

    ``taken`` holds the owners of arrays the caller must not receive (its own
    cotangents, gradients already handed out): a gradient sharing memory with
    one is copied, so results never alias each other or the caller's arrays.
    """
    if type(g) is np.ndarray and type(value) is not np.ndarray:
        g = g[()]  # a scalar leaf gets a scalar gradient (a 0-d array would be a new type)
    if type(g) is np.ndarray and g.dtype == value.dtype and g.shape == value.shape and g.flags.writeable:
        if taken is not None:
            owner = _owner(g)
            if owner in taken:
                g = g.copy()
                owner = id(g)
            taken.add(owner)
        return g
    if g is None:
        return np.zeros(np.shape(value), dtype=value.dtype)
    if np.shape(g) != np.shape(value):
        g = np.broadcast_to(g, np.shape(value)) if np.ndim(g) == 0 else np.reshape(g, np.shape(value))
    if g.dtype != value.dtype:
        g = astype(g, value.dtype)
    if type(g) is np.ndarray and (not g.flags.writeable or (taken is not None and _owner(g) in taken)):
        g = g.copy()  # a broadcast view from the sweep, or shared: hand the user an array they own
    if taken is not None and type(g) is np.ndarray:
        taken.add(_owner(g))
    return g


def untrace(x: Any, trace: Any) -> Any:
    """Unwrap one level: values of ``trace`` become their primal, others stay."""
    if type(x) is Tracer and x._trace is trace:
        return x._value
    return x


def untrace_tree(tree: Any, trace: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [untrace(v, trace) for v in leaves])


def check_numeric_output(leaves: Sequence[Any], f: Callable[..., Any], what: str) -> None:
    """Refuse output leaves that are not numbers or numeric arrays (a str, an object array, complex)."""
    if not leaves:
        raise TypeError(
            f"{what} needs {function_name(f)} to return an array or a pytree of arrays, but it "
            "returned none (None or an empty container). Add a return statement?"
        )
    for v in leaves:
        if type(v) is Tracer:
            v = primal(v)
        if isinstance(v, np.ndarray | np.generic) or type(v) is Tracer:  # (a jit staging value)
            kind = v.dtype.kind
        elif isinstance(v, bool | int | float):
            kind = "f"
        elif isinstance(v, complex):
            kind = "c"
        else:
            kind = "O"
        if kind not in "fiubc":
            raise TypeError(
                f"{what} needs {function_name(f)} to return numbers or numeric arrays (in any "
                f"pytree), but it returned a {type(v).__name__}"
                + (f" of dtype {v.dtype}" if hasattr(v, "dtype") else "")
                + f" ({v!r:.60}). Return arrays; pass other results out with has_aux=True."
            )


def check_scalar_output(out: Any, f: Callable[..., Any], holomorphic: bool = False) -> None:
    """Refuse what ``grad`` cannot differentiate: not a scalar, or complex unless ``holomorphic``."""
    if type(out) is Tracer:  # the usual case, checked without NumPy's dispatch
        value = primal(out)
        if value.shape == () and value.dtype.kind == ("c" if holomorphic else "f"):
            return
    numeric = isinstance(out, Tracer | np.ndarray | np.generic | float | int | complex)
    shape = np.shape(out) if numeric else None
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
    if holomorphic:
        if not np.issubdtype(dtype, np.complexfloating):
            raise ComplexValueError(
                f"grad(..., holomorphic=True) needs {function_name(f)} to return a complex scalar, "
                f"but its output has dtype {dtype}. For a real-valued function drop holomorphic=True."
            )
        return
    if np.issubdtype(dtype, np.complexfloating):
        raise ComplexValueError(
            f"grad needs {function_name(f)} to return a real scalar, but its output is complex "
            f"({dtype}). For a holomorphic function pass holomorphic=True (the result is f'(z)); "
            "for a non-holomorphic one differentiate a real function of it (np.abs(out) ** 2, "
            "np.real(out)), or use chainrule.vjp directly with a complex cotangent."
        )
    if not np.issubdtype(dtype, np.floating):
        raise NonScalarOutputError(
            f"grad needs {function_name(f)} to return a real floating-point scalar, but its output "
            f"has dtype {dtype}."
        )


def check_holomorphic_inputs(leaves: Sequence[Sequence[Any]], what: str) -> None:
    """``holomorphic=True`` differentiates with respect to complex inputs only (as JAX requires)."""
    for values in leaves:
        for v in values:
            if np.result_type(v).kind != "c":
                raise ComplexValueError(
                    f"{what}(..., holomorphic=True) needs complex inputs, but one has dtype "
                    f"{np.result_type(v)}. Pass x.astype(complex), or drop holomorphic=True for a "
                    "real-valued function."
                )


def direction_leaf(v: Any, ref: Any, what: Callable[[], str], *, cast_floats: bool) -> Any:
    """One leaf of a tangent (``jvp``) or cotangent (``vjp_fn``), checked against ``ref``.

    ``ref`` is the primal (or output) leaf it goes with; ``what()`` names the
    leaf for a message (called only on failure: naming can be slow). A traced
    leaf (a derivative of the transform itself) is kept as it is. Otherwise
    the leaf must be a real, numeric, plain array of ``ref``'s shape; it is
    returned in ``ref``'s dtype. A float array of another precision is cast
    when ``cast_floats``, refused otherwise (silent precision changes are bugs).
    """
    ref_complex = is_complex(ref)
    if type(v) is Tracer:
        if np.dtype(v.dtype).kind == "c" and not ref_complex:
            raise _complex_direction(what(), ref)
        return v
    fix = foreign_array_fix(v)
    if fix is not None:
        raise ForeignArrayError(
            f"{what()} is a {type(v).__module__}.{type(v).__name__}; pass a plain NumPy array: {fix}."
        )
    arr = np.asarray(v)
    kind = arr.dtype.kind
    if kind == "c" and not ref_complex:
        raise _complex_direction(what(), ref)
    if kind not in "fiubc":
        raise TypeError(f"{what()} must be numeric, but it has dtype {arr.dtype} ({v!r:.60})")
    if np.shape(arr) != np.shape(ref):
        raise ValueError(
            f"{what()} has shape {np.shape(arr)}, but it goes with a value of shape {np.shape(ref)}"
        )
    dtype = np.dtype(ref.dtype) if hasattr(ref, "dtype") else np.result_type(ref)
    if arr.dtype == dtype:
        return arr
    if kind == "f" and isinstance(v, np.ndarray | np.generic) and not cast_floats:
        raise TypeError(
            f"{what()} has dtype {arr.dtype}, but the value it goes with has dtype {dtype}; give it "
            "that dtype (t.astype(x.dtype))."
        )
    if kind == "c" and dtype.kind == "c" and arr.dtype != dtype and not cast_floats:
        raise TypeError(
            f"{what()} has dtype {arr.dtype}, but the value it goes with has dtype {dtype}; give it "
            "that dtype (t.astype(x.dtype))."
        )
    return arr.astype(dtype) if dtype.kind in "fc" or not cast_floats else arr


def _complex_direction(what: str, ref: Any) -> ComplexValueError:
    return ComplexValueError(
        f"{what} is complex, but the value it goes with is real ({np.result_type(ref)}): a real "
        "value's tangents and cotangents are real, and casting would drop the imaginary part. "
        "Pass its real part (np.real(t)) if that is what you mean."
    )


_UNSET_ARGNUMS = 0  # the default of argnums, to tell whether a caller also gave argnums


def resolve_argnum(argnums: Any, argnum: Any, where: str) -> Any:
    """``argnums``, or HIPS autograd's ``argnum`` spelling of it when given (not both)."""
    if argnum is None:
        return argnums
    if argnums != _UNSET_ARGNUMS:
        raise TypeError(
            f"{where} got both argnums={argnums!r} and argnum={argnum!r}; give one "
            "(argnum is HIPS autograd's name for argnums)."
        )
    return argnum
