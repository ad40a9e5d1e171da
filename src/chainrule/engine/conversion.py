"""Naming the NumPy or SciPy function inside which a traced value was converted to a plain array.

NumPy hands a traced value to chainrule only where it dispatches (ufuncs and
array functions whose dispatcher sees it). Elsewhere (a list of traced values
given to ``np.mean``, ``np.vectorize``, SciPy's Python functions) the library
calls ``np.asarray`` and the conversion is refused. The refusal is clearer
when it names the function the user called: the outermost NumPy/SciPy frame
on the stack below the user's code, and for SciPy the differentiable version in
``chainrule.scipy`` when there is one. Conversions NumPy does in C with no
Python frame of its own (``np.float64(x)``, ``np.asarray(x)``) name nothing.
"""

from __future__ import annotations

import sys
from types import FrameType

__all__ = ["CHAINRULE_SCIPY", "library_caller", "library_hint"]

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
}


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
    frame = sys._getframe(1)
    outer = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] in _LIBRARIES:
            # SciPy's helpers (scipy._lib) name the function only when nothing outside them is found
            if outer is None or "._lib" not in module or "._lib" in outer.f_globals.get("__name__", ""):
                outer = frame
        elif module.split(".")[0] != "chainrule" and outer is not None:
            break  # back in the user's code
        frame = frame.f_back  # type: ignore[assignment]
    return None if outer is None else _public_name(outer)


def library_hint() -> str:
    """A sentence naming the library function that converted a traced value, or ''."""
    name = library_caller()
    if name is None:
        return ""
    advice = _ALTERNATIVES.get(name)
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
