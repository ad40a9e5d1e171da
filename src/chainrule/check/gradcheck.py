"""``check_grad``: backpropagation against finite differences, with a verdict a person can act on.

"full" compares every partial derivative (O(N) evaluations for N inputs);
"fast" compares directional derivatives ``grad . v`` along a few random
unit-Gaussian directions (a handful of evaluations each, whatever N) and, when
one disagrees, narrows down to the failing leaf and lists its elements. On
failure the function is re-run under a recording trace and each primitive's
rule is checked at the values it saw, to name the first wrong one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import numerical
from ..numerical.inputs import Inputs, normalize_argnums
from ..pytree import tree_flatten, tree_unflatten
from ..transforms import grad, jvp, value_and_grad
from .errors import CheckCostError, GradientCheckError
from .localize import first_wrong_rule
from .recording import record
from .report import CheckReport, Row
from .tolerance import SAFETY, default_tolerances, lowest_precision

__all__ = ["check_grad"]

DEFAULT_PROBES = 4
# Evaluations per input element of the "full" numerical side (central
# differences at h and 2h: value and error estimate).
_PER_ELEMENT = 4
# Beyond this many evaluations, escalation from "fast" samples the failing leaf.
_ESCALATION_BUDGET = 4000
# At most this many elements are re-measured by the adaptive method (about 28 evaluations each).
_REFINE_LIMIT = 100


def _fname(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def _flat(tree: Any) -> np.ndarray:
    leaves = tree_flatten(tree)[0]
    if not leaves:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in leaves])


class _Problem:
    """The function (scalarized), its arguments, and how to perturb and read them."""

    def __init__(self, f: Callable[..., Any], args: tuple[Any, ...], argnums: Any, rng: np.random.Generator):
        self.f = f
        self.args = args
        self.nums = normalize_argnums(argnums, len(args))
        start = time.perf_counter()
        out = f(*args)
        self.seconds_per_eval = time.perf_counter() - start
        out_leaves, out_def = tree_flatten(out)
        if len(out_leaves) == 1 and np.shape(out_leaves[0]) == () and out_def.kind == "leaf":
            self.fs = f
            self.scalarized = False
        else:
            # A random cotangent u turns any output into the scalar <u, f(x)>: checking its
            # gradient checks u^T J, the vector-Jacobian product backprop computes.
            us = [rng.standard_normal(np.shape(o)).astype(np.result_type(o, np.float32)) for o in out_leaves]

            def fs(*a: Any) -> Any:
                leaves = tree_flatten(f(*a))[0]
                total = 0.0
                for u, o in zip(us, leaves):
                    total = total + np.sum(u * o)
                return total

            fs.__qualname__ = f"<u, {_fname(f)}>"
            self.fs = fs
            self.scalarized = True
        self.inputs = Inputs(self.fs, args, self.nums, upcast=True, allow_complex=False)
        self.leaf_dtypes = []
        self.treedefs = []
        for n in self.nums:
            leaves, treedef = tree_flatten(args[n])
            self.treedefs.append(treedef)
            self.leaf_dtypes += [np.result_type(v) for v in leaves]
        self.dtype = lowest_precision(self.leaf_dtypes)
        self.size = self.inputs.size

    def selected(self) -> tuple[Any, ...]:
        return tuple(self.args[n] for n in self.nums)

    def partial(self, fun: Callable[..., Any] | None = None) -> Callable[..., Any]:
        """``fun`` as a function of the differentiated arguments only."""
        fun = fun or self.fs
        args, nums = self.args, self.nums

        def p(*sel: Any) -> Any:
            full = list(args)
            for n, s in zip(nums, sel):
                full[n] = s
            return fun(*full)

        return p

    def trees(self, vec: np.ndarray, native: bool) -> tuple[Any, ...]:
        """A flat vector as trees like the differentiated arguments (their dtypes if native)."""
        out, pos = [], 0
        inp = self.inputs
        for treedef in self.treedefs:
            leaves = []
            for k in range(pos, pos + treedef.num_leaves):
                dt = self.leaf_dtypes[k] if native else np.float64
                leaves.append(
                    np.asarray(vec[inp.starts[k] : inp.starts[k + 1]], dtype=dt).reshape(inp.shapes[k])
                )
            pos += treedef.num_leaves
            out.append(tree_unflatten(treedef, leaves))
        return tuple(out)

    def backprop(self) -> np.ndarray:
        _, grads = value_and_grad(self.fs, argnums=self.nums)(*self.args)
        return _flat(grads)

    def forward(self, v: np.ndarray) -> float:
        _, t = jvp(self.partial(), self.selected(), self.trees(v, native=True))
        return float(np.sum(np.asarray(t, dtype=np.float64)))

    def hvp(self, v: np.ndarray) -> np.ndarray:
        g = grad(self.partial(), argnums=tuple(range(len(self.nums))))
        _, t = jvp(lambda *sel: g(*sel), self.selected(), self.trees(v, native=True))
        return _flat(t)

    def gradient_function(self) -> Callable[..., np.ndarray]:
        g = grad(self.partial(), argnums=tuple(range(len(self.nums))))
        return lambda *sel: _flat(g(*sel))

    def unit(self, i: int) -> np.ndarray:
        e = np.zeros(self.size)
        e[i] = 1.0
        return e


class _Checker:
    def __init__(self, problem: _Problem, rtol: float, atol_frac: float, atol: float | None, method: str,
                 strict: bool, modes: tuple[str, ...]):  # fmt: skip
        self.p = problem
        self.rtol = rtol
        self.atol_frac = atol_frac
        self.atol = atol
        self.method = method
        self.strict = strict
        self.modes = modes
        self.evaluations = 1
        self.rows: list[Row] = []
        self.kinks: list[str] = []
        self.notes: list[str] = []
        self.atol_used = 0.0
        self.rtol_given = False

    # -- numerical side --------------------------------------------------------
    def directional(
        self, v: np.ndarray, method: str | None = None, estimate: bool = True, step: float | None = None
    ) -> Any:
        p = self.p
        est = numerical.directional(
            p.partial(), p.selected(), p.trees(v, native=False), method=method or self.method,
            return_estimate=True, step=step,
        )  # fmt: skip
        self.evaluations += est.evaluations
        return est

    def is_kink(self, v: np.ndarray, got: float, tol: float) -> bool:
        """The point is a kink along ``v``: one-sided differences disagree, not by curvature.

        The one-sided differences take the step of the comparison that failed: a
        kink within that step is what spoils the central difference, and a
        smaller step could miss it.
        """
        step = float(np.max(self.directional(v).step))
        fwd = float(self.directional(v, "forward", step=step).value)
        bwd = float(self.directional(v, "backward", step=step).value)
        gap = abs(fwd - bwd)
        if gap <= 2.0 * tol:
            return False
        if min(fwd, bwd) - tol <= got <= max(fwd, bwd) + tol:
            return True  # one kink: backprop's subgradient lies between the two sides
        # Several kinks at once (ReLU units at 0 with weights of both signs) need not put
        # the subgradient between the sides. Tell them from a smooth point by the gap:
        # there it is h * f'' and halves with the step; at a kink it stays.
        fwd2 = float(self.directional(v, "forward", step=step / 2).value)
        bwd2 = float(self.directional(v, "backward", step=step / 2).value)
        return abs(fwd2 - bwd2) > 0.75 * gap

    def judge(self, row: Row, v: np.ndarray | None, error: float) -> None:
        if row.abs_error <= row.tolerance:
            return
        row.status = "FAIL"
        if v is not None and not self.strict and self.is_kink(v, row.backprop, row.tolerance + error):
            row.status = "kink"
            self.kinks.append(row.where)

    def tolerance(self, numerical_value: Any, error: Any, scale: float) -> Any:
        if self.atol is None:
            self.atol_used = max(self.atol_used, self.atol_frac * scale)
            atol = self.atol_frac * scale
        else:
            atol = self.atol_used = self.atol
        return atol + self.rtol * np.abs(numerical_value) + SAFETY * np.asarray(error)

    # -- the comparisons -------------------------------------------------------
    def elements(self, backprop: np.ndarray, indices: Sequence[int] | None, what: str) -> None:
        """Compare partial derivatives (all, or the given flat indices)."""
        p = self.p
        if indices is None:
            est = numerical.grad(p.fs, *p.args, argnums=p.nums, method=self.method, return_estimate=True)
            self.evaluations += est.evaluations
            num, err = _flat(est.value), _flat(est.error)
            idx = np.arange(p.size)
        else:
            idx = np.asarray(indices, dtype=int)
            ests = [self.directional(p.unit(int(i))) for i in idx]
            num = np.array([float(e.value) for e in ests])
            err = np.array([float(e.error) for e in ests])
        got = backprop[idx]
        scale = float(np.max(np.abs(num), initial=0.0)) or 1.0
        num, err = self.refine(idx, num, err, scale)
        tol = self.tolerance(num, err, scale)
        bad = np.abs(got - num) > tol
        ratio = np.abs(got - num) / np.maximum(tol, 1e-300)
        keep = set(np.flatnonzero(bad).tolist()) | set(np.argsort(-ratio)[:8].tolist())
        for j in sorted(keep):
            i = int(idx[j])
            path, index = p.inputs.location(i)
            row = Row(path, index, float(got[j]), float(num[j]), float(tol[j]), what=what)
            self.judge(row, p.unit(i), float(err[j]))
            self.rows.append(row)

    def refine(self, idx: np.ndarray, num: np.ndarray, err: np.ndarray, scale: float
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Re-measure, by the adaptive method, elements whose finite-difference error dominates.

        A fixed step suits most elements; where it does not (an input far smaller or larger
        than the scale its function varies on), the error estimate says so, and a tolerance
        widened by it would let a wrong gradient pass. Those elements (at most
        ``_REFINE_LIMIT``) get the adaptive method's steps instead.
        """
        if self.method == "adaptive" or not len(idx):
            return num, err
        base = self.tolerance(num, np.zeros_like(err), scale)
        uncertain = np.flatnonzero(SAFETY * err > base)[:_REFINE_LIMIT]
        if not uncertain.size:
            return num, err
        num, err = num.copy(), err.copy()
        for j in uncertain:
            est = self.directional(self.p.unit(int(idx[j])), method="adaptive")
            if float(est.error) < err[j]:
                num[j], err[j] = float(est.value), float(est.error)
        self.notes.append(
            f"{uncertain.size} element(s) re-measured with method 'adaptive': the {self.method!r} "
            "difference was too uncertain for the tolerance there"
        )
        return num, err

    def probe(self, v: np.ndarray, got: float, gnorm: float, label: str) -> Row:
        est = self.directional(v)
        num, err = float(est.value), float(est.error)
        row = Row(label, (), got, num, float(self.tolerance(num, err, gnorm)), what="grad.v")
        self.judge(row, v, err)
        self.rows.append(row)
        return row

    def hessian_products(self, directions: Sequence[tuple[str, np.ndarray]]) -> None:
        p = self.p
        gfun = p.gradient_function()
        for label, v in directions:
            got = p.hvp(v)
            est = numerical.directional(gfun, p.selected(), p.trees(v, native=False), method=self.method,
                                        return_estimate=True)  # fmt: skip
            self.evaluations += est.evaluations
            num, err = np.asarray(est.value), np.asarray(est.error)
            scale = float(np.max(np.abs(num), initial=0.0)) or 1.0
            tol = self.tolerance(num, err, scale)
            ratio = np.abs(got - num) / np.maximum(tol, 1e-300)
            for i in set(np.flatnonzero(ratio > 1).tolist()) | set(np.argsort(-ratio)[:2].tolist()):
                path, index = p.inputs.location(int(i))
                row = Row(path, index, float(got[i]), float(num[i]), float(tol[i]), what=f"(H.{label})")
                if row.abs_error > row.tolerance:
                    row.status = "FAIL"
                self.rows.append(row)


def check_grad(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] = 0,
    order: int = 1,
    modes: Sequence[str] = ("rev",),
    mode: str = "full",
    rtol: float | None = None,
    atol: float | None = None,
    seed: int | None = None,
    probes: int = DEFAULT_PROBES,
    max_evaluations: int | None = None,
    strict: bool = False,
    method: str = "central",
    localize: bool = True,
    raise_on_failure: bool = True,
    grad: Callable[..., Any] | None = None,
) -> CheckReport:
    """Check ``f``'s backpropagated derivatives against finite differences.

    With ``grad=g``, check a hand-written gradient instead: ``g(*args)``
    returns the gradient (trees like the differentiated arguments), and only
    finite differences of ``f`` are computed, so ``f`` need not be
    traceable. Only ``modes=("rev",)`` and ``order=1`` apply then; the
    report names the wrong leaves (see :mod:`chainrule.check.handwritten`).

    Parameters
    ----------
    f
        A function of pytrees of float arrays. A non-scalar output is checked
        through ``<u, f(x)>`` for a random ``u`` (a vector-Jacobian product).
    *args
        The point.
    argnums
        The differentiated argument(s).
    order
        1 checks the gradient; 2 also checks Hessian-vector products (forward
        over reverse) against finite differences of the gradient.
    modes
        "rev" (``value_and_grad``) and/or "fwd" (``jvp``).
    mode
        "full": every partial derivative, O(N) evaluations for N inputs
        (``4 N + 1`` with the default method). "fast": ``probes`` random
        unit-Gaussian directions ``v``, comparing ``grad . v``: about 5
        evaluations per probe whatever N; a failing probe escalates to an
        element-by-element check of the failing leaf.
    rtol, atol
        Tolerances; by default from the inputs' least precise dtype (float64:
        ``rtol=1e-6``, ``atol=1e-8 x`` the gradient's scale; float32:
        ``1e-3`` and ``1e-4 x``). Each element's tolerance also includes 3
        times its finite-difference error estimate. The numerical side always
        runs on float64 copies of the inputs.
    seed
        Seed of the random directions and cotangents.
    probes
        The number of probes of "fast" mode.
    max_evaluations
        Refuse (``CheckCostError``) a check estimated to need more evaluations.
    strict
        Fail at kinks too (where one-sided differences disagree and backprop
        gives a value between them).
    method
        The finite-difference method of the numerical side.
    localize
        On failure, find the first primitive whose rule disagrees.
    raise_on_failure
        Raise :class:`GradientCheckError` on failure (otherwise return the report).
    grad
        A hand-written gradient function to check in place of backpropagation.

    Returns
    -------
    CheckReport

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.check import check_grad
    >>> report = check_grad(lambda x: np.sum(np.sin(x) * x), np.array([0.1, 0.5, 2.0]))
    >>> report.verdict, report.evaluations
    ('pass', 14)
    """
    if grad is not None:
        if order != 1 or tuple(modes) != ("rev",):
            raise ValueError("check_grad(..., grad=) checks a gradient: order=1 and modes=('rev',) only")
        from .handwritten import check_given_grad  # imports this module

        return check_given_grad(f, args, grad, argnums=argnums, mode=mode, rtol=rtol, atol=atol, seed=seed,
                                probes=probes, max_evaluations=max_evaluations, strict=strict, method=method,
                                raise_on_failure=raise_on_failure)  # fmt: skip
    modes = tuple(modes)
    for m in modes:
        if m not in ("rev", "fwd"):
            raise ValueError(f"unknown mode {m!r} in modes=; use 'rev' and/or 'fwd'")
    if mode not in ("full", "fast"):
        raise ValueError(f"mode= must be 'full' or 'fast', not {mode!r}")
    if order not in (1, 2):
        raise ValueError(f"order= must be 1 or 2, not {order!r}")
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    p = _Problem(f, args, argnums, rng)
    d_rtol, atol_frac = default_tolerances(p.dtype)
    rtol_given = rtol is not None
    rtol = d_rtol if rtol is None else rtol

    n = p.size
    if mode == "full":
        cost = 2 + _PER_ELEMENT * n + (order - 1) * n * (_PER_ELEMENT + 1) * 3
    else:
        cost = 1 + probes * (_PER_ELEMENT + 1) * order
    if max_evaluations is not None and cost > max_evaluations:
        raise CheckCostError(
            f"a {mode!r} check of {_fname(f)} at order {order} over {n} inputs needs about {cost} "
            f"evaluations (about {cost * p.seconds_per_eval:.3g} s at {p.seconds_per_eval:.3g} s "
            f"each), more than max_evaluations={max_evaluations}."
            + (" Use mode='fast' (random directional probes, a few evaluations each)."
               if mode == "full" else " Use fewer probes.")
        )  # fmt: skip

    c = _Checker(p, rtol, atol_frac, atol, method, strict, modes)
    c.rtol_given = rtol_given
    if p.scalarized:
        c.notes.append("non-scalar output: checked <u, f(x)> for a random cotangent u (a VJP)")
    crashed = None
    try:
        g = p.backprop()
    except Exception as exc:
        crashed = exc
        g = None
    if crashed is not None:
        c.notes.append(f"backprop raised {type(crashed).__name__}: {crashed}")
    elif mode == "full":
        if "rev" in modes:
            c.elements(g, None, "d/dx")
        if "fwd" in modes:
            fwd = np.array([p.forward(p.unit(i)) for i in range(n)])
            c.elements(fwd, None, "fwd d/dx")
    else:
        gnorm = float(np.linalg.norm(g)) or 1.0
        for k in range(probes):
            v = rng.standard_normal(n)
            if "rev" in modes:
                c.probe(v, float(g @ v), gnorm, f"probe {k}")
            if "fwd" in modes:
                c.probe(v, p.forward(v), gnorm, f"fwd probe {k}")
        if any(r.status == "FAIL" for r in c.rows):
            _escalate(c, g, rng)
    first_order_failed = crashed is not None or any(r.status == "FAIL" for r in c.rows)
    if order == 2 and not first_order_failed:
        if mode == "full":
            c.hessian_products([(f"e{i}", p.unit(i)) for i in range(n)])
        else:
            c.hessian_products([(f"v{k}", rng.standard_normal(n)) for k in range(probes)])
    elif order == 2:
        c.notes.append("order 2 not checked: order 1 failed")

    failed = crashed is not None or any(r.status == "FAIL" for r in c.rows)
    report = _report(p, c, mode, order, modes, probes if mode == "fast" else 0, failed, start)
    if failed and localize:
        try:
            culprit, sentence = first_wrong_rule(record(p.fs, p.args, p.nums), modes, seed or 0, order)
        except Exception as exc:
            culprit, sentence = (
                None,
                f"could not re-run the function to localize: {type(exc).__name__}: {exc}",
            )
        report.culprit = culprit
        report.localization = sentence
    report.seconds = time.perf_counter() - start
    if failed and raise_on_failure:
        raise GradientCheckError(report)
    return report


def _escalate(c: _Checker, g: np.ndarray, rng: np.random.Generator) -> None:
    """A probe failed: find the failing leaves by leaf-restricted probes, then list elements."""
    p = c.p
    inp = p.inputs
    gnorm = float(np.linalg.norm(g)) or 1.0
    for k, name in enumerate(inp.names):
        sl = slice(int(inp.starts[k]), int(inp.starts[k + 1]))
        v = np.zeros(p.size)
        v[sl] = rng.standard_normal(sl.stop - sl.start)
        row = c.probe(v, float(g @ v), gnorm, f"leaf {name} probe")
        if row.status != "FAIL":
            continue
        size = sl.stop - sl.start
        budget = max(_ESCALATION_BUDGET // (_PER_ELEMENT + 1), 1)
        if size <= budget:
            indices = list(range(sl.start, sl.stop))
        else:
            indices = sorted(rng.choice(np.arange(sl.start, sl.stop), size=budget, replace=False).tolist())
            c.notes.append(f"escalation checked {budget} random elements of {name} ({size} in all)")
        c.elements(g, indices, "d/dx")


def _report(p: _Problem, c: _Checker, mode: str, order: int, modes: tuple[str, ...], probes: int,
            failed: bool, start: float) -> CheckReport:  # fmt: skip
    compared = [r for r in c.rows if r.status != "kink"] or c.rows
    worst = max(compared, key=lambda r: r.abs_error, default=None)
    verdict = "FAIL" if failed else ("pass (with kinks)" if c.kinks else "pass")
    source = "given" if c.atol is not None else f"{p.dtype} default: {c.atol_frac:g} x gradient scale"
    rsource = "given" if c.rtol_given else f"{p.dtype} default"
    tolerance = (
        f"|backprop - numerical| <= atol + rtol*|numerical| + {SAFETY:g} x finite-difference error "
        f"estimate (per element); rtol={c.rtol:g} ({rsource}), atol={c.atol_used:.3g} ({source}); "
        f"numerical side: method {c.method!r} on float64 copies"
    )
    return CheckReport(
        function=_fname(p.f),
        mode=mode,
        order=order,
        modes=modes,
        verdict=verdict,
        max_abs_error=max((r.abs_error for r in compared), default=0.0),
        max_rel_error=max((r.rel_error for r in compared), default=0.0),
        worst=f"{worst.what} {worst.where}" if worst else "-",
        evaluations=c.evaluations,
        seconds=time.perf_counter() - start,
        tolerance=tolerance,
        rows=c.rows,
        kinks=c.kinks,
        probes=probes,
        notes=c.notes,
    )
