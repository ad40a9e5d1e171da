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

from .comparison import DEFAULT_PROBES, PER_ELEMENT, Checker, Problem, escalate, function_name, verdict_report
from .complex_inputs import has_complex_leaf, realified
from .errors import CheckCostError, GradientCheckError
from .handwritten import check_given_grad
from .localize import first_wrong_rule
from .options import check_modes, check_probes, check_tolerance, require_comparisons
from .recording import record
from .report import CheckReport
from .tolerance import default_tolerances

__all__ = ["check_grad"]


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
    executor: Any = None,
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
    executor
        Run the finite-difference evaluations on a ``concurrent.futures.Executor``
        or a ``distributed.Client`` (batched; the report is the same as a serial
        run's). See :mod:`chainrule.numerical.executors`.

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
        return check_given_grad(f, args, grad, argnums=argnums, mode=mode, rtol=rtol, atol=atol, seed=seed,
                                probes=probes, max_evaluations=max_evaluations, strict=strict, method=method,
                                raise_on_failure=raise_on_failure, executor=executor)  # fmt: skip
    if has_complex_leaf(args, argnums):  # checked in the real and the imaginary direction
        f, args = realified(f, args, argnums)
    modes = check_modes(modes)
    probes = check_probes(probes)
    rtol, atol = check_tolerance("rtol", rtol), check_tolerance("atol", atol)
    if mode not in ("full", "fast"):
        raise ValueError(f"mode= must be 'full' or 'fast', not {mode!r}")
    if order not in (1, 2):
        raise ValueError(f"order= must be 1 or 2, not {order!r}")
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    p = Problem(f, args, argnums, rng)
    d_rtol, atol_frac = default_tolerances(p.dtype)
    rtol_given = rtol is not None
    rtol = d_rtol if rtol is None else rtol

    n = p.size
    if mode == "full":
        cost = 2 + PER_ELEMENT * n + (order - 1) * n * (PER_ELEMENT + 1) * 3
    else:
        cost = 1 + probes * (PER_ELEMENT + 1) * order
    if max_evaluations is not None and cost > max_evaluations:
        raise CheckCostError(
            f"a {mode!r} check of {function_name(f)} at order {order} over {n} inputs needs about {cost} "
            f"evaluations (about {cost * p.seconds_per_eval:.3g} s at {p.seconds_per_eval:.3g} s "
            f"each), more than max_evaluations={max_evaluations}."
            + (" Use mode='fast' (random directional probes, a few evaluations each)."
               if mode == "full" else " Use fewer probes.")
        )  # fmt: skip

    c = Checker(p, rtol, atol_frac, atol, method, strict, modes, executor)
    c.rtol_given = rtol_given
    if p.scalarized:
        c.notes.append("non-scalar output: checked <u, f(x)> for a random cotangent u (a VJP)")
    crashed = None
    g: np.ndarray | None = None
    try:
        g = p.backprop()
    except Exception as exc:
        crashed = exc
    if g is None:  # backprop raised
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
            escalate(c, g, rng)
    first_order_failed = crashed is not None or any(r.status == "FAIL" for r in c.rows)
    if order == 2 and not first_order_failed:
        if mode == "full":
            c.hessian_products([(f"e{i}", p.unit(i)) for i in range(n)])
        else:
            c.hessian_products([(f"v{k}", rng.standard_normal(n)) for k in range(probes)])
    elif order == 2:
        c.notes.append("order 2 not checked: order 1 failed")

    failed = crashed is not None or any(r.status == "FAIL" for r in c.rows)
    require_comparisons(function_name(f), c.rows, failed)
    report = verdict_report(p, c, mode, order, modes, probes if mode == "fast" else 0, failed, start)
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
