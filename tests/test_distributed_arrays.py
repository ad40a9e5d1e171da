"""Gradients over Dask arrays: chunk by chunk, correct against NumPy, in bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import adam, minimize
from dask_cluster import local_client

da = pytest.importorskip("dask.array", reason="Dask is an optional extra: pip install 'chainrule[dask]'")
from chainrule.distributed import dask_objective, dask_value_and_grad  # noqa: E402


def logistic(w, x, y):
    return np.mean(np.logaddexp(0.0, -y * (x @ w)))


def mlp(p, x, y):
    h = np.tanh(x @ p["w1"] + p["b1"])
    return np.mean((h @ p["w2"] - y) ** 2)


def _data(rows=1000, chunks=(300, 300, 250, 150)):
    rng = da.random.default_rng(0)
    x = rng.standard_normal((rows, 4), chunks=(chunks, 4))
    y = da.sign(rng.standard_normal(rows, chunks=(chunks,)))
    return x, y


def _params():
    rng = np.random.default_rng(1)
    return {"w1": rng.standard_normal((4, 3)), "b1": np.zeros(3), "w2": rng.standard_normal(3)}


def test_matches_numpy_on_the_whole_data_for_two_losses():
    x, y = _data()
    xn, yn = x.compute(), y.compute()
    w = np.array([0.5, -0.2, 0.3, 0.1])
    for loss, params in ((logistic, w), (mlp, _params())):
        value, g = dask_value_and_grad(loss, params, x, y)
        v_ref, g_ref = cr.value_and_grad(loss)(params, xn, yn)
        assert value == pytest.approx(float(v_ref), rel=1e-13)
        for a, b in zip(cr.tree_leaves(g), cr.tree_leaves(g_ref)):
            assert type(a) is np.ndarray
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_blocks_within_chunks_give_the_same_gradient():
    x, y = _data()
    params = _params()
    summed = lambda p, x, y: mlp(p, x, y) * len(y)  # the same loss as a sum over rows
    for loss, reduction in ((mlp, "mean"), (summed, "sum")):
        value, g = dask_value_and_grad(loss, params, x, y, reduction=reduction)
        v_blocks, g_blocks = dask_value_and_grad(loss, params, x, y, reduction=reduction, block_rows=64)
        assert v_blocks == pytest.approx(value, rel=1e-13)
        for a, b in zip(cr.tree_leaves(g_blocks), cr.tree_leaves(g)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="block_rows= must be a positive int"):
        dask_value_and_grad(mlp, params, x, y, block_rows=0)


def test_sum_reduction_misaligned_chunks_and_float32_parameters():
    x, y = _data(chunks=(500, 500))
    y = y.rechunk(200)  # rows chunked differently from x: aligned to x's chunks
    w = np.array([0.5, -0.2, 0.3, 0.1], dtype=np.float32)
    summed = lambda w, x, y: np.sum(np.logaddexp(0.0, -y * (x @ w)))
    value, g = dask_value_and_grad(summed, w, x, y, reduction="sum")
    v_ref, g_ref = cr.value_and_grad(summed)(w.astype(np.float64), x.compute(), y.compute())
    assert value == pytest.approx(float(v_ref), rel=1e-12)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)


def test_bad_inputs_are_refused_by_name():
    x, y = _data()
    w = np.zeros(4)
    with pytest.raises(TypeError, match=r"params\['w1'\] is a Dask array.*dask_value_and_grad"):
        dask_value_and_grad(mlp, {"w1": da.zeros((4, 3)), "b1": np.zeros(3), "w2": np.zeros(3)}, x, y)
    with pytest.raises(ValueError, match="data array 1 has 999 rows and array 0 has 1000"):
        dask_value_and_grad(logistic, w, x, y[:999])
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        dask_value_and_grad(logistic, w, x[x[:, 0] > 0], y[x[:, 0] > 0])
    with pytest.raises(ValueError, match="reduction= must be 'mean' or 'sum'"):
        dask_value_and_grad(logistic, w, x, y, reduction="median")


def test_dask_arrays_as_parameters_of_grad_name_dask():
    x = da.ones((4,), chunks=2)
    with pytest.raises(TypeError, match=r"argument 0 \('x'\) is a Dask array.*dask_value_and_grad"):
        cr.grad(lambda x: np.sum(x**2))(x)


def test_dask_parameters_of_finite_differences_and_checks_name_dask():
    """np.asarray would compute them silently (and check_grad reported a bare FAIL): refused by name."""
    x = da.ones((4,), chunks=2)
    square = lambda x: np.sum(x**2)
    for call in (lambda: cr.numerical.grad(square, x), lambda: cr.check_grad(square, x),
                 lambda: cr.numerical.hessian(square, x)):  # fmt: skip
        with pytest.raises(TypeError, match=r"argument 0 \('x'\) is a Dask array; finite differences .*"):
            call()
    with pytest.raises(TypeError, match=r"argument 1 \('w'\) is a Dask array; check_vjp .*compute"):
        cr.check_vjp(lambda x, w: (x * w, None), lambda g, c: (g, g), np.ones(4), x)
    # Dask data that is not differentiated stays lazy and is allowed.
    g = cr.numerical.grad(lambda w, x: float(np.sum(w * x).compute()), np.array([1.0, 2.0, 3.0, 4.0]), x)
    np.testing.assert_allclose(g, np.ones(4), rtol=1e-9)


def test_numpy_dispatch_alone_gives_a_lazy_but_correct_gradient():
    """cr.grad over Dask data without this module: lazy Dask results (whole-graph, not chunked)."""
    x, y = _data()
    w = np.array([0.5, -0.2, 0.3, 0.1])
    value, g = cr.value_and_grad(logistic)(w, x, y)
    assert isinstance(g, da.Array)  # NumPy's dispatch made every step a Dask operation
    v_ref, g_ref = cr.value_and_grad(logistic)(w, x.compute(), y.compute())
    np.testing.assert_allclose(g.compute(), g_ref, rtol=1e-12)
    assert float(value.compute()) == pytest.approx(float(v_ref), rel=1e-13)


def test_minimize_steps_with_one_graph_per_step(monkeypatch):
    import chainrule.distributed.arrays as arrays

    graphs = []
    build = arrays._graph
    monkeypatch.setattr(arrays, "_graph", lambda *a: graphs.append(1) or build(*a))
    x, y = _data()
    generated = []  # chunks of x produced (this module's tests use Dask's threads: one process)

    def produce(block):
        generated.append(len(block))
        return block

    x = x.map_blocks(produce, meta=np.empty((0, 0)))  # meta given: no call to infer it
    fun, grad = dask_objective(logistic, x, y)
    result = minimize(fun, np.zeros(4), adam(0.1), gradient=grad, steps=20, tol=None, progress=False)
    assert len(graphs) == result.nit + 1  # value and gradient of each iterate from one graph
    assert sorted(generated) == sorted(x.chunks[0])  # the data was computed once (persisted), not per step
    xn, yn = x.compute(), y.compute()
    direct = minimize(lambda w: logistic(w, xn, yn), np.zeros(4), adam(0.1), steps=20, tol=None,
                      progress=False)  # fmt: skip
    np.testing.assert_allclose(result.x, direct.x, rtol=1e-10)


@pytest.fixture(scope="module")
def small_workers():
    # 2 worker processes limited to 200 MB each (about 100 MB of it is Python, NumPy, Dask and
    # chainrule themselves); the data below is 256 MB.
    yield from local_client(processes=True, memory_limit="200MB")


def test_data_larger_than_a_workers_memory_stays_chunked(small_workers):
    rows = 8_000_000  # 8e6 x 4 float64 = 256 MB, generated lazily in 200k-row chunks (6.4 MB)
    rng = da.random.default_rng(2)
    x = rng.standard_normal((rows, 4), chunks=(200_000, 4))
    y = da.sign(x[:, 0] + 0.5 * rng.standard_normal(rows, chunks=200_000))
    w = np.array([0.5, -0.2, 0.3, 0.1])
    value, g = dask_value_and_grad(logistic, w, x, y)  # on the active client: the 200 MB workers
    # Reference, derived by hand and written in dask.array (bounded too, independent of chainrule):
    # d/dw mean(log(1 + exp(-y x.w))) = mean(-y sigmoid(-y x.w) x).
    margin = -y * (x @ w)
    value_ref, g_ref = da.compute(da.mean(da.logaddexp(0.0, margin)),
                                  (x * (-y / (1.0 + da.exp(-margin)))[:, None]).mean(axis=0))  # fmt: skip
    assert value == pytest.approx(float(value_ref), rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10)
    assert all(info["memory_limit"] == 200e6 for info in small_workers.scheduler_info()["workers"].values())
