"""The engine: primitives, traces, the traced value, the dispatch tables and the one reverse sweep.

It imports nothing above it (not the rules, the differential operators,
numerical, check, optim, nn, explain or the CLI). Rules attach to its
primitives through :mod:`chainrule.extend`.
"""

from .broadcasting import unbroadcast, unbroadcaster
from .core import (
    CAST,
    GETITEM,
    Primitive,
    Tracer,
    apply,
    as_traced_array,
    astype,
    contains_tracer,
    is_basic_index,
    normalize_index,
    primal,
)
from .definitions import (
    RULED_PRIMITIVES,
    defcomplex,
    defjvp,
    deflinear,
    defnondiff,
    defvariadic,
    defvjp,
    parameter_names,
    primitive_for,
    register_function,
    register_ufunc,
)
from .registry import FUNCTION_HANDLERS, NONDIFF_UFUNCS, UFUNC_PRIMITIVES, qualified_name, unsupported
from .rule_application import cotangent_functions, output_tangent
from .sweep import SweepObserver, reverse_sweep
from .traces import ForwardTrace, Node, Recorder, ReverseTrace, trace_scope

__all__ = [
    "CAST",
    "FUNCTION_HANDLERS",
    "GETITEM",
    "NONDIFF_UFUNCS",
    "RULED_PRIMITIVES",
    "UFUNC_PRIMITIVES",
    "ForwardTrace",
    "Node",
    "Primitive",
    "Recorder",
    "ReverseTrace",
    "SweepObserver",
    "Tracer",
    "apply",
    "as_traced_array",
    "astype",
    "contains_tracer",
    "cotangent_functions",
    "defjvp",
    "deflinear",
    "defcomplex",
    "defnondiff",
    "defvariadic",
    "defvjp",
    "is_basic_index",
    "normalize_index",
    "output_tangent",
    "parameter_names",
    "primal",
    "primitive_for",
    "qualified_name",
    "register_function",
    "register_ufunc",
    "reverse_sweep",
    "trace_scope",
    "unbroadcast",
    "unbroadcaster",
    "unsupported",
]
