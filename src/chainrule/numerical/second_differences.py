"""The Hessian (or its diagonal) of a scalar function by central differences, with honest errors.

Entry ``(i, j)`` is the second difference of ``f`` along inputs ``i`` and
``j``: ``(f(++) - f(+-) - f(-+) + f(--)) / (4 h_i h_j)`` off the diagonal,
``(f(+) - 2 f(x) + f(-)) / h_i**2`` on it; both have error
``O(h**2) + O(h**4) + ...``. The error estimate includes the truncation
error, from the same difference at a second step (twice the step for
"central"; the change between Richardson extrapolations for "richardson"),
as well as rounding.

Evaluations (N differentiated elements): "central" ``2 N**2`` (4 per pair,
2 per diagonal element), doubled with ``return_estimate``; "richardson"
(steps h, h/2, h/4, extrapolated twice) ``6 N**2``; ``diagonal=True`` only
the diagonal: ``2 N`` and ``6 N``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..pytree import tree_flatten
from .adaptive import adaptive, plan_steps
from .estimate import STATUS, Estimate
from .evaluate import Evaluator, nonfinite_error
from .executors import JobRunner, job_runner
from .inputs import Inputs
from .line import Line, describe_element
from .options import Options, Workers
from .richardson import extrapolate, extrapolation_gain
from .steps import default_step, leaf_floor, representable_step

__all__ = ["hessian"]

_METHODS = ("central", "richardson", "adaptive")


def hessian(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] = 0,
    method: str = "central",
    step: Any = None,
    return_estimate: bool = False,
    workers: Workers = None,
    executor: Any = None,
    upcast: bool = True,
    kwargs: dict[str, Any] | None = None,
    vectorized: bool = False,
    diagonal: bool = False,
    atol: float | None = None,
    rtol: float | None = None,
) -> Any:
    """The Hessian of scalar-valued ``f`` by central differences (or only its diagonal).

    For an argument of shape ``S`` the result has shape ``S + S`` (``S`` with
    ``diagonal=True``); pytree arguments give a tree (rows) of trees
    (columns). The default step is ``eps**(1/4) |x|`` for "central" and
    ``eps**(1/8) |x|`` for "richardson" (1 in place of ``|x|`` at 0). The
    error estimate of ``return_estimate`` includes truncation and rounding.

    Parameters
    ----------
    method
        "central" (second order), "richardson" (steps h, h/2, h/4,
        extrapolated: sixth order) or "adaptive": the diagonal by the
        adaptive method (a sequence of steps spanning the scales 1 and
        ``|x|``, the best chosen per input; about 30 evaluations each), the
        off-diagonal entries by "richardson" at the steps the diagonal
        chose. The most accurate, and robust to inputs of very different
        scales; ``15 + 6 N (N - 1)`` evaluations or so.
    diagonal
        Compute only the diagonal ``d^2 f / dx_i^2`` (O(N) evaluations).

    See :func:`chainrule.numerical.grad` for the other parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> np.round(numerical.hessian(lambda x: x[0] ** 2 * x[1], np.array([1.0, 3.0])), 6)
    array([[6., 2.],
           [2., 0.]])
    >>> est = numerical.hessian(lambda x: np.sum(np.exp(x)), np.array([0.0, 1.0]), diagonal=True,
    ...                         method="richardson", return_estimate=True)
    >>> bool(np.all(np.abs(est.value - np.exp([0.0, 1.0])) <= est.error)), est.evaluations
    (True, 13)
    """
    if method not in _METHODS:
        raise ValueError(f"numerical.hessian offers method {', '.join(map(repr, _METHODS))}, not {method!r}")
    opts = Options(method, 2, None, atol, rtol)
    inputs = Inputs(f, args, argnums, upcast, allow_complex=False)
    ev = Evaluator(f, inputs, kwargs, vectorized)
    if len(ev.out_shapes) != 1 or ev.out_shapes[0] != () or ev.complex_output:
        raise TypeError(
            f"numerical.hessian needs {getattr(f, '__name__', 'f')} to return a real scalar, but it "
            f"returned shapes {ev.out_shapes} of dtype {ev.out_dtypes}. Reduce it first (np.sum)."
        )
    x0 = inputs.x0
    levels = 3 if method != "central" else (2 if return_estimate or opts.tolerance else 1)
    if step is None:
        acc = 6 if method != "central" else 2
        h = default_step("central", x0, n=2, accuracy=acc, eps=ev.eps, floor=leaf_floor(x0, inputs.starts))
    else:
        h = inputs.broadcast_step(step)
        if np.any(~(h > 0)) or np.any(~np.isfinite(h)):
            raise ValueError(f"step= must be positive and finite; got {step!r}")
    h = representable_step(x0, h, inputs.dtype, inputs.label)
    f0 = float(ev.f0[0])
    eps = ev.eps
    n = inputs.size

    def entry(ij: tuple[int, int]) -> tuple[float, float]:
        i, j = ij
        scales = [2.0, 1.0] if method == "central" else [1.0, 0.5, 0.25]
        scales = scales[-levels:] if method == "central" else scales
        signs = [(1, 0), (-1, 0)] if i == j else [(1, 1), (1, -1), (-1, 1), (-1, -1)]
        points, shifts = [], []
        for s in scales:
            for a, b in signs:
                x = x0.copy()
                x[i] += a * s * h[i]
                if i != j:
                    x[j] += b * s * h[j]
                points.append(x)
                shifts.append((a * s * h[i], b * s * h[j]))
        ys = [float(y[0]) for y in ev.many(points)]
        for y, (si, sj) in zip(ys, shifts):
            if not np.isfinite(y):
                where = f"{inputs.label(i)} = {x0[i]:.17g} moved by {si:.3g}"
                if i != j:
                    where += f" and {inputs.label(j)} = {x0[j]:.17g} moved by {sj:.3g}"
                raise nonfinite_error(f, np.array([y]), 0, where)
        k = len(signs)
        ds, rounding = [], []
        for m, s in enumerate(scales):
            vals = ys[m * k : (m + 1) * k]
            if i == j:
                d = (vals[0] - 2.0 * f0 + vals[1]) / (s * h[i]) ** 2
                r = (abs(vals[0]) + 2.0 * abs(f0) + abs(vals[1])) / (s * h[i]) ** 2
            else:
                d = (vals[0] - vals[1] - vals[2] + vals[3]) / (4.0 * s * s * h[i] * h[j])
                r = sum(abs(v) for v in vals) / (4.0 * s * s * h[i] * h[j])
            ds.append(d)
            rounding.append(2.0 * eps * r)
        if method == "central":
            if len(ds) == 1:
                return ds[0], rounding[0]
            # ds = [D(2h), D(h)]: the leading error of D(h) is (D(h) - D(2h)) / (2**2 - 1); the
            # whole difference is taken, as for first derivatives (noise inside f, next terms).
            return ds[1], abs(ds[1] - ds[0]) + rounding[1]
        table = extrapolate([np.asarray(d) for d in ds], 2.0, 2, 2)
        best, previous = float(table[-1][-1]), float(table[-2][-1])
        gain = extrapolation_gain(2.0, 2, 2, 2)
        # The change from the previous extrapolation, doubled: it also carries the noise of f.
        return best, 2.0 * abs(best - previous) + gain * rounding[-1]

    with job_runner(ev, workers, executor) as run:
        adaptive_diag: list[tuple[float, float]] = []
        if method == "adaptive":
            adaptive_diag, h = _adaptive_diagonal(ev, inputs, opts, step, run)
            method = "richardson"  # the off-diagonal entries, at the steps the diagonal chose
        pairs = [(i, i) for i in range(n)] if diagonal else [(i, j) for i in range(n) for j in range(i, n)]
        if adaptive_diag:
            pairs = [(i, j) for i, j in pairs if i != j]
        results = run(entry, pairs)
    if adaptive_diag:
        pairs = [(i, i) for i in range(n)] + pairs
        results = adaptive_diag + results
    if diagonal:
        diag = np.array([v for v, _ in results])
        err = np.array([e for _, e in results])
        value = inputs.unflatten(diag)
        if not return_estimate:
            return value
        status = _status(opts, diag, err)
        return Estimate(value, inputs.unflatten(err, dtype=np.float64), ev.count,
                        inputs.unflatten(h, dtype=np.float64), status, STATUS[status])  # fmt: skip
    hess = np.zeros((n, n))
    err = np.zeros((n, n))
    for (i, j), (v, e) in zip(pairs, results):
        hess[i, j] = hess[j, i] = v
        err[i, j] = err[j, i] = e
    value = _blocks(inputs, hess, None)
    if not return_estimate:
        return value
    status = _status(opts, hess, err)
    return Estimate(value, _blocks(inputs, err, np.float64), ev.count, inputs.unflatten(h, dtype=np.float64),
                    status, STATUS[status])  # fmt: skip


def _adaptive_diagonal(
    ev: Evaluator, inputs: Inputs, opts: Options, step: Any, run: JobRunner
) -> tuple[list[tuple[float, float]], np.ndarray]:
    """The diagonal by the adaptive method, and per input the step it chose (times 4).

    The off-diagonal entries then use Richardson extrapolation over that step,
    half of it and a quarter (the finest equal to the chosen one): the step
    that suits ``d^2 f / dx_i^2`` suits the mixed derivatives along ``x_i``.
    """
    x0 = inputs.x0
    plan = plan_steps(x0, 2, ev.eps)
    h0 = plan.h0 if step is None else inputs.broadcast_step(step)

    def one(i: int) -> tuple[float, float, float]:
        direction = np.zeros(x0.size)
        direction[i] = h0[i]
        describe = describe_element(lambda: inputs.label(i), float(x0[i]), float(h0[i]))
        line = Line(ev, x0, direction, describe, element=i)
        ratio, levels = (float(plan.ratio[i]), int(plan.levels[i])) if step is None else (2.0, 14)
        res = adaptive(line, 2, ratio=ratio, levels=levels, tolerance=opts.tolerance, unit=h0[i])
        error, chosen = res.estimated_error(), res.step
        assert isinstance(chosen, np.ndarray)  # adaptive() chooses a step per output
        return float(res.value[0]) / h0[i] ** 2, float(error[0]) / h0[i] ** 2, float(chosen[0]) * h0[i]

    out = run(one, range(x0.size))
    chosen = np.array([4.0 * c for _, _, c in out])
    h = representable_step(x0, chosen, inputs.dtype, inputs.label) if x0.size else chosen
    return [(v, e) for v, e, _ in out], h


def _status(opts: Options, value: np.ndarray, err: np.ndarray) -> int:
    tol = opts.tolerance
    if tol is None:
        return 0
    return 0 if bool(np.all(err <= tol[0] + tol[1] * np.abs(value))) else -2


def _blocks(inputs: Inputs, mat: np.ndarray, dtype: Any) -> Any:
    rows = []
    for k, shape in enumerate(inputs.shapes):
        rows.append(
            inputs.unflatten(
                mat[inputs.starts[k] : inputs.starts[k + 1]].reshape((*shape, -1)), lead=shape, dtype=dtype
            )
        )
    if (
        len(rows) == 1
        and isinstance(inputs.argnums, int)
        and tree_flatten(inputs.args[inputs.nums[0]])[1].kind == "leaf"
    ):
        return rows[0]
    return inputs.tree_of(rows)
