"""Evaluations on an executor or a Dask cluster: batched per task, identical to the serial run.

A finite-difference operator is a set of independent *jobs* (a column of the
Jacobian, an entry of the Hessian, one line for ``derivative``), each asking
the :class:`~.evaluate.Evaluator` for the function's values at a few points,
in steps whose next points may depend on earlier values (a one-sided
fallback, the adaptive method's next level). :func:`map_batched` runs all
jobs in *rounds*: each round re-runs every unfinished job on the client
against a cache of the values known so far; a job that asks for an unknown
point stops, and the round's unknown points of all jobs are evaluated on the
executor, many points per task. The jobs are deterministic functions of the
values, so every job ends with the same result, the same error and the same
number of evaluations as in a serial run, bit for bit.

The function and its arguments are pickled once per call (with cloudpickle
where installed, so lambdas and closures travel) and unpickled once per
worker process; a thread pool gets them as they are. A
``distributed.Client`` is recognized by duck typing (no import of Dask here)
and used through ``client.get_executor()``: Dask re-runs the tasks of a lost
worker on another. An evaluation that raises on a worker is reported as
:class:`EvaluationError`, naming the input element(s) moved and by how much.
"""

from __future__ import annotations

import os
import pickle
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

import numpy as np

from .evaluate import Evaluator, executor_for, map_ordered

__all__ = ["EvaluationError", "as_executor", "job_runner", "map_batched"]

T = TypeVar("T")
R = TypeVar("R")

#: Tasks per worker in each round: more than one balances uneven evaluation times.
TASKS_PER_WORKER = 2


class EvaluationError(RuntimeError):
    """The function raised while a worker evaluated it at a perturbed point.

    ``point`` describes the point (the inputs moved and by how much),
    ``remote_type`` names the original exception's type and
    ``remote_traceback`` holds the worker's traceback.
    """

    def __init__(self, message: str, point: str, remote_type: str, remote_traceback: str):
        super().__init__(message)
        self.point = point
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback


def as_executor(executor: Any) -> Executor:
    """A :class:`concurrent.futures.Executor` for ``executor=``: itself, or a Dask client's.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     as_executor(pool) is pool
    True
    >>> as_executor(4)
    Traceback (most recent call last):
    ...
    TypeError: executor= takes a concurrent.futures.Executor or a distributed.Client, not int (4); ...
    """
    if isinstance(executor, Executor):
        return executor
    client_like = callable(getattr(executor, "get_executor", None))
    if client_like and callable(getattr(executor, "scheduler_info", None)):
        # A distributed.Client. pure=False: every task runs (no hashing of the payload for keys).
        return executor.get_executor(pure=False)  # type: ignore[no-any-return]
    raise TypeError(
        f"executor= takes a concurrent.futures.Executor or a distributed.Client, not "
        f"{type(executor).__name__} ({executor!r}); for local threads pass workers=N instead."
    )


def parallelism(executor: Executor) -> int:
    """How many evaluations the executor runs at once (its threads, or the cluster's)."""
    client = getattr(executor, "_client", None)
    if client is not None and callable(getattr(client, "nthreads", None)):
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # a client that cannot answer now: guess
            return os.cpu_count() or 1
    return max(1, int(getattr(executor, "_max_workers", None) or os.cpu_count() or 1))


# -- the worker's side ------------------------------------------------------------------


class Failure(NamedTuple):
    """What a task returns when the function raised at point ``index`` of its batch."""

    index: int
    type_name: str
    message: str
    traceback: str


_LOADED: dict[str, Evaluator] = {}


def evaluate_batch(
    token: str, payload: Evaluator | bytes, points: list[np.ndarray]
) -> list[np.ndarray] | Failure:
    """The flat outputs at ``points`` (the task run by a worker), or the first failure.

    ``payload`` is the evaluator, pickled unless the worker shares the client's
    memory; it is unpickled once per process (cached by ``token``).
    """
    if isinstance(payload, bytes):
        ev = _LOADED.get(token)
        if ev is None:
            ev = pickle.loads(payload)  # cloudpickle's output loads with pickle
            _LOADED.clear()  # one operator at a time: keep only the newest function
            _LOADED[token] = ev
    else:
        ev = payload
    if ev.vectorized:
        try:
            return ev.compute(points)
        except Exception as exc:
            return Failure(-1, type(exc).__name__, str(exc), traceback.format_exc())
    out = []
    for i, x in enumerate(points):
        try:
            out.extend(ev.compute([x]))
        except Exception as exc:
            return Failure(i, type(exc).__name__, str(exc), traceback.format_exc())
    return out


# -- the client's side ------------------------------------------------------------------


class _Pending(BaseException):
    """A job asked for values not computed yet (a BaseException: no ``except Exception`` swallows it)."""


class _Store:
    """The values known so far, by point, and the points asked for in this round."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, bytes], np.ndarray] = {}
        self.missing: dict[tuple[str, bytes], np.ndarray] = {}

    def lookup(self, xs: Sequence[np.ndarray]) -> list[np.ndarray]:
        keys = [_key(x) for x in xs]
        unknown = [(k, x) for k, x in zip(keys, xs) if k not in self.cache]
        if unknown:
            self.missing.update(unknown)
            raise _Pending
        return [self.cache[k] for k in keys]


def _key(x: np.ndarray) -> tuple[str, bytes]:
    x = np.ascontiguousarray(x)
    return x.dtype.str, x.tobytes()


def _payload(ev: Evaluator, executor: Executor) -> Evaluator | bytes:
    if isinstance(executor, ThreadPoolExecutor):
        return ev  # same process: no copy
    try:
        import cloudpickle  # optional: lambdas and closures need it

        dumps: Callable[[Any], bytes] = cloudpickle.dumps
    except ImportError:
        dumps = pickle.dumps
    try:
        return dumps(ev)
    except Exception as exc:
        raise TypeError(
            f"executor=: the function and its arguments could not be pickled for "
            f"{type(executor).__name__}'s workers ({type(exc).__name__}: {exc}). Install cloudpickle "
            "(lambdas, closures), define the function at module level, or use a ThreadPoolExecutor."
        ) from exc


def describe_point(ev: Evaluator, x: np.ndarray) -> str:
    """``argument 0 ('x')[3] = 1.0 moved by 1e-06``: the elements a perturbed point moved."""
    x0 = ev.inputs.x0
    moved = np.flatnonzero(x != x0)
    if moved.size == 0:
        return "the given point itself"
    if moved.size > 3:
        shift = float(np.max(np.abs(x[moved] - x0[moved])))
        return f"{moved.size} input elements moved at once (by up to {shift:.3g})"
    parts = []
    for i in moved:
        shift = x[i] - x0[i]
        shown = f"{shift:.3g}" if not np.iscomplexobj(shift) else f"{complex(shift):.3g}"
        parts.append(f"{ev.inputs.label(int(i))} = {float(x0[i])!r} moved by {shown}")
    return " and ".join(parts)


def _batches(points: list[np.ndarray], tasks: int) -> list[list[np.ndarray]]:
    size = -(-len(points) // max(1, tasks))
    return [points[k : k + size] for k in range(0, len(points), size)]


def _evaluate(ev: Evaluator, executor: Executor, store: _Store, token: str, payload: Evaluator | bytes,
              progress: Callable[[int], None] | None) -> None:  # fmt: skip
    """Evaluate the store's missing points on the executor, into its cache."""
    keys = list(store.missing)
    points = [store.missing[k] for k in keys]
    store.missing = {}
    batches = _batches(points, TASKS_PER_WORKER * parallelism(executor))
    starts = np.cumsum([0] + [len(b) for b in batches])
    futures = {executor.submit(evaluate_batch, token, payload, b): n for n, b in enumerate(batches)}
    try:
        for fut in as_completed(futures):
            n = futures[fut]
            out = fut.result()
            if isinstance(out, Failure):
                x = batches[n][max(out.index, 0)]
                where = describe_point(ev, x) if out.index >= 0 else "a batch of points (vectorized call)"
                raise EvaluationError(
                    f"{_name(ev.f)} raised {out.type_name}: {out.message}\n  on a worker, at {where}.\n"
                    f"  The worker's traceback:\n{out.traceback}",
                    where, out.type_name, out.traceback,
                )  # fmt: skip
            for k, y in zip(keys[starts[n] : starts[n + 1]], out):
                store.cache[k] = y
            ev.count += len(out)
            if progress is not None:
                progress(len(out))
    finally:
        for fut in futures:
            fut.cancel()


def map_batched(
    ev: Evaluator,
    executor: Executor,
    job: Callable[[T], R],
    items: Iterable[T],
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``[job(i) for i in items]``, with the evaluations of all jobs sent to ``executor`` in batches.

    ``progress(k)`` is called as each task brings ``k`` evaluations. The
    first job (in ``items`` order) to raise raises here, as in a serial run.

    Examples
    --------
    >>> import numpy as np
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from chainrule.numerical.evaluate import Evaluator
    >>> from chainrule.numerical.inputs import Inputs
    >>> f = lambda x: np.sum(x ** 2)
    >>> ev = Evaluator(f, Inputs(f, (np.array([1.0, 2.0]),), 0, True))
    >>> with ThreadPoolExecutor(2) as pool:
    ...     map_batched(ev, pool, lambda i: float(ev(ev.inputs.x0 + i)[0]), [1.0, 2.0])
    [13.0, 25.0]
    """
    todo = list(items)
    results: dict[int, R] = {}
    first_error: tuple[int, BaseException] | None = None
    store = _Store()
    token = uuid.uuid4().hex
    payload = _payload(ev, executor)
    pending = list(range(len(todo)))
    ev.deferred = store
    try:
        while pending:
            waiting = []
            for k in pending:
                if first_error is not None and k > first_error[0]:
                    break  # a serial run would have stopped at the earlier job's error
                try:
                    results[k] = job(todo[k])
                except _Pending:
                    waiting.append(k)
                except Exception as exc:
                    first_error = (k, exc)
            if first_error is not None:
                waiting = [k for k in waiting if k < first_error[0]]
            if waiting:
                ev.deferred = None  # the client's own bookkeeping below is not deferred
                _evaluate(ev, executor, store, token, payload, progress)
                ev.deferred = store
            pending = waiting
    finally:
        ev.deferred = None
    if first_error is not None:
        raise first_error[1]
    return [results[k] for k in range(len(todo))]


class JobRunner:
    """Runs a list of jobs: on a thread pool (``workers=``), in batches (``executor=``), or in turn.

    ``pool`` is the thread pool a single job may use for its own points
    (``workers=`` only).
    """

    def __init__(self, ev: Evaluator, pool: Executor | None, executor: Executor | None):
        self.ev = ev
        self.pool = pool
        self.executor = executor

    def __call__(self, job: Callable[[T], R], items: Iterable[T]) -> list[R]:
        if self.executor is not None:
            return map_batched(self.ev, self.executor, job, items)
        items = list(items)
        if len(items) == 1:
            return [job(items[0])]  # its points, not the one job, go to the pool
        return map_ordered(self.pool, job, items)


@contextmanager
def job_runner(ev: Evaluator, workers: int | Executor | None, executor: Any):  # type: ignore[no-untyped-def]
    """A :class:`JobRunner` for ``workers=`` and ``executor=`` (at most one of them)."""
    if executor is not None:
        if workers is not None and workers != 1:
            raise ValueError(
                f"give workers= (local threads) or executor= (any executor, a Dask cluster), not both; "
                f"got workers={workers!r} and executor={executor!r}"
            )
        yield JobRunner(ev, None, as_executor(executor))
        return
    pool, owned = executor_for(workers)
    try:
        yield JobRunner(ev, pool, None)
    finally:
        if owned and pool is not None:
            pool.shutdown()


def _name(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)
