"""Differentiable ``scipy.integrate.odeint``, ``solve_ivp`` and ``trapezoid``.

The ODE solvers are differentiated by the adjoint method (Pontryagin; Chen,
Rubanova, Bettencourt & Duvenaud, "Neural Ordinary Differential Equations",
NeurIPS 2018, Alg. 1), in ``y0``, the output times and the extra ``args``:
the forward pass runs SciPy's solver on plain values; the reverse pass
integrates the augmented state ``[y, a, a_args]`` backwards between
consecutive output times, with ``da/dt = -a^T df/dy`` and
``da_args/dt = -a^T df/dargs`` (vector-Jacobian products of ``f`` by
chainrule), adding each output's cotangent to ``a`` at its time. The
cotangent of an output time ``t_i`` is ``g_i . f(t_i, y_i)``, that of ``t_0``
is ``-a(t_0) . f(t_0, y_0)``.

The backward integration is itself a call of the same differentiable solver,
so second derivatives (and forward mode, derived from the reverse rule by
linearity) follow; each order costs another, larger, adjoint solve.

Accuracy: the derivatives are those of the exact flow, computed to the
solver's tolerance (``rtol``/``atol``), not the derivatives of the solver's
discrete steps. Pass tight tolerances when comparing with finite differences.

The dynamics must receive every traced quantity through ``y``, ``t`` or
``args``: a function that closes over a traced value is refused (its
derivative would be lost), with that advice.

>>> import numpy as np
>>> import chainrule as cr
>>> decay = lambda y, t, k: -k * y
>>> t = np.array([0.0, 1.0])
>>> g = cr.grad(lambda k: odeint(decay, np.array([1.0]), t, args=(k,), rtol=1e-10, atol=1e-12)[-1, 0])(0.5)
>>> bool(np.isclose(g, -np.exp(-0.5)))  # d/dk exp(-k t) at t = 1
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate as si
from scipy.optimize import OptimizeResult

from ..derivatives import custom_vjp, vjp
from ..extend import Tracer, UnsupportedOperationError, contains_tracer, is_batched, primal, refuse_complex

__all__ = ["odeint", "solve_ivp", "trapezoid"]

# fun(t, y, *args) -> dy/dt; a solver maps (plain dynamics, plain y0, plain times) -> (T, n) states
Dynamics = Callable[..., Any]
Solver = Callable[[Callable[[float, np.ndarray], np.ndarray], np.ndarray, np.ndarray], np.ndarray]


def _flat(out: Any) -> Any:
    """The dynamics' value as one vector (a list or tuple of scalars or arrays is joined)."""
    if isinstance(out, list | tuple):
        return np.concatenate([np.reshape(o, (-1,)) for o in out])
    return np.reshape(out, (-1,))


def _plain_dynamics(
    name: str, fun: Dynamics, args: tuple[Any, ...]
) -> Callable[[float, np.ndarray], np.ndarray]:
    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        out = fun(t, y, *args)
        if contains_tracer(out) or type(out) is Tracer:
            raise TypeError(
                f"{name}: the dynamics returned a traced value on plain inputs: the function closes over a "
                "traced variable, whose derivative would be lost. Pass it through args= instead."
            )
        return np.asarray(_flat(out), dtype=np.float64)

    return rhs


def _trajectory(name: str, fun: Dynamics, y0: Any, times: Any, args: tuple[Any, ...], solver: Solver) -> Any:
    """The states at ``times`` (shape ``(T, n)``), differentiable in ``y0``, ``times`` and ``args``."""
    if any(is_batched(v) for v in (y0, times, *args)):
        # The solver steps each example by its own error control: there is no batched solve.
        # (jacfwd/jacrev take this refusal as the cue to loop over their unit vectors.)
        raise UnsupportedOperationError(
            f"{name} under chainrule.vmap: each example needs its own adaptive solve. Loop over "
            "the examples in Python (or stack independent systems into one state vector)."
        )
    if not (type(y0) is Tracer or type(times) is Tracer or any(type(a) is Tracer for a in args)):
        return solver(_plain_dynamics(name, fun, args), np.asarray(y0), np.asarray(times))

    @custom_vjp
    def trajectory(y0: Any, times: Any, *args: Any) -> Any:
        return _trajectory(name, fun, y0, times, args, solver)

    def fwd(y0: Any, times: Any, *args: Any) -> Any:
        ys = _trajectory(name, fun, y0, times, args, solver)
        return ys, (ys, times, args)

    def bwd(res: Any, g: Any) -> tuple[Any, ...]:
        ys, times, args = res
        return _adjoint(name, fun, ys, times, args, g, solver)

    trajectory.defvjp(fwd, bwd)
    return trajectory(y0, times, *args)


def _augmented(fun: Dynamics, n: int, shapes: list[tuple[int, ...]]) -> Dynamics:
    """The dynamics of ``[y, a, a_args]`` (Chen et al. 2018, Alg. 1)."""

    def aug(t: Any, state: Any, *args: Any) -> Any:
        y, a = state[:n], state[n : 2 * n]
        dy, pull = vjp(lambda y, *args: _flat(fun(t, y, *args)), y, *args)
        cots = pull(a)
        parts = [dy, -cots[0]] + [-np.reshape(c, (-1,)) for c in cots[1:]]
        return np.concatenate(parts)

    return aug


def _adjoint(
    name: str, fun: Dynamics, ys: Any, times: Any, args: tuple[Any, ...], g: Any, solver: Solver
) -> tuple[Any, ...]:
    n = np.shape(ys)[1]
    count = np.shape(ys)[0]
    shapes = [np.shape(a) for a in args]
    sizes = [int(np.prod(s)) for s in shapes]
    aug = _augmented(fun, n, shapes)

    def f_at(i: int) -> Any:
        return _flat(fun(times[i], ys[i], *args))

    a = g[count - 1]
    adj_args = np.zeros(sum(sizes))
    t_bar: list[np.ndarray] = [np.zeros(1)] * count  # every entry is set below
    for i in range(count - 1, 0, -1):
        t_bar[i] = np.reshape(np.sum(g[i] * f_at(i)), (1,))
        state0 = np.concatenate([ys[i], a, adj_args])
        span = np.stack([times[i], times[i - 1]])
        state = _trajectory(name, aug, state0, span, args, solver)[1]
        a = state[n : 2 * n]
        adj_args = state[2 * n :]
        if i > 1:
            a = a + g[i - 1]
    if count > 1:
        t_bar[0] = np.reshape(-np.sum(a * f_at(0)), (1,))
        y0_bar = a + g[0]
    else:
        t_bar[0] = np.zeros(1)
        y0_bar = g[0]
    args_bar, start = [], 0
    for shape, size in zip(shapes, sizes):
        args_bar.append(np.reshape(adj_args[start : start + size], shape))
        start += size
    return (y0_bar, np.concatenate(t_bar), *args_bar)


def _float_args(name: str, args: Any) -> tuple[Any, ...]:
    if not isinstance(args, tuple | list):
        args = (args,)
    out = []
    for a in args:
        refuse_complex(name, a)
        out.append(a if type(a) is Tracer else np.asarray(a, dtype=np.float64))
    return tuple(out)


def _check_times(name: str, times: Any) -> None:
    t = np.asarray(primal(times))
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"{name}: the times must be a 1-D array, got shape {t.shape}")
    steps = np.diff(t)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError(f"{name}: the times must be strictly monotonic (increasing or decreasing)")


def odeint(
    func: Dynamics,
    y0: Any,
    t: Any,
    args: tuple[Any, ...] = (),
    Dfun: Any = None,
    col_deriv: int = 0,
    full_output: int = 0,
    rtol: float | None = None,
    atol: float | None = None,
    tfirst: bool = False,
    **options: Any,
) -> Any:
    """Integrate ``dy/dt = func(y, t, *args)`` with LSODA, as :func:`scipy.integrate.odeint`.

    Returns the states at the times ``t`` (shape ``(len(t), len(y0))``),
    differentiable in ``y0``, ``t`` and ``args`` by the adjoint method (see
    the module docstring). ``Dfun`` and ``full_output`` are refused (the
    adjoint pass has its own Jacobian products); other options (``hmax``,
    ``mxstep``, ...) are passed to SciPy, for the forward and adjoint solves.
    """
    name = "chainrule.scipy.integrate.odeint"
    if Dfun is not None or full_output:
        raise ValueError(
            f"{name}: Dfun and full_output are not supported (the adjoint pass computes its own)"
        )
    refuse_complex(name, y0, t)
    args = _float_args(name, args)
    _check_times(name, t)
    y0 = np.reshape(y0, (-1,))
    t = t if type(t) is Tracer else np.asarray(t, dtype=np.float64)
    kw: dict[str, Any] = dict(options)
    if rtol is not None:
        kw["rtol"] = rtol
    if atol is not None:
        kw["atol"] = atol

    def solver(
        rhs: Callable[[float, np.ndarray], np.ndarray], y0: np.ndarray, times: np.ndarray
    ) -> np.ndarray:
        path: np.ndarray = si.odeint(rhs, y0, times, tfirst=True, **kw)
        return path

    def fun(t: Any, y: Any, *args: Any) -> Any:
        return func(t, y, *args) if tfirst else func(y, t, *args)

    return _trajectory(name, fun, y0, t, args, solver)


def solve_ivp(
    fun: Dynamics,
    t_span: Any,
    y0: Any,
    method: str = "RK45",
    t_eval: Any = None,
    dense_output: bool = False,
    events: Any = None,
    vectorized: bool = False,
    args: Any = None,
    **options: Any,
) -> OptimizeResult:
    """Solve ``dy/dt = fun(t, y, *args)``, as :func:`scipy.integrate.solve_ivp`.

    The result's ``y`` (shape ``(n, len(t))``) is differentiable in ``y0``,
    ``t_span``, ``t_eval`` and ``args`` by the adjoint method. Without
    ``t_eval`` the times are those the solver picks for the value, held fixed
    (only the end points carry derivatives). ``events``, ``dense_output`` and
    ``vectorized`` are refused.

    >>> import numpy as np
    >>> sol = solve_ivp(lambda t, y: -y, (0.0, 1.0), np.array([1.0]), t_eval=np.array([1.0]), rtol=1e-10)
    >>> bool(np.isclose(sol.y[0, -1], np.exp(-1.0)))
    True
    """
    name = "chainrule.scipy.integrate.solve_ivp"
    if events is not None or dense_output or vectorized:
        raise ValueError(f"{name}: events, dense_output and vectorized are not supported")
    refuse_complex(name, y0, t_span)
    args = () if args is None else _float_args(name, args)
    y0 = np.reshape(y0, (-1,))
    t0, t1 = t_span[0], t_span[1]
    plain_t0, plain_t1 = float(primal(t0)), float(primal(t1))

    def solver(
        rhs: Callable[[float, np.ndarray], np.ndarray], y0: np.ndarray, times: np.ndarray
    ) -> np.ndarray:
        sol = si.solve_ivp(rhs, (times[0], times[-1]), y0, method=method, t_eval=times, **options)
        if not sol.success:
            raise RuntimeError(f"{name}: the solver failed: {sol.message}")
        path: np.ndarray = np.asarray(sol.y).T
        return path

    if t_eval is None:
        plain_args = tuple(np.asarray(primal(a)) for a in args)
        first = si.solve_ivp(
            _plain_dynamics(name, fun, plain_args),
            (plain_t0, plain_t1),
            np.asarray(primal(y0)),
            method=method,
            **options,
        )
        inner = np.asarray(first.t)[1:-1]
        times: Any = np.concatenate([np.reshape(t0, (1,)), inner, np.reshape(t1, (1,))])
    else:
        times = t_eval if type(t_eval) is Tracer else np.asarray(t_eval, dtype=np.float64)
        if np.asarray(primal(times))[0] != plain_t0:
            # The solve starts at t_span[0]: prepend it, then drop its state.
            ys = solve_ivp(
                fun, t_span, y0, method, np.concatenate([np.reshape(t0, (1,)), times]), args=args, **options
            )
            return OptimizeResult(t=times, y=ys.y[:, 1:], success=True, status=0, message=ys.message)
    _check_times(name, times)
    ys = _trajectory(name, fun, y0, times, args, solver)
    return OptimizeResult(
        t=times,
        y=np.swapaxes(ys, 0, 1),
        success=True,
        status=0,
        message="The solver successfully reached the end.",
    )


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    """The trapezoidal rule, as :func:`scipy.integrate.trapezoid` (NumPy's, which has a rule).

    >>> float(trapezoid(np.array([0.0, 1.0, 2.0])))
    2.0
    """
    refuse_complex("chainrule.scipy.integrate.trapezoid", y, *(() if x is None else (x,)))
    return np.trapezoid(y, x=x, dx=dx, axis=axis)
