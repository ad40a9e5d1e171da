"""``check_vjp``: a hand-written layer's backward pass against finite differences of its forward pass.

Hand-written networks are built from layers with two functions:
``forward(*args) -> (out, cache)`` and ``backward(dout, cache) -> one
gradient per argument``. The backward pass computes the vector-Jacobian
product ``J^T dout``; for a random ``dout`` and a random direction ``v_i`` of
argument ``i`` it must satisfy ``<backward(dout)_i, v_i> = <dout, J_i v_i>``,
and the right side is a directional derivative of ``<dout, forward(...)>``
that finite differences compute in a few evaluations, however large the
layer. The argument whose gradient disagrees is named; ``mode="full"``
then compares it element by element.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import numerical
from ..naming import argument_label
from ..pytree import paths_of, tree_flatten, tree_unflatten
from .errors import GradientCheckError
from .options import NothingCheckedError, check_probes, check_tolerance, require_comparisons
from .report import CheckReport, Row
from .tolerance import SAFETY, default_tolerances, lowest_precision

__all__ = ["check_vjp"]


def _fname(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def _is_float_tree(tree: Any) -> bool:
    leaves = tree_flatten(tree)[0]
    return bool(leaves) and all(np.issubdtype(np.asarray(x).dtype, np.floating) for x in leaves)


def _vdot(a: Any, b: Any) -> float:
    la, lb = tree_flatten(a)[0], tree_flatten(b)[0]
    return float(sum(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64)) for x, y in zip(la, lb)))


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [rng.standard_normal(np.shape(x)) for x in leaves])


def check_vjp(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    *args: Any,
    argnums: Sequence[int] | None = None,
    mode: str = "fast",
    probes: int = 2,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int | None = None,
    method: str = "central",
    raise_on_failure: bool = True,
    executor: Any = None,
) -> CheckReport:
    """Check a hand-written backward pass against finite differences of its forward pass.

    Parameters
    ----------
    forward
        ``forward(*args) -> (out, cache)``; ``out`` a float array or a pytree of them.
    backward
        ``backward(dout, cache) -> grads``: one gradient per argument of
        ``forward`` (a tuple; a single value when there is one argument),
        each shaped like its argument, or ``None`` for an argument that is not
        differentiated (integer labels, a flag).
    *args
        The point.
    argnums
        The arguments to check (default: every float argument whose gradient
        is not ``None``).
    mode
        "fast": per argument and probe, one random ``dout`` and one random
        direction: ``<grad_i, v_i>`` against ``<dout, J_i v_i>`` by finite
        differences (a few evaluations, whatever the sizes). "full": also every
        element of every checked argument's gradient (O(N) evaluations).
    probes
        Random ``(dout, v)`` pairs per argument.
    rtol, atol
        Tolerances (by default from the arguments' least precise dtype, as
        for :func:`chainrule.check_grad`); each comparison also allows 3
        times its finite-difference error estimate.
    executor
        Where the evaluations of ``forward`` run: a
        ``concurrent.futures.Executor`` or a ``distributed.Client`` (see
        :mod:`chainrule.numerical.executors`); the report is the serial
        run's, bit for bit. Worth it in ``mode="full"`` (O(N) evaluations per
        argument) or for a slow ``forward``; a "fast" probe needs 2.

    Returns
    -------
    CheckReport
        Raises :class:`GradientCheckError` on failure (unless
        ``raise_on_failure=False``), naming the argument whose gradient is wrong.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> def forward(x, w):
    ...     out = np.tanh(x @ w)
    ...     return out, (x, w, out)
    >>> def backward(dout, cache):
    ...     x, w, out = cache
    ...     dz = dout * (1.0 - out**2)
    ...     return dz @ w.T, x.T @ dz
    >>> rng = np.random.default_rng(0)
    >>> cr.check_vjp(forward, backward, rng.standard_normal((4, 3)), rng.standard_normal((3, 2))).verdict
    'pass'
    """
    if mode not in ("fast", "full"):
        raise ValueError(f"mode= must be 'fast' or 'full', not {mode!r}")
    probes = check_probes(probes)
    rtol, atol = check_tolerance("rtol", rtol), check_tolerance("atol", atol)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    name = f"{_fname(forward)}/{_fname(backward)}"
    labels = [argument_label(forward, i) for i in range(len(args))]
    for label, arg in zip(labels, args):
        if any(callable(getattr(leaf, "__dask_graph__", None)) for leaf in tree_flatten(arg)[0]):
            raise TypeError(
                f"{label} is a Dask array; check_vjp checks layers on NumPy arrays (the finite "
                "differences perturb them element by element). Pass x.compute(), or a NumPy sample of it."
            )
    result = forward(*args)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(
            f"{_fname(forward)} must return (out, cache) for check_vjp; it returned "
            f"{type(result).__name__}{f' of length {len(result)}' if isinstance(result, tuple) else ''}."
        )
    out0 = result[0]
    if not _is_float_tree(out0):
        raise TypeError(f"{_fname(forward)}'s output must be float arrays (or a pytree of them)")
    dtypes = [np.result_type(x) for a in args if _is_float_tree(a) for x in tree_flatten(a)[0]]
    d_rtol, atol_frac = default_tolerances(lowest_precision(dtypes))
    rtol = d_rtol if rtol is None else rtol
    rows: list[Row] = []
    notes: list[str] = []
    evaluations = 1
    checked: set[int] = set()
    last: dict[int, tuple[Callable[[Any], float], Any]] = {}

    def call_backward(dout: Any) -> tuple[Any, ...]:
        _, cache = forward(*args)
        grads = backward(dout, cache)
        if len(args) == 1 and not (isinstance(grads, tuple | list) and len(grads) == 1):
            grads = (grads,)
        if not isinstance(grads, tuple | list) or len(grads) != len(args):
            got = len(grads) if isinstance(grads, tuple | list) else type(grads).__name__
            raise TypeError(
                f"{_fname(backward)} must return one gradient per argument of {_fname(forward)} "
                f"({len(args)}, None for one that is not differentiated); it returned {got}."
            )
        return tuple(grads)

    for k in range(probes):
        dout = _random_like(out0, rng)
        grads = call_backward(dout)
        nums = range(len(args)) if argnums is None else argnums
        for i in nums:
            if grads[i] is None or not _is_float_tree(args[i]):
                if argnums is not None:
                    raise TypeError(f"{labels[i]} cannot be checked: its gradient is None or it is not float")
                continue
            _check_shapes(grads[i], args[i], labels[i], _fname(backward))
            checked.add(i)
            v = _random_like(args[i], rng)

            def phi(a: Any, i: int = i, dout: Any = dout) -> float:
                full = list(args)
                full[i] = a
                return _vdot(dout, forward(*full)[0])

            est = numerical.directional(phi, (args[i],), (v,), method=method, return_estimate=True,
                                        executor=executor)  # fmt: skip
            evaluations += est.evaluations
            got, num, err = _vdot(grads[i], v), float(est.value), float(est.error)
            scale = np.sqrt(_vdot(grads[i], grads[i]) * _vdot(v, v)) or 1.0
            tol = (atol if atol is not None else atol_frac * scale) + rtol * abs(num) + SAFETY * err
            row = Row(labels[i], (), got, num, tol, what=f"dout.J.v probe {k}")
            row.status = "FAIL" if abs(got - num) > tol else "ok"
            rows.append(row)
            last[i] = (phi, grads[i])
    # Element by element: every checked argument in "full" mode, the failing ones otherwise.
    for i, (along, grad) in last.items():
        if mode == "full" or any(r.status == "FAIL" and r.path == labels[i] for r in rows):
            evaluations += _elements(along, args[i], grad, labels[i], rtol, atol, atol_frac, method, rows,
                                     full=mode == "full", executor=executor)  # fmt: skip
    failed = any(r.status == "FAIL" for r in rows)
    wrong = list(
        dict.fromkeys(r.path.split("[")[0] if r.index else r.path for r in rows if r.status == "FAIL")
    )
    compared = rows or []
    worst = max(compared, key=lambda r: r.abs_error, default=None)
    notes.append(f"checked <backward(dout), v> = <dout, J v> for {probes} random (dout, v) per argument")
    if not checked:
        raise NothingCheckedError(
            f"check_vjp of {name} checked no argument: every gradient {_fname(backward)} returned was None "
            "or no argument is a float array; return the gradient of at least one float argument"
        )
    require_comparisons(name, rows, failed)
    report = CheckReport(
        function=name,
        mode=mode,
        order=1,
        modes=("rev",),
        verdict="FAIL" if failed else "pass",
        max_abs_error=max((r.abs_error for r in compared), default=0.0),
        max_rel_error=max((r.rel_error for r in compared), default=0.0),
        worst=f"{worst.what} {worst.where}" if worst else "-",
        evaluations=evaluations,
        seconds=time.perf_counter() - start,
        tolerance=(
            f"|<grad, v> - <dout, J v>| <= atol + rtol*|numerical| + {SAFETY:g} x finite-difference error; "
            f"rtol={rtol:g}, atol={'given' if atol is not None else f'{atol_frac:g} x |grad||v|'}"
        ),
        rows=rows,
        notes=notes,
        localization=f"the gradient of {', '.join(wrong)} is wrong" if wrong else "",
    )
    if failed and raise_on_failure:
        raise GradientCheckError(report)
    return report


def _check_shapes(grad: Any, arg: Any, label: str, bname: str) -> None:
    gl, gdef = tree_flatten(grad)
    al, adef = tree_flatten(arg)
    if gdef != adef or any(np.shape(g) != np.shape(a) for g, a in zip(gl, al)):
        raise ValueError(
            f"{bname} returned a gradient for {label} with shapes {[np.shape(g) for g in gl]} "
            f"({gdef!r}), but the argument has shapes {[np.shape(a) for a in al]} ({adef!r})."
        )


def _elements(phi: Callable[[Any], float], arg: Any, grad: Any, label: str, rtol: float, atol: float | None,
              atol_frac: float, method: str, rows: list[Row], full: bool, executor: Any) -> int:  # fmt: skip
    """Compare every element of one argument's gradient (its largest misfits go in ``rows``)."""
    est = numerical.grad(phi, arg, method=method, return_estimate=True, executor=executor)
    num_leaves, _ = tree_flatten(est.value)
    err_leaves, _ = tree_flatten(est.error)
    got_leaves, treedef = tree_flatten(grad)
    paths = _paths(treedef)
    scale = max(
        (float(np.max(np.abs(np.asarray(n, np.float64)), initial=0.0)) for n in num_leaves), default=0.0
    )
    scale = scale or 1.0
    for path, got, num, err in zip(paths, got_leaves, num_leaves, err_leaves):
        got = np.asarray(got, np.float64)
        num = np.asarray(num, np.float64)
        tol = (
            (atol if atol is not None else atol_frac * scale) + rtol * np.abs(num) + SAFETY * np.asarray(err)
        )
        bad = np.abs(got - num) > tol
        ratio = (np.abs(got - num) / np.maximum(tol, 1e-300)).ravel()
        keep = set(np.flatnonzero(bad.ravel()).tolist()[:20]) | (
            set(np.argsort(-ratio)[:2].tolist()) if full else set()
        )
        for j in sorted(keep):
            index = tuple(int(t) for t in np.unravel_index(j, got.shape)) if got.shape else ()
            row = Row(f"{label}{path}", index, float(got.ravel()[j]), float(num.ravel()[j]),
                      float(np.ravel(tol)[j]), what="d/dx")  # fmt: skip
            row.status = "FAIL" if bad.ravel()[j] else "ok"
            rows.append(row)
    return int(est.evaluations)


def _argnum(path: str, labels: list[str]) -> int:
    """The argument a row's path belongs to (the longest label it starts with)."""
    return max((i for i, lab in enumerate(labels) if path.startswith(lab)), key=lambda i: len(labels[i]))


def _paths(treedef: Any) -> list[str]:
    return list(paths_of(treedef))
