"""Evaluations on an executor or a Dask cluster: batched per task, identical to the serial run.

A finite-difference operator is a set of independent *jobs* (a column of the
Jacobian, an entry of the Hessian, one line for ``derivative``), each asking
the :class:`~.evaluate.Evaluator` for the function's values at a few points,
in steps whose next points may depend on earlier values (a one-sided
fallback, the adaptive method's next level). The jobs reach the executor in
one of two ways:

* **Jobs shipped whole** (:func:`map_jobs`), when there are many more jobs
  than workers (a gradient, a Jacobian, a Hessian): each task runs a
  contiguous slice of the jobs on the worker, with the worker's copy of the
  function, and returns their results. The client's work is per task, not
  per point, so that even a function that takes 0.1 ms gains from workers.
  Tasks are sized from the time of the base evaluation (about
  ``TASK_SECONDS`` of evaluations each, at least ``TASKS_PER_WORKER`` per
  worker): long enough to amortize a task's overhead, short enough for a
  progress bar and for balancing.
* **Points shipped in rounds** (:func:`map_batched`), when there are few jobs
  (a derivative along one line, a directional derivative, a small
  Hessian), on a thread pool, or when the jobs cannot be pickled: each round
  re-runs every unfinished job on the client against a cache of the values
  known so far; a job that asks for an unknown point stops, and the round's
  unknown points of all jobs are evaluated on the executor, many points per
  task.

Either way the jobs are deterministic functions of the values, computed by
the same code, so every job ends with the same result, the same error and
the same number of evaluations as in a serial run, bit for bit; the first
job (in order) to fail raises, as in a serial run.

The function and its arguments are pickled once per call (with cloudpickle
where installed, so lambdas and closures travel) and unpickled once per
worker process; a thread pool gets them as they are. A
``distributed.Client`` is recognized by duck typing (no import of Dask here)
and used through ``client.get_executor()``: Dask re-runs the tasks of a lost
worker on another. An evaluation that raises on a worker is reported as
:class:`EvaluationError`, naming the input element(s) moved and by how much.
"""

from __future__ import annotations

import itertools
import os
import pickle
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ThreadPoolExecutor, as_completed, wait
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

import numpy as np

from .evaluate import Evaluator, executor_for, map_ordered

__all__ = ["EvaluationError", "as_executor", "job_runner", "map_batched", "map_jobs", "with_progress"]

T = TypeVar("T")
R = TypeVar("R")

#: Tasks per worker in each round: more than one balances uneven evaluation times.
TASKS_PER_WORKER = 2
#: Jobs are shipped whole when there are at least this many per worker (else their points are).
JOBS_PER_WORKER = 4
#: Seconds of evaluations per task when jobs are shipped whole (estimated from the base point).
TASK_SECONDS = 0.25
#: At most this many tasks per worker when jobs are shipped whole (each carries the function).
MAX_TASKS_PER_WORKER = 32


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
        client_executor: Executor = executor.get_executor(pure=False)
        return client_executor
    raise TypeError(
        f"executor= takes a concurrent.futures.Executor or a distributed.Client, not "
        f"{type(executor).__name__} ({executor!r}); for local threads pass workers=N instead."
    )


class _Reporting(Executor):
    """``inner``, calling ``on_done(k)`` as each task of ``k`` evaluations finishes."""

    def __init__(self, inner: Executor, on_done: Callable[[int], None]):
        self.inner = inner
        self.on_done = on_done

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future = self.inner.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda done: self.on_done(_evaluations(fn, args, done)))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing: the inner executor belongs to the caller."""


def with_progress(executor: Any, on_done: Callable[[int], None]) -> Executor:
    """``executor`` (or a Dask client's), calling ``on_done(k)`` as each batch of ``k`` evaluations ends.

    For a progress bar: pass the result as ``executor=``.

    Examples
    --------
    >>> import numpy as np
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from chainrule import numerical
    >>> done = []
    >>> with ThreadPoolExecutor(2) as pool:
    ...     g = numerical.grad(lambda x: np.sum(x**2), np.ones(3), executor=with_progress(pool, done.append))
    >>> sum(done)  # 2 evaluations per input, after the base point
    6
    """
    return _Reporting(as_executor(executor), on_done)


def _evaluations(fn: Callable[..., Any], args: tuple[Any, ...], done: Any) -> int:
    """The evaluations a finished task did (for progress): its batch, or its jobs' count."""
    if fn is evaluate_batch:
        return len(args[-1])
    if fn is run_jobs and not done.cancelled() and done.exception() is None:
        return int(done.result().evaluations)
    return 0


def _unwrapped(executor: Executor) -> Executor:
    while isinstance(executor, _Reporting):
        executor = executor.inner
    return executor


def parallelism(executor: Executor) -> int:
    """How many evaluations the executor runs at once (its threads, or the cluster's)."""
    executor = _unwrapped(executor)
    client = getattr(executor, "_client", None)
    if client is not None and callable(getattr(client, "nthreads", None)):
        try:
            return max(1, int(sum(client.nthreads().values())))
        except Exception:  # a client that cannot answer now: guess
            return os.cpu_count() or 1
    return max(1, int(getattr(executor, "_max_workers", None) or os.cpu_count() or 1))


# -- the worker's side ------------------------------------------------------------------


class Failure(NamedTuple):
    """What a task returns when the function raised at point ``position`` of its batch."""

    position: int  # -1: the vectorized call over the whole batch
    type_name: str
    message: str
    traceback: str


_LOADED: dict[str, Any] = {}  # token -> the unpickled evaluator (or evaluator and job)


def evaluate_batch(token: str, payload: Evaluator | bytes, batch: Packed) -> list[np.ndarray] | Failure:
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
    points = unpack(batch, ev.inputs.x0)
    if ev.vectorized:
        try:
            return ev.compute(points)
        except Exception as exc:
            return Failure(-1, type(exc).__name__, str(exc), traceback.format_exc())
    out: list[np.ndarray] = []
    for i, x in enumerate(points):
        try:
            out.extend(ev.compute([x]))
        except Exception as exc:
            return Failure(i, type(exc).__name__, str(exc), traceback.format_exc())
    return out


class Failed(NamedTuple):
    """The function raised on a worker while a shipped job evaluated it at the point ``where``."""

    where: str
    type_name: str
    message: str
    traceback: str


class _Raised(BaseException):
    """Carries a :class:`Failed` out of a job (a BaseException: no ``except Exception`` swallows it)."""

    def __init__(self, failed: Failed):
        super().__init__(failed.message)
        self.failed = failed


class _HereAndCounted:
    """A worker's :attr:`Evaluator.deferred` for shipped jobs: evaluates here, counts, names failures.

    The count is per thread: a worker with several threads may run two tasks of one call at once.
    """

    def __init__(self, ev: Evaluator):
        self.ev = ev
        self.local = threading.local()

    @property
    def count(self) -> int:
        return int(getattr(self.local, "count", 0))

    @count.setter
    def count(self, value: int) -> None:
        self.local.count = value

    def lookup(self, xs: Sequence[np.ndarray], moved: int | None = None) -> list[np.ndarray]:
        ev = self.ev
        # The serial evaluator's calls, exactly: one stacked call (vectorized) or one call per point.
        groups = [list(xs)] if ev.vectorized else [[x] for x in xs]
        out: list[np.ndarray] = []
        for group in groups:
            try:
                out.extend(ev.compute(group))
            except Exception as exc:
                where = (describe_point(ev, group[0]) if len(group) == 1
                         else "a batch of points (vectorized call)")  # fmt: skip
                raise _Raised(Failed(where, type(exc).__name__, str(exc), traceback.format_exc())) from None
            self.count += len(group)
        return out


class JobsDone(NamedTuple):
    """What a task of shipped jobs returns: the results of its jobs up to the first failure.

    ``failure`` is ``(position in the task's slice, Failed or the job's own exception)``.
    """

    results: list[Any]
    evaluations: int
    failure: tuple[int, Failed | BaseException] | None


def run_jobs(token: str, payload: bytes, items: Sequence[Any]) -> JobsDone:
    """``[job(i) for i in items]`` on a worker (a task of :func:`map_jobs`), up to the first failure."""
    loaded = _LOADED.get(token)
    if loaded is None:
        ev, job = pickle.loads(payload)
        ev.deferred = _HereAndCounted(ev)
        _LOADED.clear()
        _LOADED[token] = loaded = (ev, job)
    ev, job = loaded
    here: _HereAndCounted = ev.deferred
    here.count = 0
    results = []
    for k, item in enumerate(items):
        try:
            results.append(job(item))
        except _Raised as raised:
            return JobsDone(results, here.count, (k, raised.failed))
        except Exception as exc:
            return JobsDone(results, here.count, (k, _portable(exc)))
    return JobsDone(results, here.count, None)


def _portable(exc: Exception) -> BaseException:
    """``exc`` if it survives pickling (to reach the client as raised), else a RuntimeError saying it."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


# -- the client's side ------------------------------------------------------------------


class _Pending(BaseException):
    """A job asked for values not computed yet (a BaseException: no ``except Exception`` swallows it)."""


class Point(NamedTuple):
    """A perturbed point as sent to a worker: the elements where it differs from ``x0``.

    ``dtype`` is the point's (complex for a complex step); the other elements
    equal ``x0`` cast to it, bit for bit. A point that moves more than a
    quarter of the elements travels whole (``moved`` is None). A Jacobian
    column's point is then two numbers, not N: a round's payload grows as
    O(N), not O(N**2).
    """

    dtype: str
    moved: np.ndarray | None  # not ``index``: that would hide tuple.index
    values: np.ndarray

    @property
    def key(self) -> tuple[str, bytes | None, bytes]:
        return self.dtype, None if self.moved is None else self.moved.tobytes(), self.values.tobytes()


class Encoder:
    """Encodes points as their differences from ``x0`` (exact: signed zeros and NaNs count)."""

    def __init__(self, x0: np.ndarray):
        self.x0 = x0
        self.zeros = np.flatnonzero(x0 == 0)  # where x != x0 misses a change of sign of zero
        self.negative_zeros = np.signbit(x0[self.zeros])

    def __call__(self, x: np.ndarray, moved: int | None = None) -> Point:
        x0 = self.x0
        if moved is not None and x.dtype == x0.dtype:
            # Only element ``moved`` may differ (Line.point's contract): compare it, bit for bit.
            same = x[moved : moved + 1].tobytes() == x0[moved : moved + 1].tobytes()
            index = np.zeros(0, dtype=np.intp) if same else np.array([moved], dtype=np.intp)
            return Point(x.dtype.str, index, x[index])
        if x.dtype == x0.dtype:
            changed = x != x0
            changed[self.zeros] |= np.signbit(x[self.zeros]) != self.negative_zeros
        else:  # a complex step, or a wider dtype: compare with x0 cast (imaginary parts +0.0)
            base = x0.astype(x.dtype)
            changed = (x != base) | (np.signbit(np.real(x)) != np.signbit(np.real(base)))
            if np.iscomplexobj(x):
                changed |= np.signbit(np.imag(x)) != np.signbit(np.imag(base))
        index = np.flatnonzero(changed)
        if 4 * index.size > x.size:
            return Point(x.dtype.str, None, np.ascontiguousarray(x))
        return Point(x.dtype.str, index, x[index])


def decode(p: Point, x0: np.ndarray) -> np.ndarray:
    """The point ``p`` encodes, bit for bit."""
    if p.moved is None:
        return p.values
    x = x0.astype(np.dtype(p.dtype))  # a copy, also when the dtype is x0's
    x[p.moved] = p.values
    return x


class Packed(NamedTuple):
    """A batch of points in five arrays: pickled in one go, not object by object."""

    dtypes: tuple[str, ...]
    kinds: np.ndarray  # per point: its dtype's position in ``dtypes``
    sizes: np.ndarray  # per point: the number of moved elements, -1 for a whole point
    moved: np.ndarray  # the moved elements of every point, one after the other
    values: np.ndarray  # every point's values, in a dtype that holds them all exactly

    def __len__(self) -> int:
        return len(self.sizes)


def pack(points: Sequence[Point]) -> Packed:
    dtypes = tuple(dict.fromkeys(p.dtype for p in points))
    common = np.result_type(*[np.dtype(d) for d in dtypes])
    kinds = np.array([dtypes.index(p.dtype) for p in points], dtype=np.int64)
    sizes = np.array([-1 if p.moved is None else p.moved.size for p in points], dtype=np.int64)
    index = np.concatenate([p.moved for p in points if p.moved is not None] or [np.zeros(0, np.int64)])
    values = np.concatenate([p.values.astype(common) for p in points])
    return Packed(dtypes, kinds, sizes, index.astype(np.int64), values)


def unpack(packed: Packed, x0: np.ndarray) -> list[np.ndarray]:
    """The points of a :class:`Packed` batch, bit for bit."""
    points, at, vat = [], 0, 0
    for kind, size in zip(packed.kinds.tolist(), packed.sizes.tolist()):
        dtype = np.dtype(packed.dtypes[kind])
        count = x0.size if size < 0 else size
        values = packed.values[vat : vat + count]
        # Back to the point's dtype: exact, since the common dtype only widened it.
        values = (np.real(values) if not np.issubdtype(dtype, np.complexfloating) else values).astype(dtype)
        vat += count
        if size < 0:
            points.append(values)
        else:
            points.append(decode(Point(dtype.str, packed.moved[at : at + size], values), x0))
            at += size
    return points


class _Store:
    """The values known so far, by point, and the points asked for in this round."""

    def __init__(self, x0: np.ndarray) -> None:
        self.encode = Encoder(x0)
        self.cache: dict[Any, np.ndarray] = {}
        self.missing: dict[Any, Point] = {}
        self.inflight: set[Any] = set()  # submitted, not back yet

    def lookup(self, xs: Sequence[np.ndarray], moved: int | None = None) -> list[np.ndarray]:
        points = [self.encode(x, moved) for x in xs]
        keys = [p.key for p in points]
        unknown = [(k, p) for k, p in zip(keys, points) if k not in self.cache]
        if unknown:
            self.missing.update((k, p) for k, p in unknown if k not in self.inflight)
            raise _Pending
        return [self.cache[k] for k in keys]


def _payload(ev: Evaluator, executor: Executor) -> Evaluator | bytes:
    if isinstance(_unwrapped(executor), ThreadPoolExecutor):
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


class _Round:
    """One round's tasks: the missing points go out in batches while the jobs still run.

    The batch size comes from the first job's points times the number of jobs,
    shared among ``TASKS_PER_WORKER`` tasks per worker: workers start while
    the client still runs the remaining jobs.
    """

    def __init__(self, ev: Evaluator, executor: Executor, store: _Store, token: str,
                 payload: Evaluator | bytes, progress: Callable[[int], None] | None):  # fmt: skip
        self.ev, self.executor, self.store = ev, executor, store
        self.token, self.payload, self.progress = token, payload, progress
        self.tasks = TASKS_PER_WORKER * parallelism(executor)
        self.chunk: int | None = None
        self.futures: dict[Any, tuple[list[Any], list[Point]]] = {}

    def after_job(self, jobs: int) -> None:
        """Called after each job that is waiting for points; ``jobs`` waiting in the round in all."""
        if self.chunk is None:
            self.chunk = max(1, -(-len(self.store.missing) * jobs // self.tasks))
        while len(self.store.missing) >= self.chunk:
            self._submit(self.chunk)

    def finish(self) -> None:
        """Submit what is left, wait for every task and fill the store's cache."""
        while self.store.missing:
            self._submit(self.chunk or len(self.store.missing))
        try:
            for fut in as_completed(self.futures):
                keys, points = self.futures[fut]
                out = fut.result()
                if isinstance(out, Failure):
                    raise self._error(out, points)
                for k, y in zip(keys, out):
                    self.store.cache[k] = y
                    self.store.inflight.discard(k)
                self.ev.count += len(out)
                if self.progress is not None:
                    self.progress(len(out))
        finally:
            for fut in self.futures:
                fut.cancel()

    def _submit(self, size: int) -> None:
        missing = self.store.missing
        keys = list(itertools.islice(missing, size))
        points = [missing.pop(k) for k in keys]
        self.store.inflight.update(keys)
        fut = self.executor.submit(evaluate_batch, self.token, self.payload, pack(points))
        self.futures[fut] = (keys, points)

    def _error(self, out: Failure, points: list[Point]) -> EvaluationError:
        ev = self.ev
        where = (describe_point(ev, decode(points[out.position], ev.inputs.x0)) if out.position >= 0
                 else "a batch of points (vectorized call)")  # fmt: skip
        return _evaluation_error(ev, Failed(where, out.type_name, out.message, out.traceback))


def _evaluation_error(ev: Evaluator, failed: Failed) -> EvaluationError:
    return EvaluationError(
        f"{_name(ev.f)} raised {failed.type_name}: {failed.message}\n  on a worker, at {failed.where}.\n"
        f"  The worker's traceback:\n{failed.traceback}",
        failed.where, failed.type_name, failed.traceback,
    )  # fmt: skip


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
    store = _Store(ev.inputs.x0)
    token = uuid.uuid4().hex
    payload = _payload(ev, executor)
    pending = list(range(len(todo)))
    try:
        while pending:
            waiting: list[int] = []
            tasks = _Round(ev, executor, store, token, payload, progress)
            for k in pending:
                if first_error is not None and k > first_error[0]:
                    break  # a serial run would have stopped at the earlier job's error
                ev.deferred = store
                try:
                    results[k] = job(todo[k])
                except _Pending:
                    waiting.append(k)
                except Exception as exc:
                    first_error = (k, exc)
                finally:
                    ev.deferred = None  # the client's own bookkeeping is not deferred
                if waiting and waiting[-1] == k:
                    tasks.after_job(len(pending))
            if first_error is not None:
                waiting = [k for k in waiting if k < first_error[0]]
                store.missing.clear()  # the points of jobs after the error are not needed
            if waiting:
                tasks.finish()
            pending = waiting
    finally:
        ev.deferred = None
    if first_error is not None:
        raise first_error[1]
    return [results[k] for k in range(len(todo))]


def _jobs_payload(ev: Evaluator, job: Callable[[Any], Any]) -> bytes | None:
    """``(ev, job)`` pickled by cloudpickle, or None when it cannot be (then points are shipped)."""
    try:
        import cloudpickle
    except ImportError:  # a job is a closure: only cloudpickle sends it
        return None
    try:
        payload: bytes = cloudpickle.dumps((ev, job))
        return payload
    except Exception:  # something unpicklable among the job's variables: ship points instead
        return None


def task_slices(ev: Evaluator, jobs: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous slices of the jobs, one per task, of about ``TASK_SECONDS`` of evaluations each.

    A job costs at least two evaluations (a central difference); the base
    evaluation's time stands for each. At least ``TASKS_PER_WORKER`` tasks per
    worker (balance), at most ``MAX_TASKS_PER_WORKER`` (each carries the
    function) and one job per task.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.numerical.evaluate import Evaluator
    >>> from chainrule.numerical.inputs import Inputs
    >>> f = lambda x: np.sum(x ** 2)
    >>> ev = Evaluator(f, Inputs(f, (np.ones(3),), 0, True))
    >>> ev.seconds0 = 0.01  # 10 ms per evaluation: 20 ms per job, 12.5 jobs per 0.25 s task
    >>> [b - a for a, b in task_slices(ev, 100, 2)]
    [12, 13, 13, 12, 12, 13, 13, 12]
    >>> len(task_slices(ev, 10, 2)), len(task_slices(ev, 100_000, 2))
    (4, 64)
    """
    by_time = int(jobs * 2.0 * ev.seconds0 / TASK_SECONDS)
    tasks = max(1, min(jobs, max(TASKS_PER_WORKER * workers, min(by_time, MAX_TASKS_PER_WORKER * workers))))
    bounds = np.linspace(0, jobs, tasks + 1).round().astype(int).tolist()
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def map_jobs(ev: Evaluator, executor: Executor, job: Callable[[T], R], items: Iterable[T]) -> list[R] | None:
    """``[job(i) for i in items]`` with the jobs themselves run on the executor, or None where unsuited.

    None (the caller then ships points: :func:`map_batched`) on a thread
    pool (it shares the client's memory: no pickling to save), with fewer
    than ``JOBS_PER_WORKER`` jobs per worker, or when the jobs cannot be
    pickled. The first job (in ``items`` order) to raise raises here, as in a
    serial run; an evaluation that raised on a worker raises
    :class:`EvaluationError` naming its point.

    Examples
    --------
    >>> import numpy as np
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from chainrule.numerical.evaluate import Evaluator
    >>> from chainrule.numerical.inputs import Inputs
    >>> f = lambda x: np.sum(x ** 2)
    >>> ev = Evaluator(f, Inputs(f, (np.array([1.0, 2.0]),), 0, True))
    >>> with ThreadPoolExecutor(2) as pool:  # threads: points are shipped instead
    ...     map_jobs(ev, pool, lambda i: float(ev(ev.inputs.x0 + i)[0]), [1.0, 2.0]) is None
    True
    """
    todo = list(items)
    workers = parallelism(executor)
    if isinstance(_unwrapped(executor), ThreadPoolExecutor) or len(todo) < JOBS_PER_WORKER * workers:
        return None
    payload = _jobs_payload(ev, job)
    if payload is None:
        return None
    token = uuid.uuid4().hex
    futures = {executor.submit(run_jobs, token, payload, todo[a:b]): a
               for a, b in task_slices(ev, len(todo), workers)}  # fmt: skip
    results: list[Any] = [None] * len(todo)
    failures: list[tuple[int, Failed | BaseException]] = []
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                if fut.cancelled():
                    continue
                done: JobsDone = fut.result()  # a lost worker's task was re-run by Dask; other errors raise
                start = futures[fut]
                results[start : start + len(done.results)] = done.results
                ev.count += done.evaluations
                if done.failure is not None:
                    failures.append((start + done.failure[0], done.failure[1]))
            if failures:
                # A serial run would not reach the jobs after the first failure: cancel them and
                # wait only for the earlier ones (a cancelled Dask task's future may never finish).
                first = min(at for at, _ in failures)
                for fut in pending:
                    if futures[fut] > first:
                        fut.cancel()
                pending = {fut for fut in pending if futures[fut] <= first}
    finally:
        for fut in futures:
            fut.cancel()
    if failures:
        _, failure = min(failures, key=lambda pair: pair[0])
        raise _evaluation_error(ev, failure) if isinstance(failure, Failed) else failure
    return results


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
            items = list(items)
            shipped = map_jobs(self.ev, self.executor, job, items)
            return shipped if shipped is not None else map_batched(self.ev, self.executor, job, items)
        items = list(items)
        if len(items) == 1:
            return [job(items[0])]  # its points, not the one job, go to the pool
        return map_ordered(self.pool, job, items)


@contextmanager
def job_runner(ev: Evaluator, workers: int | Executor | None, executor: Any) -> Iterator[JobRunner]:
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
