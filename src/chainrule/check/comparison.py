"""The comparison behind every gradient check: a problem, its finite differences, the verdict.

Shared by :func:`chainrule.check.check_grad` (backprop against finite
differences) and :func:`chainrule.check.check_given_grad` (a hand-written
gradient against finite differences).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import numerical
from ..argnums import normalize_argnums
from ..derivatives import grad, jvp, value_and_grad
from ..numerical.inputs import Inputs
from ..pytree import tree_flatten, tree_unflatten
from .options import check_output
from .report import CheckReport, Row
from .tolerance import SAFETY, lowest_precision

__all__ = [
    "DEFAULT_PROBES",
    "PER_ELEMENT",
    "Checker",
    "Problem",
    "escalate",
    "function_name",
    "verdict_report",
]

DEFAULT_PROBES = 4
# Evaluations per input element of the "full" numerical side (central
# differences at h and 2h: value and error estimate).
PER_ELEMENT = 4
# Beyond this many evaluations, escalation from "fast" samples the failing leaf.
_ESCALATION_BUDGET = 4000
# At most this many elements are re-measured by the adaptive method (about 28 evaluations each).
_REFINE_LIMIT = 100


def function_name(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def _flat(tree: Any) -> np.ndarray:
    leaves = tree_flatten(tree)[0]
    if not leaves:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in leaves])


def _random_direction(o: Any, rng: np.random.Generator) -> np.ndarray:
    u: np.ndarray = rng.standard_normal(np.shape(o))
    if np.iscomplexobj(o):
        u = u + 1j * rng.standard_normal(np.shape(o))
    return u.astype(np.result_type(o, np.float32))


class Problem:
    """The function (scalarized), its arguments, and how to perturb and read them."""

    def __init__(self, f: Callable[..., Any], args: tuple[Any, ...], argnums: Any, rng: np.random.Generator):
        self.f = f
        self.args = args
        self.nums = normalize_argnums(argnums, len(args), f)
        start = time.perf_counter()
        out = f(*args)
        self.seconds_per_eval = time.perf_counter() - start
        check_output(function_name(f), out)
        out_leaves, out_def = tree_flatten(out)
        real_scalar = len(out_leaves) == 1 and np.shape(out_leaves[0]) == () and out_def.kind == "leaf"
        if real_scalar and not np.iscomplexobj(out_leaves[0]):
            self.fs = f
            self.scalarized = False
        else:
            # A random cotangent u turns any output into the scalar <u, f(x)>: checking its
            # gradient checks u^T J, the vector-Jacobian product backprop computes.
            # For a complex output u is complex and the scalar Re(sum(u * f)): the pairing of
            # chainrule's (and JAX's) convention, so the check covers both parts of f.
            us = [_random_direction(o, rng) for o in out_leaves]

            def fs(*a: Any) -> Any:
                leaves = tree_flatten(f(*a))[0]
                total = 0.0
                for u, o in zip(us, leaves):
                    total = total + np.sum(u * o)
                return np.real(total)

            fs.__qualname__ = f"<u, {function_name(f)}>"
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


class Checker:
    def __init__(self, problem: Problem, rtol: float, atol_frac: float, atol: float | None, method: str,
                 strict: bool, modes: tuple[str, ...], executor: Any = None):  # fmt: skip
        self.p = problem
        self.executor = executor  # where the numerical side evaluates (chainrule.numerical executor=)
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
            return_estimate=True, step=step, executor=self.executor,
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
            est = numerical.grad(p.fs, *p.args, argnums=p.nums, method=self.method, return_estimate=True,
                                 executor=self.executor)  # fmt: skip
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
                                        return_estimate=True, executor=self.executor)  # fmt: skip
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


def escalate(c: Checker, g: np.ndarray, rng: np.random.Generator) -> None:
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
        budget = max(_ESCALATION_BUDGET // (PER_ELEMENT + 1), 1)
        if size <= budget:
            indices = list(range(sl.start, sl.stop))
        else:
            indices = sorted(rng.choice(np.arange(sl.start, sl.stop), size=budget, replace=False).tolist())
            c.notes.append(f"escalation checked {budget} random elements of {name} ({size} in all)")
        c.elements(g, indices, "d/dx")


def verdict_report(p: Problem, c: Checker, mode: str, order: int, modes: tuple[str, ...], probes: int,
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
        function=function_name(p.f),
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
