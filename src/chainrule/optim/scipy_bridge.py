"""A bridge to ``scipy.optimize.minimize`` for pytrees, with exact gradients and Hessian-vector products.

The parameter tree is flattened into one float64 vector. SciPy receives

- ``fun`` returning the value *and* the gradient from one backprop call
  (``jac=True``);
- ``hessp(x, v)``, for the methods that use it, computed as a forward-over-reverse
  Hessian-vector product ``jvp(grad(f_flat), (x,), (v,))``: exact, at a
  small multiple of the cost of one gradient, and without forming the Hessian;
- ``hess(x)`` for the methods that need the whole matrix (``dogleg``,
  ``trust-exact``), built from ``n`` such products.

The result is the same :class:`~chainrule.optim.OptimizeResult` as
:func:`~chainrule.optim.minimize`'s, with ``x`` a tree like ``x0``.

Examples
--------
>>> import numpy as np
>>> from chainrule.optim import minimize_scipy
>>> f = lambda p: np.sum((p["w"] - 2.0) ** 2) + np.sum(p["w"] ** 4) + (p["b"] - 1.0) ** 2
>>> res = minimize_scipy(f, {"w": np.zeros(2), "b": 0.0}, method="trust-ncg")
>>> res.success, np.round(res.x["w"], 6), round(float(res.x["b"]), 6)
(True, array([0.835122, 0.835122]), 1.0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..derivatives import grad, jvp
from ..pytree import tree_flatten, tree_unflatten
from .evaluation import Objective, first_nonfinite
from .result import History, OptimizeResult

__all__ = ["minimize_scipy"]

HESSP_METHODS = frozenset({"newton-cg", "trust-ncg", "trust-krylov", "trust-constr"})
HESS_METHODS = frozenset({"dogleg", "trust-exact"})
GRADIENT_FREE_METHODS = frozenset({"nelder-mead", "powell", "cobyla", "cobyqa"})


class _Flattener:
    """Between a pytree of float arrays and one float64 vector."""

    def __init__(self, x0: Any):
        leaves, self.treedef = tree_flatten(x0)
        self.shapes = [np.shape(v) for v in leaves]
        self.dtypes = [np.result_type(np.float64(v) if isinstance(v, float | int) else v) for v in leaves]
        for d in self.dtypes:
            if not np.issubdtype(d, np.floating):
                raise TypeError(f"minimize_scipy needs floating-point leaves in x0, got dtype {d}")
        self.sizes = [math.prod(s) for s in self.shapes]
        self.offsets = np.cumsum([0, *self.sizes]).tolist()

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def flatten(self, tree: Any) -> np.ndarray:
        leaves = tree_flatten(tree)[0]
        if not leaves:
            return np.zeros(0)
        return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in leaves])

    def unflatten(self, v: Any) -> Any:
        """The tree for vector ``v`` (which may be a tracer: only traced operations are used)."""
        leaves = []
        for start, stop, shape, dtype in zip(self.offsets, self.offsets[1:], self.shapes, self.dtypes):
            piece = np.reshape(v[start:stop], shape)
            leaves.append(piece if dtype == np.float64 else piece.astype(dtype))
        return tree_unflatten(self.treedef, leaves)

    def unflatten_values(self, v: np.ndarray) -> Any:
        """Like :meth:`unflatten`, for a plain array; 0-d leaves become NumPy scalars."""
        leaves = []
        for start, stop, shape, dtype in zip(self.offsets, self.offsets[1:], self.shapes, self.dtypes):
            piece = np.asarray(v[start:stop], dtype=dtype).reshape(shape)
            leaves.append(piece[()] if shape == () else piece)
        return tree_unflatten(self.treedef, leaves)


class _NonFinite(Exception):
    pass


def _method_name(method: Any) -> str:
    return method.lower() if isinstance(method, str) else "custom"


def minimize_scipy(
    f: Callable[..., Any],
    x0: Any,
    method: str = "L-BFGS-B",
    *,
    args: tuple[Any, ...] = (),
    gradient: str | Callable[..., Any] = "backprop",
    callback: Callable[[int, Any, float, Any], Any] | None = None,
    **kwargs: Any,
) -> OptimizeResult:
    """Minimize ``f(x, *args)`` over a pytree ``x`` with ``scipy.optimize.minimize``.

    Parameters
    ----------
    f
        The objective: a pytree of float arrays (like ``x0``) to a float scalar.
    x0
        The starting point, any pytree of float arrays and floats.
    method
        Any method of ``scipy.optimize.minimize``: ``"L-BFGS-B"``, ``"BFGS"``,
        ``"CG"``, ``"Newton-CG"``, ``"trust-ncg"``, ``"trust-krylov"``,
        ``"trust-constr"``, ``"trust-exact"``, ``"dogleg"``, ...
    args
        Extra positional arguments of ``f``, not differentiated.
    gradient
        ``"backprop"`` (default), ``"numerical"`` or a function ``(x, *args)
        -> gradient tree``. Hessian products need ``"backprop"``.
    callback
        ``callback(step, x, value, grad)`` after each SciPy iteration (``grad``
        is ``None`` if that point's gradient was not evaluated); return
        ``True`` to stop.
    **kwargs
        Passed to ``scipy.optimize.minimize``: ``tol``, ``options``,
        ``bounds`` (on the flat vector), ``constraints``, ...

    Returns
    -------
    OptimizeResult
        As :func:`~chainrule.optim.minimize`'s, plus ``nhev`` (Hessian-vector
        products or Hessians), ``method`` and ``scipy_result`` (SciPy's own).
        A non-finite value or gradient stops the run with a message naming
        the evaluation and the leaf; ``x`` is then the last finite iterate.
    """
    import scipy.optimize

    for key in ("jac", "hess", "hessp"):
        if key in kwargs:
            raise TypeError(f"minimize_scipy computes {key!r} itself; do not pass it")
    name = _method_name(method)
    flat = _Flattener(x0)
    evaluate = Objective(f, gradient, args)
    nhev = 0
    cache: dict[bytes, tuple[float, np.ndarray]] = {}
    last_finite = flat.flatten(x0)
    values: list[float] = []
    norms: list[float] = []
    times: list[float] = []
    clock = [time.perf_counter()]

    def fun(v: np.ndarray) -> Any:
        tree = flat.unflatten_values(v)
        value, grads = evaluate(tree)
        where = None if math.isfinite(value) else "the objective"
        if where is None:
            leaf = first_nonfinite(grads)
            where = None if leaf is None else f"the gradient at leaf {leaf}"
            if where is not None and evaluate.note:
                where += f" ({evaluate.note})"
        if where is not None:
            raise _NonFinite(
                f"{where} is non-finite ({value=}) at evaluation {evaluate.njev} "
                f"(after {len(values) - 1} iterations)"
            )
        g = flat.flatten(grads)
        if len(cache) > 8:
            cache.clear()
        cache[v.tobytes()] = (value, g)
        return (value, g) if name not in GRADIENT_FREE_METHODS else value

    f_flat = lambda v, *a: evaluate.counted(flat.unflatten(v), *a)
    grad_flat = grad(f_flat)

    def hessp(v: np.ndarray, p: np.ndarray, *a: Any) -> np.ndarray:
        nonlocal nhev
        nhev += 1
        product: np.ndarray = np.asarray(jvp(lambda x: grad_flat(x, *args), (v,), (p,))[1], dtype=np.float64)
        return product

    def hess(v: np.ndarray, *a: Any) -> np.ndarray:
        nonlocal nhev
        n = flat.size
        cols = [hessp(v, e) for e in np.eye(n)]
        nhev += 1 - n
        h = np.stack(cols, axis=1) if cols else np.zeros((0, 0))
        symmetric: np.ndarray = 0.5 * (h + h.T)
        return symmetric

    def record(v: np.ndarray, value: float) -> bool:
        nonlocal last_finite
        now = time.perf_counter()
        hit = cache.get(np.asarray(v, dtype=np.float64).tobytes())
        g = hit[1] if hit is not None else None
        values.append(float(value))
        norms.append(float(np.linalg.norm(g)) if g is not None else math.nan)
        times.append(now - clock[0])
        clock[0] = now
        last_finite = np.array(v, dtype=np.float64)
        if callback is not None:
            g_tree = None if g is None else flat.unflatten_values(g)
            return bool(callback(len(values) - 1, flat.unflatten_values(v), float(value), g_tree))
        return False

    def scipy_callback(intermediate_result: Any) -> None:
        if record(intermediate_result.x, intermediate_result.fun):
            raise StopIteration

    options: dict[str, Any] = {"jac": name not in GRADIENT_FREE_METHODS}
    if name in HESSP_METHODS:
        if evaluate.source != "backprop":
            raise ValueError(
                f"method {method!r} uses Hessian-vector products, which need gradient='backprop'"
            )
        options["hessp"] = hessp
    elif name in HESS_METHODS:
        if evaluate.source != "backprop":
            raise ValueError(f"method {method!r} needs the Hessian, which needs gradient='backprop'")
        options["hess"] = hess
    # TNC, SLSQP and COBYLA do not pass an intermediate result to the callback.
    scipy_cb = None if name in ("tnc", "slsqp", "cobyla") else scipy_callback
    v0 = flat.flatten(x0)
    first = fun(v0)
    record(v0, first if name in GRADIENT_FREE_METHODS else first[0])
    try:
        res = scipy.optimize.minimize(fun, v0, method=method, callback=scipy_cb, **options, **kwargs)
    except _NonFinite as err:
        x = flat.unflatten_values(last_finite)
        return OptimizeResult(
            x=x,
            fun=values[-1],
            jac=None,
            nit=len(values) - 1,
            nfev=evaluate.nfev,
            njev=evaluate.njev,
            nhev=nhev,
            success=False,
            status=2,
            message=f"stopped: {err}; x is the last finite iterate",
            history=History(np.array(values), np.array(norms), np.array(times)),
            gradient=evaluate.source,
            method=method,
            scipy_result=None,
        )
    jac = res.get("jac")
    if jac is not None and np.shape(jac) == (flat.size,):
        jac = flat.unflatten_values(np.asarray(jac, dtype=np.float64))
    else:
        jac = None
    return OptimizeResult(
        x=flat.unflatten_values(np.asarray(res.x, dtype=np.float64)),
        fun=float(res.fun),
        jac=jac,
        nit=int(res.get("nit", len(values) - 1)),
        nfev=evaluate.nfev,
        njev=evaluate.njev,
        nhev=nhev,
        success=bool(res.success),
        status=int(res.status),
        message=str(res.message),
        history=History(np.array(values), np.array(norms), np.array(times)),
        gradient=evaluate.source,
        method=method,
        scipy_result=res,
    )
