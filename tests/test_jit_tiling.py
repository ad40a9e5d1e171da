"""Tiled regions of staged code (chainrule/jit/tiling.py): equal bit for bit to the untiled code.

Tiling changes how a staged program walks memory (tile by tile, on threads),
never a value: every test here compares with ``np.array_equal``. Most tests
lower the size threshold so small arrays are tiled too (many tiles of 128
elements), which makes every elementwise rule of the rule tables a region.
"""

from __future__ import annotations

import multiprocessing
import threading
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import parallel
from chainrule.jit import tiling
from chainrule.jit.tiling import TiledRegion, pairwise_tree
from test_elementwise import BINARY, UNARY


def _exact(a, b) -> bool:
    same_type = np.result_type(a) == np.result_type(b)
    return same_type and np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


def _leaf_sums(x: np.ndarray, leaf: int):
    tree = pairwise_tree(x.size, leaf)
    flat = x.reshape(-1)
    return tiling._combine(tree, [np.sum(flat[a:b]) for a, b in tiling._leaves(tree)], [0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sums_along_the_pairwise_tree_are_numpys_sum(dtype) -> None:
    rng = np.random.default_rng(0)
    sizes = [1, 7, 8, 127, 128, 129, 1000, 4099, 65536, 100_003, *rng.integers(130, 300_000, 12)]
    for n in sizes:
        # Wildly scaled values: any other order of additions rounds differently.
        x = (rng.standard_normal(int(n)) * np.exp(rng.uniform(-20, 20, int(n)))).astype(dtype)
        for leaf in (128, 1000, 16384):
            total = _leaf_sums(x, leaf)
            assert _exact(total, np.sum(x)), (n, leaf)
            assert _exact(total.dtype.type(total / np.intp(x.size)), np.mean(x)), (n, leaf)
    x = rng.standard_normal((300, 501)) * np.exp(rng.uniform(-20, 20, (300, 501)))
    assert _exact(_leaf_sums(x, 4096), np.sum(x))  # a C-contiguous matrix sums as its flat data


def test_a_different_summation_order_is_caught() -> None:
    # The check above can fail: cutting halves at n // 2 (not rounded to 8) is not NumPy's sum.
    rng = np.random.default_rng(1)
    x = rng.standard_normal(100_003) * np.exp(rng.uniform(-20, 20, 100_003))
    half = x.size // 2
    assert np.sum(x[:half]) + np.sum(x[half:]) != np.sum(x)


@pytest.fixture
def tile_everything(monkeypatch):
    """Regions from 8 elements up, tiles of 128 elements: small arrays get many tiles."""
    monkeypatch.setattr(tiling, "TILE_MIN_SIZE", 8)
    monkeypatch.setattr(tiling, "TILE_BYTES", 8)


def _regions(jitted, *args) -> list[TiledRegion]:
    jitted(*args)
    found = []
    for variants in jitted._cache.values():
        for v in variants:
            found += [x for x in v.code.namespace.values() if isinstance(x, TiledRegion)]
    return found


def _staged_and_eager(f, *args, threads=(1, 3)):
    """``cr.jit(f)`` under each thread count, and f itself, on ``args``."""
    want = f(*args)
    got = []
    for n in threads:
        parallel.set_num_threads(n)
        try:
            jf = cr.jit(f)
            jf(*args)
            got.append(jf(*args))
            # (Staged code that raises runs the function as is: a broken region would pass unseen.)
            assert jf.eager_calls == 0, "the staged code did not run"
        finally:
            parallel.set_num_threads(None)
    return want, got


@pytest.mark.parametrize(("fun", "domain"), UNARY, ids=[getattr(r[0], "__name__", str(r[0])) for r in UNARY])
def test_unary_rules_tiled_equal_eager(tile_everything, fun, domain) -> None:
    rng = np.random.default_rng(2)
    lo, hi = domain
    x = rng.uniform(lo, hi, (5, 301))
    loss = cr.value_and_grad(lambda x: np.sum(fun(x) * x))
    with np.errstate(all="ignore"):
        (v, g), results = _staged_and_eager(loss, x)
        for jv, jg in results:
            assert _exact(jv, v) and _exact(jg, g), fun
        assert _regions(cr.jit(loss), x), "nothing was tiled: the test checks nothing"


@pytest.mark.parametrize(
    ("fun", "dx", "dy"), BINARY, ids=[getattr(r[0], "__name__", str(r[0])) for r in BINARY]
)
def test_binary_rules_tiled_equal_eager(tile_everything, fun, dx, dy) -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(*dx, (4, 257)), rng.uniform(*dy, (4, 257))
    loss = cr.value_and_grad(lambda x, y: np.sum(fun(x, y) * y), argnums=(0, 1))
    with np.errstate(all="ignore"):
        (v, g), results = _staged_and_eager(loss, x, y)
        for jv, jg in results:
            assert _exact(jv, v) and all(_exact(a, b) for a, b in zip(jg, g)), fun


COMPOSITES = {
    "abs": lambda x: np.sum(np.abs(x - 1) * x),
    "relu": lambda x: np.sum(np.maximum(x - 1, 0.0) ** 2),
    "clip": lambda x: np.sum(np.clip(x, 0.5, 1.5) * x),
    "where": lambda x: np.sum(np.where(x > 1, x, 0.1 * x) ** 2),
    "sqrt-log": lambda x: np.sum(np.sqrt(x) * np.log(x)),
    "mean": lambda x: np.mean((x - 1) ** 2),
    "max": lambda x: np.max(np.exp(x)) + np.sum(x * x),
    "softplus": lambda x: np.sum(np.logaddexp(0.0, x) / x.size),
    "ties": lambda x: np.sum(np.maximum(np.round(x), 1.0) * x),
    "where-out": lambda x: np.sum(np.where(x > 1, x, 0.1 * x)),
    "cast": lambda x: np.sum(np.sin(x.astype(np.float32)) * 2).astype(np.float64) + np.sum(x),
}


@pytest.mark.parametrize("name", list(COMPOSITES))
@pytest.mark.parametrize("small_tiles", [False, True])
def test_composites_tiled_equal_eager(monkeypatch, name, small_tiles) -> None:
    # Rules whose backward passes mix regions with masks, guards and reductions.
    if small_tiles:
        monkeypatch.setattr(tiling, "TILE_MIN_SIZE", 8)
        monkeypatch.setattr(tiling, "TILE_BYTES", 8)
    x = np.random.default_rng(9).uniform(0.1, 2.0, 1000 if small_tiles else 600_000)
    x[::7] = 1.0  # kinks and ties
    vg = cr.value_and_grad(COMPOSITES[name])
    (v, g), results = _staged_and_eager(vg, x)
    for jv, jg in results:
        assert _exact(jv, v) and _exact(jg, g), name


def test_selections_read_after_the_region_are_copied_out() -> None:
    def f(x):
        return np.where(np.sin(x) > 0.5, x, 0.0), np.sum(np.cos(x) * x)

    x = np.random.default_rng(10).uniform(0.1, 2.0, 600_000)
    jf = cr.jit(f)
    assert "np.copyto(_o_" in jf.source(x)  # the where's result is made per tile and returned
    got, want = jf(x), f(x)
    assert _exact(got[0], want[0]) and _exact(got[1], want[1]) and jf.eager_calls == 0


def test_the_benchmark_expression_is_one_region_and_exact() -> None:
    # bench/workloads.py (c), at its full size: the threshold is the real one.
    x = np.random.default_rng(4).standard_normal(600_000)
    f = cr.value_and_grad(lambda x: np.sum(np.tanh(x) * np.exp(-(x**2)) + np.log1p(x**2)))
    (v, g), results = _staged_and_eager(f, x)
    for jv, jg in results:
        assert _exact(jv, v) and _exact(jg, g)
    jf = cr.jit(f)
    regions = _regions(jf, x)
    assert len(regions) == 1 and regions[0].steps >= 15
    # The region keeps no equations (they hold constants that only the namespaces may hold).
    assert not hasattr(regions[0], "region_steps")
    assert "_region0_tile" in jf.source(x)


@pytest.mark.parametrize("total", [np.sum, np.mean])
def test_float32_and_two_dimensional(tile_everything, total) -> None:
    x = np.random.default_rng(5).standard_normal((33, 65)).astype(np.float32)
    f = cr.value_and_grad(lambda x: total(np.sin(x) * x + 1.5) / np.float32(3))
    (v, g), results = _staged_and_eager(f, x)
    for jv, jg in results:
        assert _exact(jv, v) and _exact(jg, g) and jg.dtype == np.float32


def test_comparisons_and_scalars_from_before_the_region(tile_everything) -> None:
    def f(x, w):
        s = np.sum(w * w)  # a scalar made before the region, read inside it
        return np.sum(np.maximum(x, 0.0) * s + (x > 0.5) * x)

    rng = np.random.default_rng(6)
    x, w = rng.standard_normal(1000), rng.standard_normal(3)
    vg = cr.value_and_grad(f, argnums=(0, 1))
    (v, g), results = _staged_and_eager(vg, x, w)
    for jv, jg in results:
        assert _exact(jv, v) and all(_exact(a, b) for a, b in zip(jg, g))


def test_steps_that_read_a_regions_sum_run_after_it(tile_everything) -> None:
    def softmax_loss(z):
        e = np.exp(z - 0.5)
        s = np.sum(e)  # read by later elementwise steps
        return np.sum(np.log1p(e / s) * z)

    z = np.random.default_rng(7).standard_normal(2000)
    vg = cr.value_and_grad(softmax_loss)
    (v, g), results = _staged_and_eager(vg, z)
    for jv, jg in results:
        assert _exact(jv, v) and _exact(jg, g)
    assert len(_regions(cr.jit(vg), z)) >= 2  # the steps after the sum form a second region


def test_operands_off_c_order_take_the_plain_code(tile_everything) -> None:
    f = cr.value_and_grad(lambda x: np.sum(np.tanh(x) * x))
    x = np.asfortranarray(np.random.default_rng(8).standard_normal((50, 40)))
    jf = cr.jit(f)
    jf(np.ascontiguousarray(x))  # staged on C order
    v, g = f(x)
    jv, jg = jf(x)
    assert _exact(jv, v) and _exact(jg, g)
    jv, jg = jf(x[::-1])  # a reversed view, negative strides
    v, g = f(x[::-1])
    assert _exact(jv, v) and _exact(jg, g)


def test_floating_point_errors_raise_and_warn_as_eager_does(tile_everything) -> None:
    f = cr.jit(lambda x: np.sum(np.log(x) * x))
    x = np.linspace(-1.0, 1.0, 1000)
    with np.errstate(invalid="ignore", divide="ignore"):
        f(np.abs(x) + 1.0)  # staged
    for threads in (1, 3):
        parallel.set_num_threads(threads)
        try:
            with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
                f(x)  # log of negative numbers, in some tile on some thread
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("error")
                assert np.isnan(f(x))  # ignored in every thread: no warning becomes an error
        finally:
            parallel.set_num_threads(None)


def test_two_threads_call_one_staged_function(tile_everything) -> None:
    f = cr.jit(cr.value_and_grad(lambda x: np.sum(np.sin(x) * np.cos(x))))
    xs = [np.random.default_rng(k).standard_normal(5000) for k in range(4)]
    want = [cr.value_and_grad(lambda x: np.sum(np.sin(x) * np.cos(x)))(x) for x in xs]
    f(xs[0])
    errors: list[str] = []

    def work(k: int) -> None:
        for _ in range(20):
            v, g = f(xs[k])
            if not (_exact(v, want[k][0]) and _exact(g, want[k][1])):
                errors.append(f"input {k}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def _child(queue) -> None:  # pragma: no cover - runs in the forked child
    f = cr.jit(lambda x: np.sum(np.exp(x) * x))
    x = np.linspace(0.0, 1.0, 600_000)
    queue.put(bool(f(x) == np.sum(np.exp(x) * x)))


def test_a_forked_child_gets_its_own_threads() -> None:
    # The parent's pool threads do not exist in a forked child: a child that reused
    # the pool object would wait for them forever.
    f = cr.jit(lambda x: np.sum(np.exp(x) * x))
    f(np.linspace(0.0, 1.0, 600_000))
    if parallel.num_threads() < 2:
        parallel.set_num_threads(2)
    try:
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        p = ctx.Process(target=_child, args=(queue,))
        p.start()
        p.join(60)
        assert p.exitcode == 0 and queue.get(timeout=5) is True
    finally:
        parallel.set_num_threads(None)


def test_thread_count_settings(monkeypatch) -> None:
    monkeypatch.delenv("CHAINRULE_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as Dask's workers set it: no oversubscription
    assert parallel.num_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert parallel.num_threads() >= 1  # another library's variable: ignored when unreadable
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", "3")
    assert parallel.num_threads() == 3  # chainrule's own variable first
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="CHAINRULE_NUM_THREADS='zero'"):
        parallel.num_threads()
    with pytest.raises(ValueError, match="positive int"):
        parallel.set_num_threads(0)


def test_generated_code_that_cannot_run_is_an_error_not_a_silent_eager_call() -> None:
    f = cr.jit(lambda x: np.sum(x * 2.0))
    f(np.ones(3))
    (variant,) = next(iter(f._cache.values()))

    def broken(*args):
        return undefined_name  # noqa: F821 - the defect under test

    variant.fn = broken
    with pytest.raises(RuntimeError, match="generated code for <lambda> that does not run"):
        f(np.ones(3))
    assert f.eager_calls == 0


def test_parts_that_ask_for_threads_run_in_turn() -> None:
    # A part running on a pool thread that calls run_parts again would otherwise queue its
    # parts behind itself on a pool that has no free thread: a deadlock.
    parallel.set_num_threads(2)
    try:
        inner = [lambda: 1, lambda: 2]
        outer = [lambda: parallel.run_parts(inner), lambda: parallel.run_parts(inner)]
        result: list = []
        # In a daemon thread: a regression fails this test instead of hanging the suite.
        t = threading.Thread(target=lambda: result.append(parallel.run_parts(outer)), daemon=True)
        t.start()
        t.join(30)
        assert result == [[[1, 2], [1, 2]]], "run_parts inside a part did not finish"
    finally:
        parallel.set_num_threads(None)
