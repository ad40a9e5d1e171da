"""Values the engine refuses to meet, and how it says so: complex, array subclasses, foreign containers.

Also the refusals of conversions (``float(x)``, ``y[i] = x``). Each refusal
names what was met and the fix. The checks run where a trace records a call
(:mod:`.traces`) and where a traced value is converted
(:class:`~chainrule.engine.core.Tracer`); they cost one type test per
argument and result on the hot path, and look further only on a miss.
"""

from __future__ import annotations

import dis
import sys
from typing import Any

import numpy as np

from ..errors import ComplexValueError, ForeignArrayError, TracerConversionError
from .conversion import INTEGER_TYPES, library_hint, scalar_call, user_location

__all__ = [
    "PLAIN_CONSTANTS",
    "check_constant",
    "check_result",
    "conversion_error",
    "integer_conversion_error",
    "foreign_array_fix",
    "is_complex",
    "refuse_complex_arguments",
    "refuse_foreign_caller",
    "refuse_store",
]


def conversion_error(what: str, value: Any = None) -> TracerConversionError:
    """The refusal of ``what`` (``"float() of"``) of a traced value; ``value``: its plain value, if known."""
    if value is not None:
        name = scalar_call()
        if name in INTEGER_TYPES:  # np.int64(x): converted in C, through __array__
            return integer_conversion_error(f"np.{name}", value)
    return TracerConversionError(
        f"{library_hint()}{what} a traced value would drop its derivative, so chainrule refuses. "
        "This happens with np.asarray(x), np.array([...x...]), float(x), x.tolist(), "
        "the math module (math.sin(x): use np.sin(x)), "
        "and when a traced value is written into a NumPy array (y[i] = x). Use array "
        "operations instead: np.stack([a, b]) instead of np.array([a, b]); "
        "np.where(mask, x, y) or chainrule.at(y)[i].set(x) instead of y[i] = x; "
        "or chainrule.primal(x) where no derivative should flow."
    )


def integer_conversion_error(function: str, value: Any) -> TracerConversionError:
    """The refusal of ``int(x)`` or ``np.int64(x)`` (``function``: "int", "np.int64"), naming the value.

    ``value`` is the traced value's plain value (or, while staging, the staged
    value: then its dtype and shape only are known).
    """
    shape = tuple(getattr(value, "shape", ()))
    described = f"a traced {getattr(value, 'dtype', 'float')} " + (
        "scalar" if shape == () else f"array of shape {shape}"
    )
    known = isinstance(value, np.ndarray | np.generic)
    if known and value.size == 1:
        described += f" (value {value.item()!r})"
    staged = (
        ""
        if known
        else " Inside chainrule.jit the integer would be frozen at its value in the first call: compute it "
        "outside and pass it as a static argument (chainrule.jit(f, static_argnums=...))."
    )
    return TracerConversionError(
        f"{function}(...) of {described}{user_location()} would make plain integers, which chainrule cannot "
        "trace, so it refuses. Rounding to an integer is piecewise constant: its derivative is zero "
        "almost everywhere (and undefined at the jumps), so no useful gradient flows through it. "
        "If the integer is a size, an index or a count, take it from the value without a derivative: "
        f"{function}(chainrule.stop_gradient(x)). "
        "To keep computing with arrays, np.trunc(x) (what int() does) or np.floor(x) give the rounded "
        "values (constants: zero derivative), and x.astype(np.int64) a plain integer array." + staged
    )


# -- values the engine refuses to meet: complex numbers, array subclasses, foreign containers --
# Types that pass check_constant without a look: the usual constants of a traced call.
PLAIN_CONSTANTS = frozenset(
    {
        float,
        int,
        bool,
        type(None),
        tuple,
        list,
        slice,
        str,
        np.float64,
        np.float32,
        np.float16,
        np.int64,
        np.int32,
        np.bool_,
    }
)


def _complex_error(prim: Any, what: str) -> ComplexValueError:
    return ComplexValueError(
        f"{what} of {prim.name} is complex, and {prim.name} has no derivative rule for complex "
        "values (its rules are for real numbers; casting to real would silently drop the "
        "imaginary part). Keep this step real (split a complex number into np.real and np.imag "
        "parts), take chainrule.primal(x) where no derivative should flow, or register complex "
        "rules (docs/guide/complex.md lists the functions that support complex values)."
    )


def is_complex(a: Any) -> bool:
    """Whether ``a`` (an array, a scalar or a traced value) holds complex numbers."""
    dtype = getattr(a, "dtype", None)
    if dtype is not None:
        return bool(getattr(dtype, "kind", None) == "c")
    return isinstance(a, complex)


def refuse_complex_arguments(prim: Any, args: Any) -> None:
    """Refuse a complex argument of ``prim``, which has no complex rules.

    Called by a trace that has met complex values, for a primitive not declared
    ``supports_complex`` (its result may well be real: ``np.sign(z)``).
    """
    for a in args:
        if is_complex(a):
            raise _complex_error(prim, "An argument")


def foreign_array_fix(x: Any) -> str | None:
    """How to turn ``x`` into a plain array, if it is a type chainrule refuses (else ``None``).

    Masked arrays and ``np.matrix`` change what operators mean (a mask hides
    entries, ``*`` is a matrix product); pandas objects align by index. Each
    would give a silently wrong derivative, so they are refused by name.
    """
    if isinstance(x, np.ma.MaskedArray):
        return (
            "x.filled(value) (or np.ma.getdata(x) to ignore the mask), "
            "or drop masked entries with x.compressed()"
        )
    if isinstance(x, np.matrix):
        return "np.asarray(x) (and write x @ y for a matrix product)"
    module = type(x).__module__ or ""
    if module == "pandas" or module.startswith("pandas."):
        return "x.to_numpy() (or np.asarray(x)), aligning the index first if it matters"
    if module.startswith("scipy.sparse."):  # NumPy would see one opaque object: x * M is not a product
        return "M.toarray(), or a chainrule.custom_vjp whose backward rule is M.T @ g"
    if isinstance(x, np.ndarray) and type(x) is not np.ndarray and not isinstance(x, np.memmap):
        return "np.asarray(x)"
    return None


def check_constant(prim: Any, a: Any) -> None:
    """Refuse a non-traced argument of ``prim`` that would make the derivative silently wrong."""
    fix = foreign_array_fix(a)
    if fix is not None:
        raise ForeignArrayError(
            f"{prim.name} was given a {type(a).__module__}.{type(a).__name__} next to a traced "
            f"value. chainrule works on plain NumPy arrays only: this type changes what the "
            f"operations mean (masks, matrix products, index alignment), which would make the "
            f"derivative silently wrong. Convert it first: {fix}."
        )
    if not prim.supports_complex and (
        isinstance(a, complex | np.complexfloating) or (isinstance(a, np.ndarray) and a.dtype.kind == "c")
    ):
        raise _complex_error(prim, "A constant argument")


def check_result(prim: Any, ans: Any) -> bool:
    """Check a result of ``prim`` before a trace wraps it; return whether it is complex.

    A complex result is refused unless ``prim`` supports complex values; a
    foreign array type always is.
    """
    if is_complex(ans):
        if not prim.supports_complex:
            raise _complex_error(prim, "The result")
        return True
    plain = type(ans) is np.ndarray or isinstance(ans, np.generic)
    if not plain and getattr(ans, "_trace", None) is None:
        check_constant(prim, ans)
    return False


_STORE_SUBSCR = dis.opmap["STORE_SUBSCR"]
_FOREIGN_MODULES = {
    "numpy.ma": ("a masked array", "x.filled(value) or np.ma.getdata(x)"),
    "numpy.matrixlib": ("an np.matrix", "np.asarray(m)"),
    "pandas": ("a pandas object", "series.to_numpy() (or np.asarray(series))"),
}


def refuse_foreign_caller() -> None:
    """``masked * x``: the masked array's (or matrix's, or pandas') own operator converts ``x``; say so.

    Those types take the operator before the tracer does, so the first
    chainrule sees is the conversion: the calling frames tell which type it was.
    """
    try:
        frame: Any = sys._getframe(2)
    except ValueError:
        return
    for _ in range(6):
        if frame is None:
            return
        module = frame.f_globals.get("__name__", "")
        for prefix, (what, fix) in _FOREIGN_MODULES.items():
            if module == prefix or module.startswith(prefix + "."):
                raise ForeignArrayError(
                    f"A traced value met {what}, whose own operation ({module}) would drop the "
                    "derivative or change what the operation means. chainrule works on plain NumPy "
                    f"arrays only: convert it first, {fix}."
                )
        frame = frame.f_back


def refuse_store(x: Any) -> None:
    """``y[i] = x`` into a NumPy array: refuse through the trace, so that chainrule's advice comes first.

    NumPy calls ``float(x)`` to store one element, and replaces any error it
    raises with "setting an array element with a sequence" (a traced value
    looks like a sequence), leaving chainrule's message in ``__cause__``. So
    when the calling line is a subscript assignment, the trace is marked
    instead: its next operation, or its end, raises the advice with the
    line's location. The stored element is NaN, and no result is returned.
    """
    try:
        frame = sys._getframe(2)
    except ValueError:  # called from the bottom of the stack: not from user code
        return
    if frame.f_code.co_code[frame.f_lasti] != _STORE_SUBSCR:
        return
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    error = TracerConversionError(
        f"y[i] = x at {where} writes a traced value into a NumPy array, which would drop its "
        "derivative, so chainrule refuses. Build the array from traced values instead: "
        "y = chainrule.at(y)[i].set(x) (or .add(x)), np.where(mask, x, y), or "
        "np.stack([a, b, c]) instead of filling np.zeros(3) element by element."
    )
    x._trace.poison(error)
    raise error  # NumPy replaces this one; the trace raises it again
