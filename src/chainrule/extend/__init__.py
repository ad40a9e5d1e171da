"""Everything a rule author needs, in one import.

A rule module imports from here only::

    from chainrule.extend import defelementwise
    defelementwise(np.sinh, lambda x: np.cosh(x))

* :class:`Primitive`: a named operation whose implementation sees plain values.
* :func:`defvjp` / :func:`defjvp`: two-stage reverse rules ``maker(ans, *args)
  -> (g -> cotangent)`` and forward rules ``rule(t, ans, *args)``, by argument.
* :func:`deflinear`: one reverse rule for a function linear in an argument;
  the forward rule is the function itself applied to the tangent.
* :func:`defelementwise`: both rules of an elementwise function from its local
  partial derivatives.
* :func:`defvariadic`: rules of a primitive with any number of arguments.
* :func:`defnondiff`: functions whose results carry no derivative.
* :func:`defcomplex`: declare a primitive's rules right for complex values
  (JAX's convention); every other primitive refuses complex values.
* :func:`defbatch`: the batching rule of a primitive for ``vmap``, usually a
  family (:func:`axis_rule`, :func:`leading_rule`, :func:`joining_rule`; see
  :mod:`chainrule.extend.batching`).
* :func:`register_function` / :func:`register_ufunc`: route a NumPy function
  to a handler or a ufunc to a primitive.
* Helpers: :func:`unbroadcast`, :func:`masked_product`, :func:`primal`,
  :func:`astype`, argument normalization (:func:`as_traced_array` for
  array-like arguments that may be lists holding traced values,
  :func:`refuse_complex` for functions without complex rules), and the errors to raise.

The engine re-applies a primitive on values of outer traces itself (nested
derivatives), so an implementation never checks for traced values.
"""

from ..engine import (
    CAST,
    GETITEM,
    RULED_PRIMITIVES,
    Primitive,
    Tracer,
    astype,
    defcomplex,
    defjvp,
    deflinear,
    defnondiff,
    defvariadic,
    defvjp,
    is_basic_index,
    normalize_index,
    primal,
    primitive_for,
    qualified_name,
    register_function,
    register_ufunc,
    unbroadcast,
    unsupported,
)
from ..engine.core import plain_call
from ..errors import ComplexValueError, InPlaceError, TracerConversionError, UnsupportedOperationError
from ..parallel import num_threads, run_parts
from .arguments import (
    as_traced_array,
    axis_index,
    axis_tuple,
    contains_tracer,
    differentiated,
    int_array,
    is_batched,
    plain_array,
    plain_ints,
    raw_array,
    reduced_axes,
    refuse_complex,
    refuse_out,
)
from .batching import (
    axis_rule,
    batched_ndim,
    broadcast_batch,
    defbatch,
    joining_rule,
    leading_rule,
    lift_ndim,
    loop_rule,
    shift_axis,
)
from .families import defelementwise
from .masking import any_set, masked_product, masked_quotient, times_fresh

__all__ = [
    "num_threads",
    "run_parts",
    "CAST",
    "ComplexValueError",
    "GETITEM",
    "InPlaceError",
    "RULED_PRIMITIVES",
    "Primitive",
    "Tracer",
    "TracerConversionError",
    "UnsupportedOperationError",
    "any_set",
    "as_traced_array",
    "astype",
    "axis_rule",
    "batched_ndim",
    "broadcast_batch",
    "axis_index",
    "axis_tuple",
    "contains_tracer",
    "defbatch",
    "defcomplex",
    "defelementwise",
    "defjvp",
    "deflinear",
    "defnondiff",
    "defvariadic",
    "defvjp",
    "is_basic_index",
    "joining_rule",
    "leading_rule",
    "lift_ndim",
    "loop_rule",
    "masked_product",
    "masked_quotient",
    "normalize_index",
    "int_array",
    "differentiated",
    "is_batched",
    "plain_array",
    "plain_call",
    "plain_ints",
    "primal",
    "primitive_for",
    "qualified_name",
    "raw_array",
    "reduced_axes",
    "refuse_complex",
    "refuse_out",
    "shift_axis",
    "register_function",
    "register_ufunc",
    "times_fresh",
    "unbroadcast",
    "unsupported",
]
