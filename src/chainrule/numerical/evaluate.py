"""Calling the function at perturbed points: counting, checking and parallel mapping.

Every call goes through :class:`Evaluator`, which counts it, flattens the
output (any pytree of arrays) into one vector and refuses a NaN or infinity
at a stencil point where the base value is finite, naming the input that was
perturbed. ``workers=`` spreads the calls over a
:class:`concurrent.futures.ThreadPoolExecutor` (useful when the function
spends its time in NumPy code that releases the GIL); ``executor=`` hands them,
in batches, to any executor or a Dask cluster (:mod:`.executors`), which
serves them through :attr:`Evaluator.deferred`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from ..pytree import TreeDef, tree_flatten, tree_unflatten
from .inputs import Inputs

__all__ = ["Evaluator", "NonFiniteError", "executor_for", "nonfinite_error"]


class NonFiniteError(FloatingPointError):
    """The function returned NaN or infinity at a point a finite difference needed."""


class DeferredValues(Protocol):
    """Values computed elsewhere (by :mod:`.executors`, in rounds), looked up by point."""

    def lookup(self, xs: Sequence[np.ndarray], moved: int | None = None) -> list[np.ndarray]: ...


class Evaluator:
    """``f`` as a map from the flat input vector to the flat output vector.

    ``kwargs`` are passed to every call. With ``vectorized``, :meth:`many`
    evaluates several points in one call: each differentiated leaf gets a new
    leading axis (one entry per point), and ``f`` must return its outputs
    stacked along a leading axis too.
    """

    def __init__(
        self,
        f: Callable[..., Any],
        inputs: Inputs,
        kwargs: dict[str, Any] | None = None,
        vectorized: bool = False,
    ):
        self.f = f
        self.inputs = inputs
        self.kwargs = dict(kwargs or {})
        self.vectorized = vectorized
        self.count = 0
        self._lock = threading.Lock()
        self._eps: float | None = None
        self._input_eps: float | None = None
        # Set by .executors while it runs jobs in rounds: many() then answers from its
        # cache of values computed elsewhere, or asks for the missing points.
        self.deferred: DeferredValues | None = None
        start = time.perf_counter()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self._call(inputs.x0)
        #: How long the base evaluation took: .executors sizes its tasks by it.
        self.seconds0 = time.perf_counter() - start
        self.count = 1
        leaves, self.out_def = tree_flatten(out)
        _check_numeric(f, out, leaves)
        self.out_shapes = [np.shape(o) for o in leaves]
        self.out_dtypes = [np.result_type(o) for o in leaves]
        self.f0 = self._flat(leaves)
        self.complex_output = bool(np.iscomplexobj(self.f0))
        if not np.all(np.isfinite(self.f0)):
            bad = int(np.flatnonzero(~np.isfinite(self.f0))[0])
            raise NonFiniteError(
                f"{_name(f)} returned {self.f0[bad]} (output element {bad}) at the given point "
                "itself, before any perturbation; a derivative is not defined there."
            )

    def _call(self, x: np.ndarray) -> Any:
        if self.vectorized:
            # The base point, too, is evaluated as a stack (of one) so that f sees one convention.
            out = self.f(*self.inputs.build_stack(x[None, :]), **self.kwargs)
            return _unstack(out, 0)
        return self.f(*self.inputs.build(x), **self.kwargs)

    @property
    def eps(self) -> float:
        """Machine epsilon of the dtype ``f`` computes in: the less precise of inputs and output."""
        if self._eps is None:
            eps = self.input_eps or float(np.finfo(np.float64).eps)
            for dt in self.out_dtypes:
                if np.issubdtype(dt, np.inexact):
                    eps = max(eps, float(np.finfo(dt).eps))
            self._eps = eps
        return self._eps

    @property
    def input_eps(self) -> float:
        """Machine epsilon of the least precise working dtype of the inputs."""
        if self._input_eps is None:
            self._input_eps = max((float(np.finfo(d).eps) for d in self.inputs.dtypes), default=0.0)
        return self._input_eps

    def _flat(self, leaves: Sequence[Any]) -> np.ndarray:
        if not leaves:
            return np.zeros(0)
        return np.concatenate([np.ravel(np.asarray(o)) for o in leaves])

    def _checked_structure(self, out: Any) -> np.ndarray:
        leaves, out_def = tree_flatten(out)
        if out_def != self.out_def or [np.shape(o) for o in leaves] != self.out_shapes:
            raise ValueError(
                f"{_name(self.f)} returned a differently shaped output at a perturbed point "
                f"({out_def!r}, shapes {[np.shape(o) for o in leaves]}) than at the base point "
                f"({self.out_def!r}, shapes {self.out_shapes})"
            )
        return self._flat(leaves)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for an executor's workers: without the lock and the client's deferred store."""
        state = self.__dict__.copy()
        state["_lock"] = None
        state["deferred"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def compute(self, xs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The flat outputs at ``xs``, computed here and not counted (a worker's side of :meth:`many`)."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.vectorized:
                out = self.f(*self.inputs.build_stack(np.stack(xs)), **self.kwargs)
                return [self._checked_structure(_unstack(out, i)) for i in range(len(xs))]
            return [self._checked_structure(self.f(*self.inputs.build(x, copy=False), **self.kwargs))
                    for x in xs]  # fmt: skip

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.vectorized or self.deferred is not None:
            return self.many([x])[0]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self.f(*self.inputs.build(x, copy=False), **self.kwargs)
        with self._lock:
            self.count += 1
        return self._checked_structure(out)

    def many(
        self, xs: Sequence[np.ndarray], executor: Executor | None = None, moved: int | None = None
    ) -> list[np.ndarray]:
        """The flat outputs at several points (non-finite values are kept, NumPy warnings silenced).

        ``moved``: the one element in which every point may differ from ``x0`` (a hint
        that saves comparing whole points when they are sent elsewhere).
        """
        if not xs:
            return []
        if self.deferred is not None:
            return self.deferred.lookup(xs, moved)
        if not self.vectorized:
            return map_ordered(executor, self, xs)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self.f(*self.inputs.build_stack(np.stack(xs)), **self.kwargs)
            with self._lock:
                self.count += len(xs)
            return [self._checked_structure(_unstack(out, i)) for i in range(len(xs))]

    def checked(self, x: np.ndarray, where: str, shift: Any) -> np.ndarray:
        """``self(x)``, refusing a non-finite value that the base point did not have.

        NumPy's floating-point warnings are silenced during the call: a
        non-finite result is reported by this error, which names the input.
        """
        y = self(x)
        bad = ~np.isfinite(y)
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            raise nonfinite_error(self.f, y, j, f"{where} moved by {shift:.3g}")
        return y


def _unstack(out: Any, i: int) -> Any:
    """Entry ``i`` along the leading axis of every leaf of a vectorized function's output."""
    leaves, out_def = tree_flatten(out)
    return tree_unflatten(out_def, [np.asarray(o)[i] for o in leaves])


def nonfinite_error(f: Callable[..., Any], y: np.ndarray, j: int, where: str) -> NonFiniteError:
    """The error for a non-finite output element ``j`` at a perturbed point described by ``where``."""
    return NonFiniteError(
        f"{_name(f)} returned {y[j]} (output element {j}) at {where}, though it is finite at the "
        "given point. The point is probably near the edge of the function's domain or a "
        "singularity: use a smaller step (step=...), a one-sided method (method='forward' or "
        "'backward'), method='adaptive' (which drops such steps), or method='complex' if the "
        "function accepts complex input."
    )


def _check_numeric(f: Callable[..., Any], out: Any, leaves: Sequence[Any]) -> None:
    """Refuse an output with nothing to difference (None, a string, an object)."""
    if not leaves:
        raise TypeError(
            f"{_name(f)} returned {out!r:.40}, which holds no number: finite differences need a float "
            "output (a float, an array, or a tree of them); a missing return gives None"
        )
    for leaf in leaves:
        kind = "U" if isinstance(leaf, str | bytes) else np.asarray(leaf).dtype.kind
        if kind not in "biufc":
            raise TypeError(
                f"{_name(f)} returned {type(leaf).__name__} {leaf!r:.40}, which is not a number: finite "
                "differences need a float output (a float, an array, or a tree of them)"
            )


def _name(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def executor_for(workers: int | Executor | None) -> tuple[Executor | None, bool]:
    """(executor, whether we own it) for ``workers=``."""
    if workers is None or workers == 1:
        return None, False
    if isinstance(workers, Executor):
        return workers, False
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers= must be a positive int or a concurrent.futures.Executor, not {workers!r}")
    return ThreadPoolExecutor(max_workers=workers), True


def map_ordered(executor: Executor | None, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """``[fn(i) for i in items]``, on ``executor`` if given."""
    if executor is None:
        return [fn(i) for i in items]
    return list(executor.map(fn, items))


def out_treedef(ev: Evaluator) -> TreeDef:
    return ev.out_def
