"""vmap's outer products on threads (rules/batching.py ``_outer_product``): bit-identical to one thread."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import parallel
from chainrule.rules import batching


@pytest.fixture
def threaded(monkeypatch):
    monkeypatch.setattr(batching, "PARALLEL_MIN_BYTES", 1)
    parallel.set_num_threads(3)
    yield
    parallel.set_num_threads(None)


def _loss(params, x, y):
    h = np.tanh(x @ params["w1"] + params["b1"])
    return np.sum((h @ params["w2"] - y) ** 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_example_gradients_on_threads_equal_the_loop(threaded, dtype) -> None:
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.standard_normal((7, 5)).astype(dtype),
        "b1": rng.standard_normal(5).astype(dtype),
        "w2": rng.standard_normal((5, 3)).astype(dtype),
    }
    X, Y = rng.standard_normal((10, 7)).astype(dtype), rng.standard_normal((10, 3)).astype(dtype)
    X[3, 2] = -0.0  # signed zeros survive: each element is the one product the loop computes
    g = cr.grad(_loss)
    got = cr.vmap(g, in_axes=(None, 0, 0))(params, X, Y)
    parallel.set_num_threads(1)
    serial = cr.vmap(g, in_axes=(None, 0, 0))(params, X, Y)
    for k in params:
        # (The batched matrix products round differently from the loop's vector products,
        # so the loop is matched to rounding; one thread's vmap is matched bit for bit.)
        assert np.array_equal(got[k], serial[k]), k
        assert np.array_equal(np.signbit(got[k]), np.signbit(serial[k])), k
        loop = np.stack([g(params, X[i], Y[i])[k] for i in range(10)])
        np.testing.assert_allclose(got[k], loop, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    assert got["w1"].dtype == dtype


def test_a_threaded_product_is_used_and_one_thread_is_not(threaded, monkeypatch) -> None:
    calls = []
    real = batching.run_parts
    monkeypatch.setattr(batching, "run_parts", lambda parts: calls.append(len(parts)) or real(parts))
    a, b = np.ones((6, 4, 1)), np.arange(18.0).reshape(6, 1, 3)
    out = batching._outer_product(a, b)
    assert calls == [3] and np.array_equal(out, a * b)
    parallel.set_num_threads(1)
    assert np.array_equal(batching._outer_product(a, b), a * b) and calls == [3]
    # Broadcast batch axes (one operand unbatched) and fewer examples than threads.
    parallel.set_num_threads(3)
    assert np.array_equal(batching._outer_product(a[:1], b), a[:1] * b)
    assert np.array_equal(batching._outer_product(a[:2], b[:2]), a[:2] * b[:2])
