"""Generate docs/coverage.md from chainrule's rule registry, or check that it is current.

Usage: python scripts/coverage_manifest.py [--check]

Every NumPy/SciPy function that reaches a rule is listed with the arguments
that carry a derivative, whether forward mode is supported, and how it
behaves at non-differentiable points. ``--check`` exits 1 when the checked-in
file differs from what the registry says now (CI runs it).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

import numpy as np

import chainrule  # noqa: F401 - registers the rules
from chainrule.engine import (
    FUNCTION_HANDLERS,
    NONDIFF_UFUNCS,
    UFUNC_PRIMITIVES,
    Primitive,
    qualified_name,
)
from chainrule.engine.batching import rule_kind

try:  # SciPy is optional: without it chainrule.scipy is absent and its section says so
    import chainrule.scipy as crscipy
except ImportError:  # pragma: no cover
    crscipy = None

OUT = Path(__file__).resolve().parent.parent / "docs" / "coverage.md"

# Behaviour at points where the function is not differentiable (the rules' docstrings say why).
KINKS = {
    "numpy.absolute": "subgradient 0 at x = 0",
    "numpy.fabs": "subgradient 0 at x = 0",
    "numpy.maximum": "ties: half the gradient to each argument",
    "numpy.minimum": "ties: half the gradient to each argument",
    "numpy.fmax": "ties: half to each; a NaN argument gets 0",
    "numpy.fmin": "ties: half to each; a NaN argument gets 0",
    "numpy.clip": "at a bound the gradient goes to x (bounds inclusive)",
    "numpy.sqrt": "inf at 0 where differentiated; 0 where the cotangent is 0 (unselected np.where branch)",
    "numpy.cbrt": "inf at 0 where differentiated; 0 where the cotangent is 0",
    "numpy.power": "d/dy is 0 at x = 0; d/dx is 0 where y = 0",
    "numpy.hypot": "0 at (0, 0)",
    "numpy.remainder": "derivative of the continuous branch; jumps ignored",
    "numpy.fmod": "derivative of the continuous branch; jumps ignored",
    "numpy.sinc": "0 at x = 0 (exact); second derivative at exactly 0 not supported",
    "numpy.where": "the unselected branch gets an exact zero (never NaN)",
    "numpy.linalg.cholesky": "input taken as symmetric: the gradient is symmetrized (NumPy reads only the "
    "lower triangle, so for a non-symmetric input it differs from finite differences of NumPy's function)",
    "numpy.unwrap": "identity; at a step of exactly discont, the branch NumPy chose (period constant)",
    "numpy.max": "ties: gradient split equally among tied elements",
    "numpy.min": "ties: gradient split equally among tied elements",
    "numpy.amax": "ties: gradient split equally among tied elements",
    "numpy.amin": "ties: gradient split equally among tied elements",
    "numpy.ptp": "ties: split equally, as max and min",
    "numpy.linalg.norm": "gradient 0 at x = 0",
    "numpy.sort": "ties: order of the stable argsort",
    "numpy.linalg.svd": "tied singular values: coupling terms of tied pairs dropped (finite; exact for "
    "symmetric functions of s and basis-free U_c U_c^T, V_c V_c^T, U_c V_c^T; U diag(f(s)) Vh "
    "refused in reverse mode, its tangent misses f' across the tie); full_matrices: extra "
    "columns get the non-rotating choice (exact for gauge-invariant losses)",
    "numpy.linalg.svdvals": "tied or zero singular values: u_i^T dA v_i of NumPy's vectors "
    "(cluster sum exact); complex matrices: first order only",
    "numpy.linalg.eigh": "reads one triangle (UPLO), gradient 0 on the other; tied eigenvalues: as svd "
    "(exact for symmetric functions of w and cluster projectors; V diag(f(w)) V^T refused in "
    "reverse mode, its tangent misses f' across the tie); complex Hermitian: the diagonal's imaginary "
    "part is not read, eigenvector phase is a gauge (exact for phase-invariant losses)",
    "numpy.linalg.eigvalsh": "reads one triangle (UPLO); tied eigenvalues: v_i^T dA v_i (cluster sum exact)",
    "numpy.linalg.qr": "needs the leading min(m, n) columns of full rank; 'complete' of a tall "
    "matrix and 'raw' refused",
    "numpy.linalg.pinv": "derivative of the constant-rank branch (rank set by rcond); a cutoff "
    "dropping nonzero singular values is differentiated as the truncated V_r S_r^-1 U_r^T",
    "numpy.linalg.lstsq": "solution pinv(a, rcond) @ b: the same branches as pinv",
    "numpy.linalg.cond": "p None/2/-2: kinks of the extreme singular values; singular x: no derivative",
    "numpy.linalg.matrix_power": "negative powers need an invertible matrix",
    "numpy.heaviside": "d/dx2 is 1 where x1 = 0, else 0",
    "numpy.unique": "ties: the first occurrence gets the gradient",
    "numpy.median": "ties: the element the stable sort puts there",
    "numpy.nanmedian": "ties: the element the stable sort puts there; NaN skipped",
    "numpy.quantile": "ties: the element the stable sort puts there",
    "numpy.nanquantile": "ties: the element the stable sort puts there; NaN skipped",
    "numpy.percentile": "ties: the element the stable sort puts there",
    "numpy.nanpercentile": "ties: the element the stable sort puts there; NaN skipped",
    "numpy.nanmax": "ties: split equally; NaN and all-NaN slices get 0",
    "numpy.nanmin": "ties: split equally; NaN and all-NaN slices get 0",
    "numpy.nanstd": "gradient 0 at zero variance",
    "numpy.interp": "at a knot: slope of the segment to its right (last segment at xp[-1])",
    "numpy.histogram": "counts piecewise constant in a; linear in weights",
    "numpy.linalg.eig": "tied eigenvalues: as eigh (vectors of a tie refused when weighed by distinct "
    "values); eigenvector phase is a gauge: exact for phase-invariant losses; defective matrices: "
    "no derivative",
    "numpy.linalg.eigvals": "tied eigenvalues: u_i^T dA v_i / u_i^T v_i of NumPy's vectors "
    "(cluster sum exact)",
    "numpy.fft.rfft": "real input only (as NumPy)",
    "numpy.fft.rfft2": "real input only (as NumPy)",
    "numpy.fft.rfftn": "real input only (as NumPy)",
    "numpy.fft.ihfft": "real input only (as NumPy)",
    "numpy.fft.irfft": "imaginary parts of bin 0 (and n/2 for even n) are ignored: derivative 0",
    "numpy.fft.irfft2": "as irfft along the last axis",
    "numpy.fft.irfftn": "as irfft along the last axis",
    "numpy.fft.hfft": "as irfft: imaginary parts of bin 0 (and n/2) ignored",
}


# Differentiable arguments of handlers that mix primitives with operators (which the code
# reading of _primitives_behind cannot see).
ARGUMENTS = {
    "numpy.linalg.lstsq": "0, 1 (solution, residuals, singular values; the rank is an int)",
    "numpy.bincount": "weights (1)",
    "numpy.histogram": "a (0) through the edges; weights (4)",
    "numpy.histogram_bin_edges": "a (0), range (2)",
    "numpy.polyfit": "y (1) only; a traced x or w is refused",
    "numpy.quantile": "a (0); a traced q is refused",
    "numpy.percentile": "a (0); a traced q is refused",
    "numpy.nanquantile": "a (0); a traced q is refused",
    "numpy.nanpercentile": "a (0); a traced q is refused",
    "numpy.unique": "ar (0): the values; indices and counts are plain",
    "numpy.piecewise": "x (0) through the functions",
    "numpy.select": "choicelist (1), default (2)",
}

# Second order works wherever first order does (rules are differentiable), except here.
SECOND_ORDER = {
    "numpy.sinc": "yes, except exactly at x = 0",
    "numpy.linalg.norm": "yes; 'nuc', 2, -2: not beyond second order",
    "numpy.linalg.matrix_norm": "yes; 'nuc', 2, -2: not beyond second order",
    "numpy.linalg.svd": "yes; at tied values refused when f'' across the tie is needed",
    "numpy.linalg.svdvals": "yes; at tied values refused when f'' across the tie is needed",
    "numpy.linalg.eigh": "yes; at tied values refused when f'' across the tie is needed",
    "numpy.linalg.eigvalsh": "yes; at tied values refused when f'' across the tie is needed",
    "numpy.linalg.eig": "yes; at tied values refused when f'' across the tie is needed",
    "numpy.linalg.eigvals": "yes; at tied values refused when f'' across the tie is needed",
}


# Composites (handlers built from other rules, with no primitive of their own to read
# supports_complex from) checked with complex inputs in the tests.
COMPLEX_COMPOSITES = {
    "numpy.fft.fftshift",
    "numpy.fft.ifftshift",
    "numpy.tensordot",
    "numpy.linalg.tensordot",
    "numpy.inner",
    "numpy.kron",
    "numpy.vdot",
    "numpy.linalg.multi_dot",
    "numpy.linalg.matrix_power",
    "numpy.linalg.tensorsolve",
    "numpy.linalg.tensorinv",
    "numpy.correlate",
    "numpy.diff",
    "numpy.gradient",
    "numpy.trapezoid",
    "numpy.cross",
    "numpy.polyval",
    "numpy.vander",
    "numpy.take",
    "numpy.take_along_axis",
    "numpy.sort",
    "numpy.partition",
    "numpy.split",
    "numpy.array_split",
    "numpy.hsplit",
    "numpy.vsplit",
    "numpy.dsplit",
    "numpy.unstack",
    "numpy.average",
    "numpy.broadcast_arrays",
    "numpy.copy",
    "numpy.dot",
    "numpy.outer",
    "numpy.linalg.outer",
    "numpy.linalg.matmul",
    "numpy.linalg.vecdot",
    "numpy.ediff1d",
    "numpy.meshgrid",
    "numpy.nancumsum",
    "numpy.nancumprod",
    "numpy.nanprod",
    "numpy.rollaxis",
    "numpy.select",
    "numpy.piecewise",
    "numpy.linspace",
    "numpy.logspace",
    "numpy.full_like",
    "numpy.nanvar",
    "numpy.nanstd",
}


# Functions whose complex support depends on the options (the rest of their options refuse
# complex values by name).
COMPLEX_PARTLY = {
    "numpy.linalg.norm": "partly: vector norms, 'fro', 1, -1, inf, -inf (not 2, -2, 'nuc')",
    "numpy.linalg.svd": "partly: compute_uv=False, first order (not U, Vh)",
    "numpy.linalg.svdvals": "yes (first order)",
    "numpy.linalg.lstsq": "yes (first order: it computes svdvals; pinv(a) @ b has second order)",
    "numpy.linalg.matrix_norm": "partly: 'fro', 1, -1, inf, -inf (not 2, -2, 'nuc')",
}


def _calls_refuse_complex(handler: Any, depth: int = 3) -> bool:
    """Whether a handler (or one of its module's helpers it calls) refuses complex arguments itself."""
    code = getattr(handler, "__code__", None)
    if code is None or depth == 0:
        return False
    if "refuse_complex" in code.co_names:
        return True
    glb = getattr(handler, "__globals__", {})
    values = [glb.get(name) for name in code.co_names]
    values += [cell.cell_contents for cell in (getattr(handler, "__closure__", None) or ())]
    return any(
        callable(v)
        and getattr(v, "__module__", "").startswith("chainrule.rules")
        and _calls_refuse_complex(v, depth - 1)
        for v in values
        if not isinstance(v, Primitive)
    )


def _complex(name: str, prims: list[Primitive], handler: Any = None) -> str:
    """Complex support: every primitive behind the function declared complex-capable
    (``defcomplex``) and no refusal of complex arguments in its handler."""
    if name in COMPLEX_PARTLY:
        return COMPLEX_PARTLY[name]
    if handler is not None and _calls_refuse_complex(handler):
        return "no"
    if not prims:
        return "yes" if name in COMPLEX_COMPOSITES else "no"
    return "yes" if all(p.supports_complex for p in prims) else "no"


# Rule-internal primitives shown under the public name a user writes; other internal names
# (helpers such as "include_initial" or "diag_embed") are not shown at all.
PUBLIC_NAMES = {"astype": "ndarray.astype"}

# What the internal primitives of the engine are, in words a user knows.
INTERNAL_MEANING = {
    "getitem": "`x[index]` (indexing)",
    "ndarray.astype": "`x.astype(dtype)` between float dtypes (`ndarray.astype`)",
    "scatter_add": "`chainrule.at(x)[index].add(v)` and `.set(v)` (indexed updates)",
}


def _variadic(prim: Any) -> Any:
    """The any-argument reverse rule (custom rules) or the joint one (defvariadic), if any."""
    return prim.any_vjp or prim.joint_vjp


def _variadic_jvp(prim: Any) -> Any:
    return prim.any_jvp or prim.joint_jvp


def public_name(name: str) -> str | None:
    """The name a user writes for a primitive, or ``None`` for an internal helper.

    A private segment (``scipy.special._ufuncs._zeta``) is internal too.
    """
    name = PUBLIC_NAMES.get(name, name)
    parts = name.split(".")
    if len(parts) < 2 or parts[0] not in ("numpy", "scipy", "ndarray"):
        return None
    return None if any(part.startswith("_") for part in parts) else name


def _row_name(ufunc: Any, prim: Primitive) -> str | None:
    """A ufunc's public name; a private ufunc (``_zeta``) under its primitive's public name."""
    name = qualified_name(ufunc)
    if name.startswith(("numpy.", "scipy.")) and public_name(name):
        return name
    return public_name(prim.name)


def _args_of(prim: Primitive, rules: dict[int, Any], any_rule: Any) -> str:
    positions = [str(i) for i, r in sorted(rules.items()) if r is not None]
    if any_rule is not None:
        return "all array arguments"
    return ", ".join(positions) if positions else "none"


def _primitives_behind(handler: Any, depth: int = 3) -> list[Primitive]:
    """The primitives a handler calls: read from its code's global names and closure,
    following the module's own helper functions a few calls deep."""
    owner = getattr(handler, "__self__", None)
    if isinstance(owner, Primitive):
        return [owner]
    code = getattr(handler, "__code__", None)
    if code is None or depth == 0:
        return []
    glb = getattr(handler, "__globals__", {})
    values = [glb.get(name) for name in code.co_names]
    values += [cell.cell_contents for cell in (getattr(handler, "__closure__", None) or ())]
    found: list[Primitive] = []
    for value in values:
        if isinstance(value, Primitive):
            candidates = [value]
        elif callable(value) and getattr(value, "__module__", "").startswith("chainrule.rules"):
            candidates = _primitives_behind(value, depth - 1)
        else:
            candidates = []
        found.extend(p for p in candidates if p not in found)
    return found


def _batching(prims: list[Primitive]) -> str:
    """How vmap batches the primitives: their rules' families, "loop" where it runs per example."""
    kinds = dict.fromkeys(rule_kind(p) for p in prims)
    return ", ".join(kinds) if kinds else "through its rules"


def rows() -> list[tuple[str, str, str, str, str, str, str, str]]:
    out = []
    for ufunc, prim in UFUNC_PRIMITIVES.items():
        name = _row_name(ufunc, prim)
        if name is None:  # a private ufunc with no public function in front of it
            continue
        out.append((name, "ufunc", _args_of(prim, prim.vjp_makers, _variadic(prim)),
                    "yes" if (prim.jvp_rules or _variadic_jvp(prim)) else "no", SECOND_ORDER.get(name, "yes"),
                    _complex(name, [prim]), KINKS.get(name, ""), _batching([prim])))  # fmt: skip
    for func, handler in FUNCTION_HANDLERS.items():
        name = qualified_name(func)
        if getattr(handler, "nondiff", False) or getattr(handler, "refused", False):
            continue
        prims = _primitives_behind(handler)
        if not prims:
            out.append(
                (
                    name,
                    "composite",
                    "all array arguments (built from other rules)",
                    "yes",
                    SECOND_ORDER.get(name, "yes"),
                    _complex(name, []),
                    KINKS.get(name, ""),
                    "through its rules",
                )
            )
            continue
        named = [(public_name(p.name), p) for p in prims]
        parts = dict.fromkeys(f"{n}: {_args_of(p, p.vjp_makers, _variadic(p))}" for n, p in named if n)
        first = next((p for n, p in named if n), prims[0])
        diff = "; ".join(parts) if len(parts) > 1 else _args_of(first, first.vjp_makers, _variadic(first))
        diff = ARGUMENTS.get(name, diff)
        fwd = "yes" if all(p.jvp_rules or _variadic_jvp(p) for p in prims) else "no"
        second, kink = SECOND_ORDER.get(name, "yes"), KINKS.get(name, "")
        cplx = _complex(name, prims, handler)
        out.append((name, "function", diff, fwd, second, cplx, kink, _batching(prims)))
    return sorted({(n, k, ARGUMENTS.get(n, a), f, s, z, c, b) for n, k, a, f, s, z, c, b in out})


# chainrule.scipy: what is differentiable, where it is not the whole signature.
SCIPY_ARGUMENTS = {
    "special.logsumexp": "a, b (the sign of return_sign is plain)",
    "special.polygamma": "x (n is an integer)",
    "special.multigammaln": "a (d is an integer)",
    "linalg.cho_factor": "a (the triangle read)",
    "linalg.cho_solve": "c, b",
    "linalg.lu_factor": "a (lu; piv is plain)",
    "linalg.lu_solve": "lu, b",
    "linalg.solve_triangular": "a (the triangle read), b",
    "linalg.solve_banded": "ab (the band), b",
    "integrate.odeint": "y0, t, args (adjoint method)",
    "integrate.solve_ivp": "y0, t_span, t_eval, args (adjoint method)",
    "stats.multivariate_normal": "x, mean, cov (symmetric)",
    "stats.dirichlet": "x, alpha",
    "stats.poisson": "mu (k, loc are integers; ppf plain)",
    "stats.binom": "p (k, n, loc are integers; ppf plain)",
    "stats.bernoulli": "p (k, loc are integers; ppf plain)",
    "stats.t": "x, loc, scale; df in logpdf/pdf only",
    "stats.gamma": "x, loc, scale, a (third order in a refused)",
    "stats.beta": "x, loc, scale; a, b in logpdf/pdf only",
    "stats.chi2": "x, loc, scale, df (third order in df refused)",
}
SCIPY_NOTES = {
    "special.logsumexp": "constant shift by the max; -inf entries get 0",
    "linalg.expm": "Fréchet derivative by the 2n x 2n block matrix (each order doubles n)",
    "linalg.logm": "Fréchet derivative by the block matrix; real results only",
    "linalg.sqrtm": "Sylvester equation X dX + dX X = dA; real results only",
    "linalg.solve_banded": "traced: dense O(n^3) solve of the band",
    "linalg.cho_factor": "the other triangle of the factor is 0 (SciPy: unspecified)",
    "linalg.lu_factor": "pivots of the value held fixed",
    "integrate.odeint": "derivatives of the exact flow to the solver's tolerance; forward mode by linearity",
    "integrate.solve_ivp": "as odeint; without t_eval the solver's times are held fixed",
    "stats.laplace": "logpdf at x = loc: subgradient 0 of abs(x - loc)",
    "signal.fftconvolve": "other axes broadcast",
}


# chainrule.scipy functions differentiable for complex inputs (holomorphic, JAX's convention).
SCIPY_COMPLEX = {
    "linalg.expm": "yes",
    "linalg.logm": "yes (complex input)",
    "linalg.sqrtm": "yes (complex input)",
    "linalg.solve_sylvester": "yes",
    "linalg.solve_triangular": "yes",
    "signal.convolve": "yes",
    "signal.correlate": "yes (in2 conjugated, as SciPy)",
    "signal.fftconvolve": "yes",
}


def scipy_rows() -> list[tuple[str, str, str, str]]:
    """``(name, differentiable arguments, complex support, notes)`` for every function of chainrule.scipy."""
    if crscipy is None:  # pragma: no cover
        return []
    out = []
    for module in crscipy.__all__:
        package = getattr(crscipy, module)
        for name in package.__all__:
            obj = getattr(package, name)
            if isinstance(obj, np.ufunc):
                continue  # re-exported ufuncs are in the table above
            key = f"{module}.{name}"
            if module == "stats":
                methods = sorted(m for m in dir(obj) if not m.startswith("_") and callable(getattr(obj, m)))
                label = f"chainrule.scipy.{key} ({', '.join(methods)})"
                args = SCIPY_ARGUMENTS.get(key, "x, loc, scale")
            else:
                label = f"chainrule.scipy.{key}"
                args = SCIPY_ARGUMENTS.get(key, "all float arguments")
            out.append((label, args, SCIPY_COMPLEX.get(key, "refused"), SCIPY_NOTES.get(key, "")))
    return out


def nondiff() -> list[str]:
    names = {qualified_name(u) for u in NONDIFF_UFUNCS}
    for func, handler in FUNCTION_HANDLERS.items():
        if getattr(handler, "nondiff", False):
            names.add(qualified_name(func))
    return sorted(n for n in names if public_name(n))


def refused() -> list[str]:
    """Functions whose handler refuses every traced call with a reason (e.g. complex results)."""
    return sorted(qualified_name(f) for f, h in FUNCTION_HANDLERS.items() if getattr(h, "refused", False))


def render() -> str:
    lines = [
        "# Coverage manifest",
        "",
        "Generated by `python scripts/coverage_manifest.py` from the rule registry; CI checks that",
        "it is current. Every rule is written with differentiable operations, so second order (and",
        "higher) is supported wherever the first order is, and every rule is tested against finite",
        "differences at first and second order. A function not listed here raises",
        "`chainrule.UnsupportedOperationError` naming it when it meets a traced value.",
        "",
        'Differentiable arguments are positions in the call (0 = first). "complex": the rules',
        "are declared and tested for complex values with JAX's conventions (`docs/guide/complex.md`);",
        '"no" means a complex value meeting the function is refused by name.',
        "",
        "The vmap column says how `chainrule.vmap` batches the function's primitives: by the family",
        "of their batching rule (elementwise: arguments lifted to a common rank; axis: axes shifted",
        "past the batch axis; leading axes: NumPy already maps over them; joining, products,",
        "indexing, shape: rules of their own; convolution: one call for a shared argument, sliding",
        "windows for two batched ones, the shorter at most 32 long, else a loop), or by **loop**: the",
        "primitive runs once per example and the results are stacked (correct, but a Python loop).",
        "Composites are batched through the rules they are built from. `jacfwd`, `jacrev` and",
        "`hessian` are batched passes too: a **loop** primitive runs once per basis vector inside",
        "them (docs/guide/vmap.md).",
        "",
        "| function | kind | differentiable arguments | forward mode | second order | complex "
        "| at non-differentiable points | vmap |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    table = rows()
    for name, kind, args, fwd, second, cplx, kink, batching in table:
        lines.append(f"| `{name}` | {kind} | {args} | {fwd} | {second} | {cplx} | {kink} | {batching} |")
    count = sum(row[5] == "yes" for row in table)
    partly = sum(row[5].startswith("partly") for row in table)
    lines += [
        "",
        f"{len(table)} functions have rules; {count} of them support complex values, "
        f"{partly} for some options.",
    ]
    lines += [
        "",
        "Also differentiable, through the engine's own primitives: "
        + "; ".join(INTERNAL_MEANING.get(k, f"`{k}`") for k in sorted(INTERNAL_MEANING))
        + ".",
        "",
        "## chainrule.scipy: SciPy's Python functions, differentiable",
        "",
        "SciPy's Python-level functions convert their inputs with `np.asarray`; `chainrule.scipy`",
        "has differentiable versions with SciPy's signatures (see",
        "[chainrule.scipy](reference/scipy.md)). All support reverse and forward mode and second",
        "order; complex inputs are refused by name where the column says so.",
        "",
        "| chainrule.scipy function | differentiable in | forward mode | second order | complex | notes |",
        "| --- | --- | --- | --- | --- | --- |",
        *(f"| {name} | {args} | yes | yes | {cplx} | {note} |" for name, args, cplx, note in scipy_rows()),
        "",
        "## Zero derivative: evaluated on plain values",
        "",
        "These return integers, booleans or piecewise-constant values; their derivative is zero",
        "almost everywhere, so they run on the plain values and return plain arrays:",
        "",
        ", ".join(f"`{n}`" for n in nondiff()) + ".",
        "",
        "## Ufunc methods",
        "",
        "`reduce` and `accumulate` of `add`, `multiply`, `maximum`, `minimum` (as `sum`, `prod`,",
        "`max`, `min`, `cumsum`, `cumprod`) and of `subtract`, `true_divide`, `logaddexp`,",
        "`logaddexp2`, `hypot`, `fmax`, `fmin` (NumPy's left fold, one recorded call per element);",
        "`outer` of every ufunc with a rule. `at` and `reduceat` are refused, and so is `reduce` of",
        "other ufuncs (NumPy's float `power.reduce` is not a left fold).",
        "",
        "## Refused with a reason",
        "",
        "These raise `chainrule.UnsupportedOperationError` saying why and what to use instead",
        "(functions that write into plain arrays name the alternative):",
        "",
        ", ".join(f"`{n}`" for n in refused()) + ".",
        "",
        "Conversions NumPy does without dispatching cannot be intercepted, only refused: a list or",
        "tuple holding traced values passed to a function that converts it with `np.asarray`",
        "(`np.mean([a, b])`, `np.linalg.norm([x, x + 2])`, `np.array([a, b])`), `np.vectorize`, and",
        "SciPy's Python functions raise `TracerConversionError` naming the function (found on the",
        "call stack) and the alternative (`np.stack` first; `np.broadcast_to(v, shape)` for",
        "`np.full(shape, v)`). `np.float64(x)` and `np.asarray(x)` convert in C, with no NumPy",
        "frame to name, and are refused with the generic message. The joining",
        "functions (`concatenate`, `stack`, `hstack`, `vstack`, `dstack`, `column_stack`) and",
        "`select` dispatch on the elements of such containers and stack them; the other handlers",
        "stack container arguments once NumPy has dispatched on a traced one",
        "(`np.append(x, [np.prod(x)])`, `np.diff(x, append=[x[0]])`).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/coverage.md is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(), text.splitlines(), "docs/coverage.md", "registry", lineterm=""
            )
            print("\n".join(list(diff)[:60]))
            print("docs/coverage.md is stale: run python scripts/coverage_manifest.py", file=sys.stderr)
            return 1
        counts = f"{len(rows())} functions with rules, {len(scipy_rows())} in chainrule.scipy"
        print(f"docs/coverage.md is current ({counts})")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(rows())} functions with rules, {len(scipy_rows())} in chainrule.scipy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
