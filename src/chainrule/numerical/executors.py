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

import itertools
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

__all__ = ["EvaluationError", "as_executor", "job_runner", "map_batched", "with_progress"]

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


class _Reporting(Executor):
    """``inner``, calling ``on_done(k)`` as each task of ``k`` evaluations finishes."""

    def __init__(self, inner: Executor, on_done: Callable[[int], None]):
        self.inner = inner
        self.on_done = on_done

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future = self.inner.submit(fn, *args, **kwargs)
        k = len(args[-1]) if fn is evaluate_batch else 0
        future.add_done_callback(lambda _: self.on_done(k))
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


_LOADED: dict[str, Evaluator] = {}


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
        return EvaluationError(
            f"{_name(ev.f)} raised {out.type_name}: {out.message}\n  on a worker, at {where}.\n"
            f"  The worker's traceback:\n{out.traceback}",
            where, out.type_name, out.traceback,
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
