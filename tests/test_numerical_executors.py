"""``executor=``: finite differences on any executor or a Dask cluster, identical to the serial run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from chainrule import numerical
from chainrule.check import check_grad, check_vjp
from chainrule.numerical import EvaluationError, NonFiniteError
from chainrule.numerical.executors import with_progress
from chainrule.pytree import tree_flatten
from dask_cluster import local_client


def _same(a, b):
    """Two results (arrays, scalars, trees, Estimates) are equal bit for bit."""
    la, _ = tree_flatten(a)
    lb, _ = tree_flatten(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def _same_estimate(a, b):
    _same(a.value, b.value)
    _same(a.error, b.error)
    _same(a.step, b.step)
    assert (a.evaluations, a.status, a.message) == (b.evaluations, b.status, b.message)


def f_tree(p, y):
    return np.sum(np.sin(p["w"]) * np.log(p["b"]) ** 2) + np.sum(y**3 * p["w"][0])


POINT = ({"w": np.linspace(-1.0, 1.0, 5).reshape(5, 1), "b": np.array([0.5, 2.0], dtype=np.float32)},
         np.array([1.0, -2.0]))  # fmt: skip


@pytest.fixture(scope="module")
def threads():
    with ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def processes():
    pytest.importorskip("cloudpickle", reason="lambdas reach a process pool through cloudpickle")
    with ProcessPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def client():
    yield from local_client(processes=True)


@pytest.mark.parametrize("method", ["central", "central4", "forward", "richardson", "adaptive", "complex"])
def test_grad_on_a_thread_pool_is_the_serial_result_bit_for_bit(threads, method):
    kw = {"argnums": (0, 1), "method": method, "return_estimate": True}
    serial = numerical.grad(f_tree, *POINT, **kw)
    _same_estimate(serial, numerical.grad(f_tree, *POINT, executor=threads, **kw))


@pytest.mark.parametrize("method", ["central", "richardson", "adaptive"])
def test_hessian_on_a_thread_pool_is_the_serial_result(threads, method):
    f = lambda x: np.sum(np.exp(x) * x[0]) + x[1] ** 2 * x[2]
    x = np.array([0.3, -1.2, 2.0])
    kw = {"method": method, "return_estimate": True}
    _same_estimate(numerical.hessian(f, x, **kw), numerical.hessian(f, x, executor=threads, **kw))


def test_jacobian_derivative_directional_on_a_thread_pool(threads):
    x = np.array([0.2, 1.5, 3.0])
    f = lambda x: np.stack([np.sin(x[0] * x[1]), np.exp(x[2]) * x[0]])
    for kw in ({"method": "central4"}, {"method": "adaptive"}):
        _same_estimate(numerical.jacobian(f, x, return_estimate=True, **kw),
                       numerical.jacobian(f, x, return_estimate=True, executor=threads, **kw))  # fmt: skip
    _same_estimate(numerical.derivative(np.tanh, x, n=3, method="adaptive", return_estimate=True),
                   numerical.derivative(np.tanh, x, n=3, method="adaptive", return_estimate=True,
                                        executor=threads))  # fmt: skip
    _same_estimate(
        numerical.directional(f, (x,), (np.ones(3),), return_estimate=True),
        numerical.directional(f, (x,), (np.ones(3),), return_estimate=True, executor=threads),
    )


def test_one_sided_fallback_is_taken_the_same_way(threads):
    """A point at the edge of the domain: the job needs a second round of points."""
    f = lambda x: np.sum(np.sqrt(x) ** 3)
    x = np.array([1.0, 0.0, 2.0])
    serial = numerical.grad(f, x, return_estimate=True)
    assert "one-sided" in serial.message
    _same_estimate(serial, numerical.grad(f, x, return_estimate=True, executor=threads))


def test_evaluations_are_batched_several_points_per_task():
    class Counting(ThreadPoolExecutor):
        def __init__(self):
            super().__init__(2)
            self.submitted = 0

        def submit(self, fn, /, *args, **kwargs):
            self.submitted += 1
            return super().submit(fn, *args, **kwargs)

    with Counting() as pool:
        est = numerical.grad(lambda x: np.sum(x**2), np.ones(40), return_estimate=True, executor=pool)
    assert est.evaluations == 1 + 4 * 40  # +-h and +-2h (for the error estimate) per input
    # One round (every column's points are known at once), 2 tasks per thread.
    assert pool.submitted == 4


def test_the_first_failing_input_is_reported_as_in_a_serial_run(threads):
    # NaN on both sides of inputs 3 and 5: the serial run stops at input 3; so must the batched one.
    x = np.array([0.5, 0.5, 0.5, 1.0, 0.5, 1.0])
    f2 = lambda x: np.sum(x) + (np.nan if (x[3] != 1.0 or x[5] != 1.0) else 0.0)
    with pytest.raises(NonFiniteError) as serial:
        numerical.grad(f2, x)
    with pytest.raises(NonFiniteError) as batched:
        numerical.grad(f2, x, executor=threads)
    assert str(batched.value) == str(serial.value)
    assert "[3]" in str(batched.value)


def test_an_exception_on_a_worker_names_the_point(threads):
    def f(x):
        if x[2] > 1.0:
            raise ValueError("solver diverged")
        return np.sum(x**2)

    with pytest.raises(EvaluationError, match=r"solver diverged") as info:
        numerical.grad(f, np.ones(4), executor=threads)
    assert info.value.point.startswith("argument 0 ('x')[2] = 1.0 moved by ")
    assert info.value.remote_type == "ValueError"
    assert "solver diverged" in info.value.remote_traceback


def test_vectorized_functions_get_a_stack_per_task(threads):
    calls = []

    def f(x):
        calls.append(x.shape[0])
        return np.sum(np.sin(x), axis=-1)

    x = np.linspace(0.0, 1.0, 6)
    serial = numerical.grad(f, x, vectorized=True, method="central4")
    calls.clear()
    np.testing.assert_allclose(numerical.grad(f, x, vectorized=True, method="central4", executor=threads),
                               serial, rtol=1e-13)  # fmt: skip
    # The base point on the client, then 4 points for each of 6 inputs in 4 tasks (2 per thread).
    assert calls == [1, 6, 6, 6, 6]


def test_bad_arguments_are_refused_by_name(threads):
    with pytest.raises(ValueError, match="not both"):
        numerical.grad(np.sum, np.ones(2), workers=2, executor=threads)
    with pytest.raises(TypeError, match=r"executor= takes a concurrent.futures.Executor .* not int"):
        numerical.grad(np.sum, np.ones(2), executor=4)


def test_a_process_pool_takes_lambdas_and_gives_the_serial_result(processes):
    kw = {"argnums": (0, 1), "method": "central", "return_estimate": True}
    _same_estimate(numerical.grad(f_tree, *POINT, **kw),
                   numerical.grad(lambda p, y: f_tree(p, y), *POINT, executor=processes, **kw))  # fmt: skip

    lock = threading.Lock()

    def unpicklable(x):
        with lock:
            return np.sum(x)

    with pytest.raises(TypeError, match="could not be pickled for ProcessPoolExecutor"):
        numerical.grad(unpicklable, np.ones(2), executor=processes)


def test_check_grad_reports_the_same_on_an_executor(threads):
    loss = lambda p: np.sum(np.tanh(p["w"]) ** 2) * np.sum(p["b"])
    params = {"w": np.array([[0.5, -1.0], [2.0, 0.1]]), "b": np.array([1.0, 0.5])}
    for kw in ({"mode": "full"}, {"mode": "fast", "seed": 3}, {"order": 2}):
        a = check_grad(loss, params, **kw)
        b = check_grad(loss, params, executor=threads, **kw)
        assert (a.verdict, a.evaluations, [r.numerical for r in a.rows]) == (
            b.verdict, b.evaluations, [r.numerical for r in b.rows])  # fmt: skip
    wrong = lambda p: {"w": 2 * np.tanh(p["w"]) / np.cosh(p["w"]) ** 2 * np.sum(p["b"]),
                       "b": np.full(2, np.sum(np.tanh(p["w"]) ** 2)) + 0.1}  # fmt: skip
    report = check_grad(loss, params, grad=wrong, executor=threads, raise_on_failure=False)
    assert report.verdict == "FAIL" and "'b'" in report.localization


# -- jobs shipped whole (many more jobs than workers) --------------------------------------


def f_wide(x):
    return np.sum(np.sin(x) * x[0]) + np.prod(np.cos(x[:3]))


WIDE = np.linspace(-1.0, 1.0, 24)


@pytest.fixture
def jobs_only(monkeypatch):
    """Makes the test fail if points, not whole jobs, are shipped."""
    import chainrule.numerical.executors as executors

    def shipped_points(*args, **kwargs):
        raise AssertionError("the points were shipped in rounds, not the jobs")

    monkeypatch.setattr(executors, "map_batched", shipped_points)


@pytest.mark.parametrize("method", ["central", "richardson", "adaptive", "complex"])
def test_jobs_shipped_to_processes_give_the_serial_result(processes, jobs_only, method):
    kw = {"method": method, "return_estimate": True}
    done = []
    shipped = numerical.grad(lambda x: f_wide(x), WIDE, executor=with_progress(processes, done.append), **kw)
    serial = numerical.grad(f_wide, WIDE, **kw)
    _same_estimate(serial, shipped)
    assert sum(done) == serial.evaluations - 1  # all but the base point, counted on the workers


@pytest.mark.parametrize("method", ["richardson", "adaptive"])
def test_hessian_jobs_shipped_to_processes(processes, jobs_only, method):
    x = np.linspace(0.2, 1.6, 8)  # 8 diagonal jobs (adaptive), 28 or 36 entries
    kw = {"method": method, "return_estimate": True}
    _same_estimate(numerical.hessian(f_wide, x, **kw), numerical.hessian(f_wide, x, executor=processes, **kw))


def test_shipped_jobs_fall_back_and_fail_as_in_a_serial_run(processes, jobs_only):
    f = lambda x: np.sum(np.sqrt(x) ** 3)
    x = np.linspace(0.0, 2.0, 24)  # x[0] = 0: a one-sided difference there
    serial = numerical.grad(f, x, return_estimate=True)
    assert "one-sided" in serial.message
    _same_estimate(serial, numerical.grad(f, x, return_estimate=True, executor=processes))
    # NaN at inputs 11 and 20, in different tasks: the serial run stops at 11; so must this one.
    y = np.ones(24)
    f2 = lambda x: np.sum(x) + (np.nan if (x[11] != 1.0 or x[20] != 1.0) else 0.0)
    with pytest.raises(NonFiniteError) as serial_error:
        numerical.grad(f2, y)
    with pytest.raises(NonFiniteError) as shipped_error:
        numerical.grad(f2, y, executor=processes)
    assert str(shipped_error.value) == str(serial_error.value) and "[11]" in str(serial_error.value)


def test_an_exception_in_a_shipped_job_names_the_point(processes, jobs_only):
    def f(x):
        if x[9] > 1.0:
            raise ValueError("solver diverged")
        return np.sum(x**2)

    with pytest.raises(EvaluationError, match=r"solver diverged") as info:
        numerical.grad(f, np.ones(24), executor=processes)
    assert info.value.point.startswith("argument 0 ('x')[9] = 1.0 moved by ")
    assert info.value.remote_type == "ValueError" and "solver diverged" in info.value.remote_traceback


def test_vectorized_jobs_shipped_whole(processes, jobs_only):
    f = lambda x: np.sum(np.sin(x) * x[..., :1], axis=-1)
    kw = {"vectorized": True, "method": "central4", "return_estimate": True}
    _same_estimate(numerical.grad(f, WIDE, **kw), numerical.grad(f, WIDE, executor=processes, **kw))


def test_tasks_are_sized_by_the_time_of_an_evaluation():
    from chainrule.numerical.evaluate import Evaluator
    from chainrule.numerical.executors import MAX_TASKS_PER_WORKER, TASKS_PER_WORKER, task_slices
    from chainrule.numerical.inputs import Inputs

    ev = Evaluator(np.sum, Inputs(np.sum, (np.ones(3),), 0, True))
    cases = ((1e-4, 17_000, 2), (1e-4, 40, 2), (0.02, 40, 2), (60.0, 200, 50), (1e-3, 10, 8))
    for seconds, jobs, workers in cases:
        ev.seconds0 = seconds
        slices = task_slices(ev, jobs, workers)
        sizes = [b - a for a, b in slices]
        assert slices[0][0] == 0 and slices[-1][1] == jobs and sum(sizes) == jobs  # contiguous, all jobs
        assert max(sizes) - min(sizes) <= 1
        assert min(jobs, TASKS_PER_WORKER * workers) <= len(slices) <= MAX_TASKS_PER_WORKER * workers
        if TASKS_PER_WORKER * workers < len(slices) < min(jobs, MAX_TASKS_PER_WORKER * workers):
            # About 0.25 s of evaluations (2 per job) in each task.
            assert 0.12 <= 2 * seconds * max(sizes) <= 0.5
    ev.seconds0 = 60.0
    assert len(task_slices(ev, 200, 50)) == 200  # minute-long evaluations: one job per task


def layer_forward(x, w):
    out = np.tanh(x @ w)
    return out, (x, w, out)


def layer_backward(dout, cache):
    x, w, out = cache
    dz = dout * (1.0 - out**2)
    return dz @ w.T, x.T @ dz


def wrong_backward(dout, cache):
    dx, dw = layer_backward(dout, cache)
    return dx, dw * 1.01


LAYER = (np.random.default_rng(4).standard_normal((3, 4)), np.random.default_rng(5).standard_normal((4, 2)))


def _same_report(a, b):
    key = lambda r: (r.path, r.index, r.backprop, r.numerical, r.tolerance, r.status, r.what)
    assert (a.verdict, a.evaluations, a.localization) == (b.verdict, b.evaluations, b.localization)
    assert a.rows and [key(r) for r in a.rows] == [key(r) for r in b.rows]


def _vjp_reports(executor):
    """(serial, on executor) check_vjp reports: fast, full, and a wrong backward (full check of w)."""
    pairs = []
    cases = ((layer_backward, {"mode": "fast", "seed": 1}), (layer_backward, {"mode": "full", "seed": 2}),
             (wrong_backward, {"mode": "fast", "seed": 3, "raise_on_failure": False}))  # fmt: skip
    for backward, kw in cases:
        pairs.append((check_vjp(layer_forward, backward, *LAYER, **kw),
                      check_vjp(layer_forward, backward, *LAYER, executor=executor, **kw)))  # fmt: skip
    return pairs


def test_check_vjp_on_an_executor_is_the_serial_report(threads, processes):
    for executor in (threads, processes):
        done = []
        pairs = _vjp_reports(with_progress(executor, done.append))
        for a, b in pairs:
            _same_report(a, b)
        # The executor did the evaluations (all but the base point of each numerical call).
        assert 0 < sum(done) < sum(b.evaluations for _, b in pairs)
        wrong = pairs[-1][1]
        assert wrong.verdict == "FAIL" and "argument 1 ('w')" in wrong.localization
        # The full comparison of the wrong argument ran (on the executor): element rows exist.
        assert any(r.what == "d/dx" and r.status == "FAIL" for r in wrong.rows)


def test_numerical_imports_no_dask_for_an_executor():
    # (That numerical imports nothing of the engine is test_architecture's concern.)
    code = textwrap.dedent("""
        import sys
        from concurrent.futures import ThreadPoolExecutor
        import numpy as np
        from chainrule import numerical
        with ThreadPoolExecutor(2) as pool:
            numerical.grad(lambda x: np.sum(x ** 2), np.ones(3), executor=pool)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- Dask --------------------------------------------------------------------------------


def test_a_dask_client_gives_the_serial_result_bit_for_bit(client):
    kw = {"argnums": (0, 1), "method": "richardson", "return_estimate": True}
    _same_estimate(numerical.grad(f_tree, *POINT, **kw),
                   numerical.grad(lambda p, y: f_tree(p, y), *POINT, executor=client, **kw))  # fmt: skip
    f = lambda x: np.sum(np.exp(x) * x[0])
    x = np.array([0.3, -1.2])
    executor = client.get_executor()
    assert isinstance(executor, Executor)
    _same_estimate(numerical.hessian(f, x, return_estimate=True),
                   numerical.hessian(f, x, return_estimate=True, executor=executor))  # fmt: skip


def test_a_failure_on_a_dask_worker_names_the_point(client):
    def f(x):
        if x[1] < -1.0:
            raise ArithmeticError("negative pressure")
        return np.sum(x**2)

    with pytest.raises(EvaluationError, match="negative pressure") as info:
        numerical.grad(f, np.array([2.0, -1.0, 3.0]), executor=client)
    assert "argument 0 ('x')[1] = -1.0 moved by -" in str(info.value)


def test_check_grad_on_a_dask_cluster(client):
    def loss(w, x):
        return np.mean(np.log1p(np.exp(-x @ w)))

    rng = np.random.default_rng(0)
    w, x = rng.standard_normal(6), rng.standard_normal((50, 6))
    a = check_grad(loss, w, x)
    b = check_grad(loss, w, x, executor=client)
    assert b.verdict == "pass" and b.evaluations == a.evaluations
    assert [r.numerical for r in a.rows] == [r.numerical for r in b.rows]


def test_check_vjp_on_a_dask_cluster(client):
    for a, b in _vjp_reports(client):
        _same_report(a, b)


def test_jobs_shipped_to_a_dask_cluster(client, jobs_only):
    kw = {"method": "richardson", "return_estimate": True}
    _same_estimate(numerical.grad(f_wide, WIDE, **kw), numerical.grad(f_wide, WIDE, executor=client, **kw))

    def f(x):
        if x[9] < -1.0:
            raise ArithmeticError("negative pressure")
        return np.sum(x**2)

    with pytest.raises(EvaluationError, match="negative pressure") as info:
        numerical.grad(f, -np.ones(24), executor=client)
    assert "argument 0 ('x')[9] = -1.0 moved by -" in str(info.value)


def sin_x(x):
    return np.sum(np.sin(x) * x)


def slow_sin_x(x):
    time.sleep(0.02)
    return sin_x(x)


def test_a_killed_worker_is_replaced_and_its_tasks_rerun(client):
    """SIGKILL one worker process mid-run: Dask re-runs its tasks; the gradient is the serial one."""
    before = client.run(os.getpid)
    victim = next(iter(before.values()))
    x = np.linspace(0.0, 1.0, 40)  # 40 jobs of 2 x 20 ms, in 6 tasks of about 0.27 s
    killed = []

    def kill():
        os.kill(victim, signal.SIGKILL)
        killed.append(time.perf_counter())

    timer = threading.Timer(0.5, kill)
    timer.start()
    try:
        result = numerical.grad(slow_sin_x, x, executor=client, return_estimate=True)
    finally:
        timer.cancel()
    finished = time.perf_counter()
    assert killed and killed[0] < finished  # the worker died while the gradient ran
    _same_estimate(numerical.grad(sin_x, x, return_estimate=True), result)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the tests after this one
    after = client.run(os.getpid)
    assert victim not in after.values()


def test_points_travel_as_exact_differences_from_the_base_point():
    from chainrule.numerical.executors import Encoder, pack, unpack

    x0 = np.array([0.0, -0.0, 1.5, 2.0, -3.0, 0.25, 7.0, 8.0])
    encode = Encoder(x0)
    moved = x0.copy()
    moved[1] = 0.0  # -0.0 -> +0.0: equal as numbers, a different point
    moved[3] = np.nan
    step = x0 + 1e-20j * np.eye(8)[2]  # a complex step: every element becomes complex
    whole = x0 + 1.0  # every element moved: sent whole
    hinted = x0.copy()
    hinted[5] += 1e-7
    points = [encode(moved), encode(step), encode(whole), encode(hinted, moved=5), encode(x0.copy(), moved=4)]
    assert points[0].moved.tolist() == [1, 3]
    # x0 + 1e-20j e_2 also turns -0.0 into +0.0 (-0.0 + 0.0 = 0.0): that is part of the point.
    assert points[1].moved.tolist() == [1, 2]
    assert points[2].moved is None and points[4].moved.size == 0
    for x, back in zip([moved, step, whole, hinted, x0], unpack(pack(points), x0)):
        assert back.dtype == x.dtype and back.tobytes() == x.tobytes()
