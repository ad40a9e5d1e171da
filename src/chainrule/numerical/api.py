"""The public finite-difference operators: derivative, grad, jacobian, directional, hessian.

All of them cost O(N) evaluations of the function for N differentiated input
elements (the Hessian O(N**2)), whatever the number of outputs: each input
element is perturbed separately. Backpropagation gives the same gradient for a
small constant multiple of one evaluation; finite differences are its referee,
not its replacement. The Hessian is computed in :mod:`.second_differences`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..pytree import tree_unflatten
from .adaptive import plan_steps
from .differences import LineResult, difference
from .estimate import STATUS, Estimate
from .evaluate import Evaluator
from .executors import job_runner
from .inputs import Inputs
from .line import Line, describe_direction, describe_element, describe_elementwise
from .options import Options, Workers, complex_convention
from .second_differences import hessian
from .steps import StepUnderflowWarning, default_step, leaf_floor, representable_step

__all__ = ["derivative", "directional", "grad", "hessian", "jacobian"]


def _steps(
    inputs: Inputs, ev: Evaluator, opts: Options, step: Any, elementwise: bool = False
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The step unit of each flat input element (rounded to be exact), and the adaptive plan.

    In an elementwise derivative each element is its own problem, on its own
    scale; in a gradient the elements of one array share the array's scale.
    """
    x0 = inputs.x0
    plan = (np.full(x0.size, 2.0), np.zeros(x0.size, dtype=int))
    floor = 0.0 if elementwise else leaf_floor(x0, inputs.starts)
    if step is None:
        if opts.method == "adaptive":
            p = plan_steps(x0, opts.n, ev.eps)
            h, plan = p.h0, (p.ratio, p.levels)
        else:
            h = default_step(opts.method, x0, n=opts.n, accuracy=opts.accuracy, eps=ev.eps, floor=floor)
    else:
        h = inputs.broadcast_step(step)
        if np.any(~(h > 0)) or np.any(~np.isfinite(h)):
            raise ValueError(f"step= must be positive and finite; got {step!r}")
        if opts.method == "adaptive":
            plan = (np.full(x0.size, 2.0), plan_steps(np.ones(x0.size), opts.n, ev.eps).levels)
    if opts.method == "complex":
        return h, plan
    pieces = []
    for k, dt in enumerate(inputs.dtypes):
        sl = slice(inputs.starts[k], inputs.starts[k + 1])
        start = int(inputs.starts[k])

        def label(i: int, s: int = start) -> str:
            return inputs.label(s + i)

        pieces.append(representable_step(x0[sl], h[sl], dt, label))
    return (np.concatenate(pieces) if pieces else h), plan


def _refuse_complex_step(inputs: Inputs, opts: Options) -> None:
    if opts.method == "complex" and inputs.has_complex:
        raise TypeError(
            "method='complex' perturbs inputs along the imaginary axis, so it cannot differentiate "
            "with respect to complex inputs; use method='central4' or 'adaptive'."
        )


def _summary(results: Sequence[LineResult], opts: Options, values: np.ndarray, errors: np.ndarray | None
             ) -> tuple[int, str]:  # fmt: skip
    """The worst status over all lines (a tolerance applies to every method), and the notes."""
    status = min((r.status for r in results), default=0)
    tol = opts.tolerance
    if tol is not None and errors is not None and opts.method != "adaptive":
        met = np.all(errors <= tol[0] + tol[1] * np.abs(values))
        status = min(status, 0 if met else -2)
    notes = list(dict.fromkeys(r.note for r in results if r.note))
    text = STATUS.get(status, "")
    if notes:
        text += "; " + "; ".join(notes[:3]) + (f" (and {len(notes) - 3} more)" if len(notes) > 3 else "")
    return status, text


def _columns(
    f: Callable[..., Any],
    args: Sequence[Any],
    argnums: int | Sequence[int],
    opts: Options,
    step: Any,
    estimate: bool,
    workers: Workers,
    upcast: bool,
    kwargs: dict[str, Any] | None,
    vectorized: bool,
    scalar: bool = False,
    executor: Any = None,
) -> tuple[Inputs, Evaluator, np.ndarray, np.ndarray | None, np.ndarray, list[LineResult]]:
    inputs = Inputs(f, args, argnums, upcast)
    ev = Evaluator(f, inputs, kwargs, vectorized)
    if scalar:
        _scalar_or_raise(ev, f, "grad")
    _refuse_complex_step(inputs, opts)
    h, plan = _steps(inputs, ev, opts, step)
    x0 = inputs.x0

    def column(i: int) -> LineResult:
        direction = np.zeros(x0.size)
        direction[i] = h[i]
        describe = describe_element(lambda: inputs.label(i), float(x0[i]), float(h[i]))
        line = Line(ev, x0, direction, describe, element=i)
        return difference(
            line, opts.method, opts.n, estimate=estimate, accuracy=opts.accuracy,
            tolerance=opts.tolerance, unit=float(h[i]), plan=(float(plan[0][i]), int(plan[1][i])),
        )  # fmt: skip

    with job_runner(ev, workers, executor) as run:
        results = run(column, range(inputs.size))
    n_out = ev.f0.size
    dtype = np.result_type(ev.f0, np.float64)
    jac = np.stack([r.value for r in results], axis=-1) / h if results else np.zeros((n_out, 0), dtype)
    err = None
    if estimate:
        errors = [r.estimated_error() for r in results]
        err = np.stack(errors, axis=-1) / h if errors else np.zeros((n_out, 0))
    return inputs, ev, jac, err, h, results


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
    executor: Any = None,
    upcast: bool = True,
    kwargs: dict[str, Any] | None = None,
    vectorized: bool = False,
    holomorphic: bool = False,
    accuracy: int | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> Any:
    """The gradient of scalar-valued ``f`` at ``args`` by finite differences.

    Cost: O(N) evaluations of ``f`` for N input elements (2N for "central",
    N for "forward"/"backward", 5N for "complex" (one complex evaluation, four
    real ones to check that ``f`` is analytic), 4N for "central4", 8N for
    "richardson", up to 28N for "adaptive"; twice that with
    ``return_estimate`` for the stencils, which then also evaluate at twice
    the step), against about 3 evaluations for backpropagation. Use it to
    check gradients, not to train.

    Parameters
    ----------
    f
        A function of pytrees of float (or complex) arrays returning a real scalar.
    *args
        The point, and any other arguments of ``f``. Integer and boolean
        leaves of differentiated arguments are refused with a ``TypeError``
        naming them.
    argnums
        Which positional arguments to differentiate (an int, or a tuple for a
        tuple of gradients).
    method
        "forward", "backward" (first order), "central" (second order),
        "central4", "central6" (4th and 6th order), "complex" (complex step:
        exact to rounding, for ``f`` that accepts complex input and is
        analytic: no ``abs``, ``np.real``, comparisons), "richardson"
        (central differences at h, h/2, h/4, h/8 extrapolated; an error
        estimate comes free) or "adaptive" (a sequence of steps, extrapolated,
        the best one chosen per element: the most accurate, and the most
        expensive).
    step
        The absolute step: a number, or trees shaped like the arguments. By
        default chosen per method, dtype and scale (see
        :mod:`chainrule.numerical.steps`); the step taken is in the
        :class:`Estimate`. For "adaptive", the largest step of the sequence.
    return_estimate
        Return an :class:`Estimate` ``(value, error, evaluations, step)``
        (with ``status`` and ``message``) instead of the plain value.
    workers
        Evaluate in a thread pool of this size (or on the given
        ``concurrent.futures.Executor``). Helps when ``f`` releases the GIL.
    executor
        Evaluate on any ``concurrent.futures.Executor`` (threads, processes,
        ``distributed.Client(...).get_executor()``) or a
        ``distributed.Client``: the points are sent in batches, several per
        task, and the result (value, error, evaluations) is identical to the
        serial run's. A function that raises on a worker raises
        :class:`~chainrule.numerical.EvaluationError` naming the point. See
        :mod:`chainrule.numerical.executors`. Not together with ``workers``.
    upcast
        Perturb and evaluate float32 inputs as float64 copies (the default),
        so that the referee is not noisier than the code it checks. The
        result has the dtype of each input (float32 stays float32).
    kwargs
        Keyword arguments for ``f``, passed to every call.
    vectorized
        ``f`` evaluates many points in one call: each differentiated leaf
        comes with a new leading axis (one entry per point) and ``f``
        returns its outputs stacked along a leading axis.
    holomorphic
        For complex inputs and complex-valued ``f``: return ``df/dz``. Without
        it, complex inputs of a real-valued ``f`` give JAX's convention
        ``df/dx - i df/dy``.
    accuracy
        The order of accuracy of a "forward", "backward" or "central" stencil.
    atol, rtol
        A target for the error estimate (``error <= atol + rtol |value|``):
        the adaptive method stops as soon as it is met; for every method the
        :class:`Estimate`'s status says whether it was.

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
    opts = Options(method, 1, accuracy, atol, rtol)
    inputs, ev, jac, err, h, results = _columns(
        f, args, argnums, opts, step, return_estimate or opts.tolerance is not None, workers, upcast,
        kwargs, vectorized, scalar=True, executor=executor,
    )  # fmt: skip
    convention = complex_convention(ev, inputs, holomorphic, "grad", f)
    if ev.complex_output and not holomorphic:
        raise TypeError(
            "numerical.grad needs a real-valued function; this one returns a complex value. Use "
            "numerical.jacobian (or derivative) for complex outputs, or holomorphic=True for a "
            "holomorphic function of complex inputs."
        )
    value = inputs.unflatten(jac[0], complex_as=convention)
    if not return_estimate:
        return value
    assert err is not None  # _columns estimated the errors: return_estimate was passed on
    status, message = _summary(results, opts, jac[0], err[0])
    return Estimate(
        value, inputs.unflatten(err[0], dtype=np.float64, complex_as="error"), ev.count,
        inputs.unflatten(_chosen(results, h), dtype=np.float64, complex_as="step"), status, message,
    )  # fmt: skip


def _chosen(results: Sequence[LineResult], h: np.ndarray) -> np.ndarray:
    """The step each column used (the adaptive method's choice, the largest over outputs)."""
    return np.array([float(np.max(np.asarray(r.step) * hi, initial=0.0)) for r, hi in zip(results, h)])


def jacobian(
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
    holomorphic: bool = False,
    accuracy: int | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> Any:
    """The Jacobian of ``f`` at ``args`` by finite differences: O(N) evaluations for N inputs.

    Each output leaf of shape ``S`` gets, for each input leaf of shape ``T``,
    a block of shape ``S + T``: the output's tree holds trees shaped like the
    differentiated arguments. Complex-valued outputs give complex blocks.
    See :func:`grad` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> numerical.jacobian(lambda x: x[::-1] ** 2, np.array([1.0, 2.0]), method="complex")
    array([[0., 4.],
           [2., 0.]])
    """
    opts = Options(method, 1, accuracy, atol, rtol)
    inputs, ev, jac, err, h, results = _columns(
        f, args, argnums, opts, step, return_estimate or opts.tolerance is not None, workers, upcast,
        kwargs, vectorized, executor=executor,
    )  # fmt: skip
    convention = complex_convention(ev, inputs, holomorphic, "jacobian", f)
    value = _split_outputs(ev, inputs, jac, convention)
    if not return_estimate:
        return value
    assert err is not None  # _columns estimated the errors: return_estimate was passed on
    status, message = _summary(results, opts, jac, err)
    return Estimate(
        value, _split_outputs(ev, inputs, err, "error", np.float64), ev.count,
        inputs.unflatten(_chosen(results, h), dtype=np.float64, complex_as="step"), status, message,
    )  # fmt: skip


def _split_outputs(ev: Evaluator, inputs: Inputs, mat: np.ndarray, convention: str, dtype: Any = None) -> Any:
    blocks, pos = [], 0
    for shape in ev.out_shapes:
        n = int(np.prod(shape, dtype=np.int64))
        blocks.append(
            inputs.unflatten(
                mat[pos : pos + n].reshape((*shape, inputs.size)),
                lead=shape,
                dtype=dtype,
                complex_as=convention,
            )
        )
        pos += n
    return tree_unflatten(ev.out_def, blocks)


def derivative(
    f: Callable[..., Any],
    x: Any,
    *args: Any,
    n: int = 1,
    method: str = "central",
    step: Any = None,
    return_estimate: bool = False,
    workers: Workers = None,
    executor: Any = None,
    upcast: bool = True,
    kwargs: dict[str, Any] | None = None,
    vectorized: bool = False,
    holomorphic: bool = False,
    accuracy: int | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> Any:
    """The ``n``-th derivative of ``f`` with respect to ``x`` (``f(x, *args, **kwargs)``).

    For a scalar ``x``, ``f`` may return an array of any shape: the result has
    that shape. For an array ``x``, ``f`` must act elementwise (output element
    ``i`` depends on ``x[i]`` only, output shape = ``x.shape``), and every
    element is perturbed at once, so the cost does not grow with ``x.size``;
    for a general function of an array use :func:`jacobian` (O(N)).

    Parameters
    ----------
    n
        The derivative order, 1 to 8. Every method but "complex" offers any
        order: the stencil's weights come from Fornberg's algorithm.
    holomorphic
        Required for a complex ``x``: the derivative ``df/dz`` of a holomorphic
        ``f``, taken along the real axis.

    See :func:`grad` for the other parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> numerical.derivative(np.exp, np.array([0.0, 1.0]), method="complex")
    array([1.        , 2.71828183])
    >>> est = numerical.derivative(np.sin, 0.5, n=3, method="adaptive", return_estimate=True)
    >>> bool(abs(est.value + np.cos(0.5)) <= est.error < 1e-8)
    True
    """
    opts = Options(method, n, accuracy, atol, rtol)
    inputs = Inputs(f, (x, *args), 0, upcast)
    inputs.names = ["x"]  # messages say "x", whatever f calls its first parameter
    ev = Evaluator(f, inputs, kwargs, vectorized)
    _refuse_complex_step(inputs, opts)
    if inputs.has_complex and not holomorphic:
        raise TypeError(
            "numerical.derivative with a complex x differentiates along the real axis, which is "
            "df/dz only for a holomorphic f: pass holomorphic=True if f is holomorphic, or use "
            "numerical.grad (real-valued f) or numerical.jacobian."
        )
    h, plan = _steps(inputs, ev, opts, step, elementwise=True)
    x0 = inputs.x0
    elements = int(np.size(x))
    if elements > 1 and ev.out_shapes != [np.shape(x)]:
        raise ValueError(
            f"derivative(f, x) with an array x needs an elementwise f (output shape {np.shape(x)}), "
            f"but f returned {ev.out_def!r} with shapes {ev.out_shapes}. Use numerical.jacobian."
        )
    direction = h.copy()
    if inputs.has_complex:
        direction[elements:] = 0.0  # move the real parts only
    unit = h[:elements] if elements > 1 else float(h[0])
    shared = (float(np.max(plan[0], initial=2.0)), int(np.max(plan[1], initial=0)))
    with job_runner(ev, workers, executor) as run:

        def one(_: int) -> LineResult:
            line = Line(ev, x0, direction, describe_elementwise(inputs.label, x0, h), run.pool)
            estimate = return_estimate or opts.tolerance is not None
            return difference(line, opts.method, n, estimate=estimate, accuracy=accuracy,
                              tolerance=opts.tolerance, unit=unit, plan=shared)  # fmt: skip

        (res,) = run(one, [0])
    value = res.value / np.asarray(unit) ** n
    out = _reshape_outputs(ev, value, _native_dtype(inputs, ev))
    if not return_estimate:
        return out
    err = res.error / np.asarray(unit) ** n
    status, message = _summary([res], opts, value, err)
    chosen = np.asarray(res.step) * unit
    step_out = inputs.unflatten(np.broadcast_to(chosen, (elements,)) if elements > 1 else
                                np.full(inputs.size, float(np.max(chosen))), dtype=np.float64,
                                complex_as="step")  # fmt: skip
    return Estimate(out, _reshape_outputs(ev, err, np.float64), ev.count, step_out, status, message)


def _native_dtype(inputs: Inputs, ev: Evaluator) -> Any:
    """float32 stays float32: the result dtype of a float32 input and a real output is float32."""
    native = [np.finfo(d).dtype for d in inputs.native] + [np.dtype(np.float64)]
    real = np.result_type(*native[:-1]) if inputs.native else native[-1]
    return np.result_type(real, np.complex64) if ev.complex_output else real


def _reshape_outputs(ev: Evaluator, vec: np.ndarray, dtype: Any = None) -> Any:
    leaves, pos = [], 0
    for shape in ev.out_shapes:
        n = int(np.prod(shape, dtype=np.int64))
        leaf = vec[pos : pos + n].reshape(shape)
        if dtype is not None:
            leaf = leaf.astype(dtype)
        leaves.append(leaf[()] if leaf.ndim == 0 else leaf)
        pos += n
    return tree_unflatten(ev.out_def, leaves)


def directional(
    f: Callable[..., Any],
    args: Sequence[Any],
    direction: Sequence[Any],
    *,
    n: int = 1,
    method: str = "central",
    step: float | None = None,
    return_estimate: bool = False,
    workers: Workers = None,
    executor: Any = None,
    upcast: bool = True,
    kwargs: dict[str, Any] | None = None,
    vectorized: bool = False,
    accuracy: int | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> Any:
    """The directional derivative ``d^n/dt^n f(args + t direction)`` at 0, output-shaped.

    ``args`` and ``direction`` are tuples of pytrees of the same structure
    (as for :func:`chainrule.jvp`); for ``n = 1`` this is ``J(args) @ direction``.
    The cost does not depend on the number of inputs: a handful of
    evaluations (2 for "central"). The default step is the method's, relative
    to the largest ``|x|`` the direction moves, divided by ``max|direction|``.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import numerical
    >>> float(numerical.directional(lambda x, y: np.sum(x * y), (np.ones(3), np.arange(3.0)),
    ...                             (np.ones(3), np.zeros(3)), method="central4"))
    3.0
    """
    opts = Options(method, n, accuracy, atol, rtol)
    if not isinstance(args, tuple | list) or not isinstance(direction, tuple | list):
        raise TypeError("directional(f, args, direction) takes args and direction as tuples, e.g. (x,), (v,)")
    nums = tuple(range(len(args)))
    inputs = Inputs(f, args, nums, upcast)
    dirs = Inputs(f, direction, nums, False)
    if dirs.shapes != inputs.shapes or dirs.treedefs != inputs.treedefs or dirs.size != inputs.size:
        raise ValueError(
            "directional: the direction must have the structure, shapes and kind (real or complex) of "
            f"args ({inputs.treedefs} {inputs.shapes} vs {dirs.treedefs} {dirs.shapes})"
        )
    _refuse_complex_step(inputs, opts)
    d = dirs.x0.astype(np.float64)
    dmax = float(np.max(np.abs(d), initial=0.0))
    ev = Evaluator(f, inputs, kwargs, vectorized)
    if dmax == 0:
        zero = np.zeros(ev.f0.shape, dtype=ev.f0.dtype)
        out = _reshape_outputs(ev, zero)
        return Estimate(out, _reshape_outputs(ev, np.abs(zero)), ev.count, 0.0) if return_estimate else out
    x0 = inputs.x0
    plan = (2.0, 0)
    if step is None:
        xmax = np.array(float(np.max(np.abs(x0[d != 0]), initial=0.0)))
        if method == "adaptive":
            p = plan_steps(xmax, n, ev.eps)
            h, plan = float(p.h0) / dmax, (float(p.ratio), int(p.levels))
        else:
            h = float(default_step(method, xmax, n=n, accuracy=accuracy, eps=ev.eps)) / dmax
    else:
        h = float(step)
        if method == "adaptive":
            plan = (2.0, int(plan_steps(np.ones(1), n, ev.eps).levels[0]))
    if method != "complex":
        _check_direction_step(x0, d, h, inputs)

    with job_runner(ev, workers, executor) as run:

        def one(_: int) -> LineResult:
            line = Line(ev, x0, h * d, describe_direction("args", h), run.pool)
            return difference(line, opts.method, n, estimate=return_estimate or opts.tolerance is not None,
                              accuracy=accuracy, tolerance=opts.tolerance, unit=h, plan=plan)  # fmt: skip

        (res,) = run(one, [0])
    value = res.value / h**n
    out = _reshape_outputs(ev, value)
    if not return_estimate:
        return out
    err = res.estimated_error() / h**n
    status, message = _summary([res], opts, value, err)
    return Estimate(out, _reshape_outputs(ev, err), ev.count, float(np.max(res.step)) * h, status, message)


def _check_direction_step(x0: np.ndarray, d: np.ndarray, h: float, inputs: Inputs) -> None:
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
            stacklevel=3,
        )
