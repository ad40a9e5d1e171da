"""Naming the NumPy or SciPy function inside which a traced value was converted to a plain array.

NumPy hands a traced value to chainrule only where it dispatches (ufuncs and
array functions whose dispatcher sees it). Elsewhere (a list of traced values
given to ``np.mean``, ``np.vectorize``, SciPy's Python functions) the library
calls ``np.asarray`` and the conversion is refused. The refusal is clearer
when it names the function the user called: the outermost NumPy/SciPy frame
on the stack below the user's code, and for SciPy the differentiable version in
``chainrule.scipy`` when there is one. Conversions NumPy does in C with no
Python frame of its own (``np.float64(x)``, ``np.asarray(x)``) are named from
the source of the user's line, when it is readable and holds such a call.
"""

from __future__ import annotations

import linecache
import re
import sys
from types import FrameType

__all__ = [
    "CHAINRULE_SCIPY",
    "INTEGER_TYPES",
    "library_caller",
    "library_hint",
    "scalar_call",
    "user_location",
]

_LIBRARIES = ("numpy", "scipy")

# Alternatives for the common cases, by public name.
_ALTERNATIVES = {
    "numpy.vectorize": (
        "np.vectorize calls the function on plain scalars; write it with array operations "
        "(NumPy's ufuncs broadcast), or loop in Python and np.stack the results"
    ),
    "numpy.frompyfunc": "np.frompyfunc works on plain objects; write the function with array operations",
    "numpy.full": (
        "np.full(shape, v) allocates a plain array and writes v into it; with a traced v write "
        "np.broadcast_to(v, shape) (or np.full_like(x, v) with x traced)"
    ),
    "numpy.r_ / numpy.c_": (
        "np.r_[...] and np.c_[...] convert each item with np.array and do not dispatch; write "
        "np.concatenate([a, b]) for np.r_[a, b] (np.atleast_1d for scalars) and "
        "np.column_stack([a, b]) for np.c_[a, b]"
    ),
    "scipy.sparse": (
        "a SciPy sparse matrix converts the array it multiplies with np.asarray, so the product "
        "cannot be traced; wrap it in a chainrule.custom_vjp whose backward rule is M.T @ g "
        "(see the 'Migrate from HIPS autograd' page), or use the dense M.toarray() @ x"
    ),
}

# NumPy scalar types called on a traced value: converted in C, named from the user's source line.
_SCALAR_CALL = re.compile(
    r"\b(?:np|numpy)\.(float64|float32|float16|double|single|half|longdouble|float_"
    r"|int64|int32|int16|int8|uint64|uint32|uint16|uint8|intp|bool_)\s*\("
)

INTEGER_TYPES = frozenset(("int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "intp"))


# chainrule.scipy's differentiable versions, by SciPy submodule (tests/test_scipy_conversion_hint.py
# checks this table against the package, which the engine cannot import).
_CONTINUOUS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf")
_DISCRETE = ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf")
_CONTINUOUS_NAMES = ("norm", "t", "gamma", "beta", "chi2", "expon", "laplace", "logistic", "cauchy")
_NAMES = {
    "special": ("logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln"),
    "linalg": ("expm", "logm", "sqrtm", "solve_sylvester", "solve_triangular", "cho_factor", "cho_solve",
               "lu_factor", "lu_solve", "solve_banded", "det", "inv"),
    "signal": ("convolve", "correlate", "fftconvolve"),
    "integrate": ("odeint", "solve_ivp", "trapezoid"),
}  # fmt: skip
CHAINRULE_SCIPY: dict[str, dict[str, tuple[str, ...]]] = {
    **{module: dict.fromkeys(names, ()) for module, names in _NAMES.items()},
    "stats": {
        **dict.fromkeys(_CONTINUOUS_NAMES, _CONTINUOUS),
        **dict.fromkeys(("poisson", "binom", "bernoulli"), _DISCRETE),
        "multivariate_normal": ("logpdf", "pdf"),
        "dirichlet": ("logpdf", "pdf", "mean"),
    },
}


def _scipy_fix(name: str) -> str:
    """What to write instead of the SciPy function ``name``: its chainrule.scipy version if there is one."""
    parts = name.split(".")
    functions = CHAINRULE_SCIPY.get(parts[1], {}) if len(parts) >= 3 else {}
    if len(parts) in (3, 4) and parts[2] in functions:
        methods = functions[parts[2]]
        if len(parts) == 3 or parts[3] in methods:
            return f"use chainrule.{name}, its differentiable version with SciPy's signature"
        return (
            f"chainrule.scipy.{parts[1]}.{parts[2]} has {', '.join(methods)} but not {parts[3]}; write "
            "it with NumPy operations, or give it a rule with chainrule.custom_vjp"
        )
    return "write the computation with NumPy operations, or give it a rule with chainrule.custom_vjp"


def _public_name(frame: FrameType) -> str:
    """``numpy.linalg.norm`` for a frame of ``numpy.linalg._linalg.norm``; methods keep their class."""
    module = frame.f_globals.get("__name__", "")
    code = frame.f_code
    qualname = getattr(code, "co_qualname", code.co_name)
    wrapped = frame.f_locals.get("f") if "._lib" in module else None
    if callable(wrapped) and getattr(wrapped, "__module__", "").startswith("scipy."):
        # SciPy's batching decorator converts before calling the function it wraps: name that one.
        module, qualname = wrapped.__module__, wrapped.__qualname__
    owner = frame.f_locals.get("self") if module.startswith("scipy.stats") else None
    if owner is not None:  # a distribution's method: named by the distribution (frozen or not)
        dist = getattr(owner, "dist", owner)
        dist_name = getattr(dist, "name", None) or type(dist).__name__.removesuffix("_gen")
        return f"scipy.stats.{dist_name}.{code.co_name}"
    head, _, rest = qualname.partition(".")
    shown = head if rest in ("__call__", "") else qualname
    parts = [p for p in module.split(".") if not p.startswith("_")]
    for k in range(1, len(parts) + 1):  # the shortest public module that exports it
        mod = sys.modules.get(".".join(parts[:k]))
        if mod is not None and getattr(mod, head, None) is not None:
            return f"{'.'.join(parts[:k])}.{shown}"
    return f"{module}.{qualname}"


def library_caller() -> str | None:
    """The public name of the NumPy/SciPy function the user's code called, if one is on the stack."""
    frame: FrameType | None = sys._getframe(1)
    outer = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] in _LIBRARIES:
            # SciPy's helpers (scipy._lib) name the function only when nothing outside them is found
            if outer is None or "._lib" not in module or "._lib" in outer.f_globals.get("__name__", ""):
                outer = frame
        elif module.split(".")[0] != "chainrule" and outer is not None:
            break  # back in the user's code
        frame = frame.f_back
    return None if outer is None else _public_name(outer)


def _user_frame() -> FrameType | None:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "chainrule":
        frame = frame.f_back
    return frame


def scalar_call() -> str | None:
    """The NumPy scalar type (``"int64"``, ``"float32"``, ...) called on the user's line, if any.

    Read from the source of the line, when it is readable and no NumPy/SciPy
    function did the conversion.
    """
    frame = _user_frame()
    if frame is None or library_caller() is not None:
        return None
    match = _SCALAR_CALL.search(linecache.getline(frame.f_code.co_filename, frame.f_lineno))
    return None if match is None else match.group(1)


def user_location() -> str:
    """``" (file.py:12)"``: where the user's code is, or ``""`` outside any file."""
    frame = _user_frame()
    if frame is None or frame.f_code.co_filename.startswith("<"):
        return ""
    return f" ({frame.f_code.co_filename}:{frame.f_lineno})"


def scalar_call_hint() -> str:
    """A sentence for ``np.float64(x)`` (and the other NumPy float types) on the user's line, or ''."""
    name = scalar_call()
    if name is None:
        return ""
    if not name.startswith(("float", "double", "single", "half", "longdouble")):
        return (
            f"Inside np.{name}(...): a NumPy scalar type converts its argument in C, where "
            f"chainrule cannot see the target type. Write x.astype(np.{name}) (integers carry no "
            "derivative: the result is a plain array), or chainrule.primal(x). "
        )
    return (
        f"Inside np.{name}(...): a NumPy scalar type converts its argument to a plain number. "
        f"Keep the traced value as it is (a 0-d traced array acts as a scalar), change its "
        f"precision with x.astype(np.{name}), or take chainrule.primal(x) where no derivative "
        "should flow. "
    )


def library_hint() -> str:
    """A sentence naming the library function that converted a traced value, or ''."""
    name = library_caller()
    if name is None:
        return scalar_call_hint()
    if "AxisConcatenator" in name:  # np.r_ and np.c_ are instances: their frame is the class's
        name = "numpy.r_ / numpy.c_"
    advice = _ALTERNATIVES.get(name)
    if advice is None and name.startswith("scipy.sparse."):
        advice = _ALTERNATIVES["scipy.sparse"]
    if advice is None and name.startswith("scipy."):
        advice = (
            "SciPy's Python functions convert their inputs with np.asarray, so chainrule cannot "
            f"differentiate through them; {_scipy_fix(name)}"
        )
    if advice is None:
        advice = (
            f"{name} does not dispatch on what it was given (a list or tuple holding traced values "
            f"is converted with np.asarray): stack them first, {name}(np.stack([...])), or pass arrays"
        )
    return f"Inside {name}: {advice}. "
