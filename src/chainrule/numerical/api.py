"""The public finite-difference operators: derivative, grad, jacobian, hessian, directional.

All of them cost O(N) evaluations of the function for N differentiated input
elements (the Hessian O(N**2)), whatever the number of outputs: each input
element is perturbed separately. Backpropagation gives the same gradient for a
small constant multiple of one evaluation; finite differences are its referee,
not its replacement.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from ..pytree import tree_flatten, tree_unflatten
from .differences import difference
from .estimate import Estimate
from .evaluate import Evaluator, executor_for, map_ordered
from .inputs import Inputs
from .stencils import METHODS
from .steps import StepUnderflowWarning, default_step, representable_step

__all__ = ["derivative", "directional", "grad", "hessian", "jacobian"]

Workers = int | Executor | None


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def _steps(inputs: Inputs, method: str, step: Any, exponent_method: str | None = None) -> np.ndarray:
    """The step taken for each flat input element (rounded to be exact)."""
    x0 = inputs.x0
    if step is None:
        h = (
            np.concatenate(
                [
                    default_step(exponent_method or method, x0[inputs.starts[k] : inputs.starts[k + 1]], dt)
                    for k, dt in enumerate(inputs.dtypes)
                ]
            )
            if inputs.size
            else np.zeros(0)
        )
    else:
        h = inputs.broadcast_step(step)
        if np.any(~(h > 0)) or np.any(~np.isfinite(h)):
            raise ValueError(f"step= must be positive and finite; got {step!r}")
    if method == "complex":
        return h
    pieces = []
    for k, dt in enumerate(inputs.dtypes):
        sl = slice(inputs.starts[k], inputs.starts[k + 1])
        start = int(inputs.starts[k])
        pieces.append(representable_step(x0[sl], h[sl], dt, lambda i, s=start: inputs.label(s + i)))
    return np.concatenate(pieces) if pieces else h


def _jacobian_matrix(
    f: Callable[..., Any],
    args: Sequence[Any],
    argnums: int | Sequence[int],
    method: str,
    step: Any,
    estimate: bool,
    workers: Workers,
    upcast: bool,
    scalar: bool = False,
) -> tuple[Inputs, Evaluator, np.ndarray, np.ndarray | None, np.ndarray]:
    _check_method(method)
    inputs = Inputs(f, args, argnums, upcast)
    ev = Evaluator(f, inputs)
    if scalar:
        _scalar_or_raise(ev, f, "grad")
    h = _steps(inputs, method, step)
    eps = inputs.eps()
    x0 = inputs.x0

    def column(i: int) -> tuple[np.ndarray, np.ndarray | None, int]:
        def point(t: Any) -> np.ndarray:
            x = x0.astype(np.result_type(x0.dtype, type(t)))
            x[i] += t
            return x

        return difference(
            ev, point, float(h[i]), method, float(eps[i]), estimate=estimate, where=inputs.label(i)
        )

    executor, owned = executor_for(workers)
    try:
        results = map_ordered(executor, column, range(inputs.size))
    finally:
        if owned and executor is not None:
            executor.shutdown()
    n_out = ev.f0.size
    jac = np.stack([r[0] for r in results], axis=-1) if results else np.zeros((n_out, 0))
    err = None
    if estimate:
        err = np.stack([r[1] for r in results], axis=-1) if results else np.zeros((n_out, 0))
    return inputs, ev, jac, err, h


def _scalar_or_raise(ev: Evaluator, f: Callable[..., Any], what: str) -> None:
    if len(ev.out_shapes) != 1 or ev.out_shapes[0] != ():
        shape = ev.out_shapes[0] if len(ev.out_shapes) == 1 else f"a pytree {ev.out_def!r}"
        raise TypeError(
            f"numerical.{what} needs {getattr(f, '__name__', 'f')} to return a scalar, but its output "
            f"has shape {shape}. Reduce it first (np.sum, np.mean) or use numerical.jacobian."
        )


def grad(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] = 0,
    method: str = "central",
    step: Any = None,
    return_estimate: bool = False,
    workers: Workers = None,
    upcast: bool = True,
) -> Any:
    """The gradient of scalar-valued ``f`` at ``args`` by finite differences.

    Cost: O(N) evaluations of ``f`` for N input elements (2N for "central",
    N for "forward"/"backward"/"complex", 4N for "central4", 8N for
    "richardson"; twice that with ``return_estimate`` for the stencils, which
    then also evaluate at twice the step), against about 3 evaluations for
    backpropagation. Use it to check gradients, not to train.

    Parameters
    ----------
    f
        A function of pytrees of float arrays returning a float scalar.
    *args
        The point. Integer and boolean leaves of differentiated arguments are
        refused with a ``TypeError`` naming them.
    argnums
        Which positional arguments to differentiate (an int, or a tuple for a
        tuple of gradients).
    method
        "forward", "backward" (first order), "central" (second order),
        "central4", "central6" (4th and 6th order), "complex" (complex step:
        exact to rounding, for ``f`` that accepts complex input and is
        analytic: no ``abs``, ``np.real``, comparisons), or "richardson"
        (central differences at h, h/2, h/4, h/8 extrapolated; an error
        estimate comes free).
    step
        The absolute step: a number, or trees shaped like the arguments. By
        default chosen per method, dtype and scale (see
        :mod:`chainrule.numerical.steps`); the step taken is in the
        :class:`Estimate`.
    return_estimate
        Return an :class:`Estimate` ``(value, error, evaluations, step)``
        instead of the plain value.
    workers
        Evaluate in a thread pool of this size (or on the given
        ``concurrent.futures.Executor``). Helps when ``f`` releases the GIL.
    upcast
        Perturb and evaluate float32 inputs as float64 copies (the default),
        so that the referee is not noisier than the code it checks. Results
        are in the working dtype (float64 when upcast).

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> numerical.grad(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), method="central4")
    array([ 3., 12.])
    >>> est = numerical.grad(lambda x: np.sin(x), 0.5, method="richardson", return_estimate=True)
    >>> bool(abs(est.value - np.cos(0.5)) <= est.error < 1e-9), est.evaluations
    (True, 9)
    """
    inputs, ev, jac, err, h = _jacobian_matrix(
        f, args, argnums, method, step, return_estimate, workers, upcast, scalar=True
    )
    value = inputs.unflatten(jac[0])
    if not return_estimate:
        return value
    return Estimate(value, inputs.unflatten(err[0]), ev.count, inputs.unflatten(h, dtype=np.float64))


def jacobian(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] = 0,
    method: str = "central",
    step: Any = None,
    return_estimate: bool = False,
    workers: Workers = None,
    upcast: bool = True,
) -> Any:
    """The Jacobian of ``f`` at ``args`` by finite differences: O(N) evaluations for N inputs.

    Each output leaf of shape ``S`` gets, for each input leaf of shape ``T``,
    a block of shape ``S + T``: the output's tree holds trees shaped like the
    differentiated arguments. See :func:`grad` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> numerical.jacobian(lambda x: x[::-1] ** 2, np.array([1.0, 2.0]), method="complex")
    array([[0., 4.],
           [2., 0.]])
    """
    inputs, ev, jac, err, h = _jacobian_matrix(
        f, args, argnums, method, step, return_estimate, workers, upcast
    )
    value = _split_outputs(ev, inputs, jac)
    if not return_estimate:
        return value
    return Estimate(value, _split_outputs(ev, inputs, err), ev.count, inputs.unflatten(h, dtype=np.float64))


def _split_outputs(ev: Evaluator, inputs: Inputs, mat: np.ndarray) -> Any:
    blocks, pos = [], 0
    for shape in ev.out_shapes:
        n = int(np.prod(shape, dtype=np.int64))
        blocks.append(inputs.unflatten(mat[pos : pos + n].reshape((*shape, inputs.size)), lead=shape))
        pos += n
    return tree_unflatten(ev.out_def, blocks)


def derivative(
    f: Callable[..., Any],
    x: Any,
    *,
    method: str = "central",
    step: Any = None,
    return_estimate: bool = False,
    workers: Workers = None,
    upcast: bool = True,
) -> Any:
    """The derivative of ``f`` with respect to ``x``.

    For a scalar ``x``, ``f`` may return an array of any shape: the result has
    that shape. For an array ``x``, ``f`` must act elementwise (output element
    ``i`` depends on ``x[i]`` only, output shape = ``x.shape``), and every
    element is perturbed at once, so the cost does not grow with ``x.size``;
    for a general function of an array use :func:`jacobian` (O(N)). See
    :func:`grad` for the other parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> numerical.derivative(np.exp, np.array([0.0, 1.0]), method="complex")
    array([1.        , 2.71828183])
    """
    _check_method(method)
    inputs = Inputs(lambda x: f(x), (x,), 0, upcast)
    inputs.names = ["x"]
    ev = Evaluator(f, inputs)
    h = _steps(inputs, method, step)
    x0 = inputs.x0
    if inputs.size > 1 and ev.out_shapes != [np.shape(x)]:
        raise ValueError(
            f"derivative(f, x) with an array x needs an elementwise f (output shape {np.shape(x)}), "
            f"but f returned {ev.out_def!r} with shapes {ev.out_shapes}. Use numerical.jacobian."
        )

    def point(t: Any) -> np.ndarray:
        return x0 + t * h

    executor, owned = executor_for(workers)
    try:
        value, err, _ = difference(
            ev, point, 1.0, method, float(np.max(inputs.eps(), initial=0.0)),
            estimate=return_estimate, where="x", executor=executor,
        )  # fmt: skip
    finally:
        if owned and executor is not None:
            executor.shutdown()
    value = value / h if inputs.size > 1 else value / h[0]
    out = _reshape_outputs(ev, value)
    if not return_estimate:
        return out
    err = err / h if inputs.size > 1 else err / h[0]
    return Estimate(out, _reshape_outputs(ev, err), ev.count, inputs.unflatten(h, dtype=np.float64))


def _reshape_outputs(ev: Evaluator, vec: np.ndarray) -> Any:
    leaves, pos = [], 0
    for shape in ev.out_shapes:
        n = int(np.prod(shape, dtype=np.int64))
        leaf = vec[pos : pos + n].reshape(shape)
        leaves.append(leaf[()] if leaf.ndim == 0 else leaf)
        pos += n
    return tree_unflatten(ev.out_def, leaves)


def directional(
    f: Callable[..., Any],
    args: Sequence[Any],
    direction: Sequence[Any],
    *,
    method: str = "central",
    step: float | None = None,
    return_estimate: bool = False,
    workers: Workers = None,
    upcast: bool = True,
) -> Any:
    """The directional derivative ``J(args) @ direction`` of ``f``, output-shaped.

    ``args`` and ``direction`` are tuples of pytrees of the same structure
    (as for :func:`chainrule.jvp`). The cost does not depend on the number of
    inputs: a handful of evaluations (2 for "central"). The default step is
    the method's ``eps**(1/(p+1)) * max(1, max|x|) / max|direction|``.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> float(numerical.directional(lambda x, y: np.sum(x * y), (np.ones(3), np.arange(3.0)),
    ...                             (np.ones(3), np.zeros(3)), method="central4"))
    3.0
    """
    _check_method(method)
    if not isinstance(args, tuple | list) or not isinstance(direction, tuple | list):
        raise TypeError("directional(f, args, direction) takes args and direction as tuples, e.g. (x,), (v,)")
    nums = tuple(range(len(args)))
    inputs = Inputs(f, args, nums, upcast)
    dirs = Inputs(f, direction, nums, False)
    if dirs.shapes != inputs.shapes or dirs.treedefs != inputs.treedefs:
        raise ValueError(
            "directional: the direction must have the structure and shapes of args "
            f"({inputs.treedefs} {inputs.shapes} vs {dirs.treedefs} {dirs.shapes})"
        )
    d = dirs.x0.astype(np.float64)
    dmax = float(np.max(np.abs(d), initial=0.0))
    ev = Evaluator(f, inputs)
    if dmax == 0:
        zero = np.zeros(ev.f0.shape)
        out = _reshape_outputs(ev, zero)
        return Estimate(out, _reshape_outputs(ev, zero), ev.count, 0.0) if return_estimate else out
    x0 = inputs.x0
    eps = float(np.max(inputs.eps()))
    if step is None:
        xmax = float(np.max(np.abs(x0[d != 0]), initial=0.0))
        h = float(default_step(method, np.array(xmax), inputs.dtype)) / dmax
    else:
        h = float(step)
    if method != "complex":
        moved = (x0 + h * d) - x0
        if not np.any(moved != 0):
            raise ValueError(
                f"the step {h:.3g} along the direction underflows the precision of args: x + h v == x"
            )
        tiny = (d != 0) & (np.abs(moved - h * d) > 0.1 * np.abs(h * d))
        if np.any(tiny):
            i = int(np.flatnonzero(tiny)[0])
            warnings.warn(
                f"the step {h:.3g} along the direction is below the precision of "
                f"{inputs.label(i)} = {float(x0[i]):.17g} and {int(np.sum(tiny))} input(s) in all; the "
                "directional derivative will be inaccurate. Use a larger step.",
                StepUnderflowWarning,
                stacklevel=2,
            )

    def point(t: Any) -> np.ndarray:
        return x0 + t * d

    executor, owned = executor_for(workers)
    try:
        value, err, _ = difference(
            ev, point, h, method, eps, estimate=return_estimate, where="args along direction",
            executor=executor,
        )  # fmt: skip
    finally:
        if owned and executor is not None:
            executor.shutdown()
    out = _reshape_outputs(ev, value)
    if not return_estimate:
        return out
    return Estimate(out, _reshape_outputs(ev, err), ev.count, h)


def hessian(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] = 0,
    step: Any = None,
    return_estimate: bool = False,
    workers: Workers = None,
    upcast: bool = True,
) -> Any:
    """The Hessian of scalar-valued ``f`` by second-order central differences.

    Cost: ``2 N**2`` evaluations for N input elements (4 per pair above the
    diagonal, 2 per diagonal element); the default step is
    ``eps**(1/4) * max(1, |x|)``. For an argument of shape ``S`` the result
    has shape ``S + S``; pytree arguments give a tree (rows) of trees
    (columns). The error estimate of ``return_estimate`` is rounding only.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> np.round(numerical.hessian(lambda x: x[0] ** 2 * x[1], np.array([1.0, 3.0])), 6)
    array([[6., 2.],
           [2., 0.]])
    """
    inputs = Inputs(f, args, argnums, upcast)
    ev = Evaluator(f, inputs)
    _scalar_or_raise(ev, f, "hessian")
    eps = inputs.eps()
    if step is None:
        x0 = inputs.x0
        h = representable_step(x0, eps**0.25 * np.maximum(1.0, np.abs(x0)), inputs.dtype, inputs.label)
    else:
        h = _steps(inputs, "central", step)
    x0 = inputs.x0
    f0 = float(ev.f0[0])
    n = inputs.size

    def at(i: int, si: float, j: int, sj: float) -> float:
        x = x0.copy()
        x[i] += si
        x[j] += sj
        return float(
            ev.checked(x, inputs.label(i) if i == j else f"{inputs.label(i)} and {inputs.label(j)}", si)[0]
        )

    def entry(ij: tuple[int, int]) -> tuple[float, float]:
        i, j = ij
        hi, hj = float(h[i]), float(h[j])
        if i == j:
            up, down = at(i, hi, i, 0.0), at(i, -hi, i, 0.0)
            value = (up - 2.0 * f0 + down) / (hi * hi)
            return value, 4.0 * eps[i] * max(abs(up), abs(f0), abs(down)) * 4.0 / (hi * hi)
        pp, pm = at(i, hi, j, hj), at(i, hi, j, -hj)
        mp, mm = at(i, -hi, j, hj), at(i, -hi, j, -hj)
        value = (pp - pm - mp + mm) / (4.0 * hi * hj)
        return value, 4.0 * eps[i] * max(abs(pp), abs(pm), abs(mp), abs(mm)) / (hi * hj)

    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    executor, owned = executor_for(workers)
    try:
        results = map_ordered(executor, entry, pairs)
    finally:
        if owned and executor is not None:
            executor.shutdown()
    hess = np.zeros((n, n))
    err = np.zeros((n, n))
    for (i, j), (v, e) in zip(pairs, results):
        hess[i, j] = hess[j, i] = v
        err[i, j] = err[j, i] = e
    value = _blocks(inputs, hess)
    if not return_estimate:
        return value
    return Estimate(value, _blocks(inputs, err), ev.count, inputs.unflatten(h, dtype=np.float64))


def _blocks(inputs: Inputs, mat: np.ndarray) -> Any:
    rows = []
    for k, shape in enumerate(inputs.shapes):
        rows.append(
            inputs.unflatten(mat[inputs.starts[k] : inputs.starts[k + 1]].reshape((*shape, -1)), lead=shape)
        )
    if (
        len(rows) == 1
        and isinstance(inputs.argnums, int)
        and tree_flatten(inputs.args[inputs.nums[0]])[1].kind == "leaf"
    ):
        return rows[0]
    return inputs.tree_of(rows)
