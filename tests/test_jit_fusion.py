"""chainrule.jit on large arrays: numexpr fusion (optional) and preallocated buffers.

Fused code must equal unfused code bit for bit (only IEEE-exact arithmetic is
fused, in the same order); preallocated buffers must never reach the caller.
"""

from __future__ import annotations

import os
import re
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.jit import fusion
from chainrule.jit.buffers import BufferPool

N = 50_000  # above FUSE_MIN_SIZE and REUSE_MIN_SIZE
rng = np.random.default_rng(11)


def elementwise(x):
    x2 = x**2
    return np.sum(np.tanh(x) * np.exp(-x2) + np.log1p(x2))


def arithmetic(x, y):
    z = (x * y - 2.0 * x) / (y + 3.0)
    return np.sum(-z * z + z / 7.0 - np.square(x - y))


def fused(source: str) -> int:
    """How many lines of staged source call a numexpr expression."""
    return len(re.findall(r"= fused(?:_\d+)?\(", source))


def _pools(jf) -> list[BufferPool]:
    return [
        v for variants in jf._cache.values() for var in variants for v in var.code.namespace.values()
        if isinstance(v, BufferPool)
    ]  # fmt: skip


needs_numexpr = pytest.mark.skipif(
    not fusion.available(), reason="numexpr is not installed (pip install chainrule[jit])"
)


@needs_numexpr
@pytest.mark.parametrize("f", [elementwise, arithmetic])
def test_fused_equals_unfused_bit_for_bit(f) -> None:
    nargs = f.__code__.co_argcount
    jfused = cr.jit(cr.value_and_grad(f, argnums=tuple(range(nargs))), fuse=True)
    plain = cr.jit(cr.value_and_grad(f, argnums=tuple(range(nargs))), fuse=False)
    args = tuple(rng.uniform(0.5, 2.0, N) for _ in range(nargs))
    assert fused(jfused.source(*args))
    assert not fused(plain.source(*args))
    for _ in range(3):
        args = tuple(rng.uniform(0.5, 2.0, N) for _ in range(nargs))
        (v1, g1), (v2, g2) = jfused(*args), plain(*args)
        assert v1 == v2
        for a, b in zip(g1, g2):
            np.testing.assert_array_equal(a, b)
        # and both are the eager gradient
        ev, eg = cr.value_and_grad(f, argnums=tuple(range(nargs)))(*args)
        np.testing.assert_allclose(v1, ev, rtol=1e-13)
        for a, b in zip(g1, eg):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@needs_numexpr
def test_what_is_not_fused() -> None:
    small = cr.jit(cr.grad(arithmetic), fuse=True)
    assert not fused(small.source(np.ones(100), np.ones(100)))  # below FUSE_MIN_SIZE
    single = cr.jit(cr.grad(arithmetic), fuse=True)
    x32 = rng.uniform(0.5, 2.0, N).astype(np.float32)
    assert not fused(single.source(x32, x32 + 1))  # float32: numexpr would compute in float64
    np.testing.assert_allclose(single(x32, x32 + 1), cr.grad(arithmetic)(x32, x32 + 1), rtol=1e-5)
    strict = cr.jit(lambda x: x * 2.0 + x / 3.0 - 1.0, fuse=True)
    x = rng.uniform(0.5, 2.0, N)
    with np.errstate(divide="raise"):  # numexpr cannot raise floating-point errors
        assert not fused(strict.source(x))
    assert fused(cr.jit(lambda x: x * 2.0 + x / 3.0 - 1.0, fuse=True).source(x))


def test_without_numexpr_every_line_is_numpy(monkeypatch) -> None:
    monkeypatch.setattr(fusion, "_numexpr", None)
    jf = cr.jit(cr.value_and_grad(arithmetic, argnums=(0, 1)), fuse=True)
    x, y = rng.uniform(0.5, 2.0, N), rng.uniform(0.5, 2.0, N)
    assert not fused(jf.source(x, y))
    v, (gx, gy) = jf(x, y)
    ev, (ex, ey) = cr.value_and_grad(arithmetic, argnums=(0, 1))(x, y)
    assert v == ev
    np.testing.assert_array_equal(gx, ex)
    np.testing.assert_array_equal(gy, ey)


@needs_numexpr
def test_numexpr_threads_follow_the_cpus_this_process_may_use(monkeypatch) -> None:
    import numexpr

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    before = numexpr.get_num_threads()
    try:
        for name in ("NUMEXPR_NUM_THREADS", "NUMEXPR_MAX_THREADS", "OMP_NUM_THREADS"):
            monkeypatch.delenv(name, raising=False)
        numexpr.set_num_threads(usable + 1)
        monkeypatch.setattr(fusion, "_threads_set", False)
        fusion.Fused("a + 1.0", ["a"])
        assert numexpr.get_num_threads() == usable
        # An explicit setting is the user's: left alone.
        numexpr.set_num_threads(usable + 1)
        monkeypatch.setenv("NUMEXPR_NUM_THREADS", str(usable + 1))
        monkeypatch.setattr(fusion, "_threads_set", False)
        fusion.Fused("a + 2.0", ["a"])
        assert numexpr.get_num_threads() == usable + 1
    finally:
        numexpr.set_num_threads(before)


@pytest.mark.parametrize("fuse", [False, True])
def test_preallocated_buffers_never_reach_the_caller(fuse) -> None:
    def f(x):
        t = np.tanh(x) * 2.0
        e = np.exp(-x * x)
        return t * e + 1.0, np.reshape(e + t, (-1, 2))  # a view of a temporary is returned

    jf = cr.jit(f, fuse=fuse)
    x1, x2 = rng.standard_normal(N), rng.standard_normal(N)
    a1, b1 = jf(x1)
    assert _pools(jf), "large temporaries were not preallocated"
    keep_a, keep_b = a1.copy(), b1.copy()
    a2, b2 = jf(x2)  # would overwrite a1/b1 if they lived in the buffers
    np.testing.assert_array_equal(a1, keep_a)
    np.testing.assert_array_equal(b1, keep_b)
    ea, eb = f(x2)
    np.testing.assert_allclose(a2, ea, rtol=1e-15)
    np.testing.assert_allclose(b2, eb, rtol=1e-15)
    pools = {id(p.__call__()[0]) for p in _pools(jf)}
    for out in (a1, b1, a2, b2):
        base = out if out.base is None else out.base
        assert id(base) not in pools


def test_threads_have_their_own_buffers() -> None:
    jf = cr.jit(cr.value_and_grad(elementwise))
    xs = [rng.standard_normal(N) for _ in range(4)]
    expected = [cr.value_and_grad(elementwise)(x) for x in xs]
    jf(xs[0])  # staged once; the threads run the staged code together
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for _ in range(20):
                v, g = jf(xs[k])
                assert v == expected[k][0]
                np.testing.assert_array_equal(g, expected[k][1])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert jf.stagings == 1


def test_golden_source_with_preallocated_buffers() -> None:
    def f(x):
        return np.sum(np.exp(np.sin(x))) + np.sum(np.cos(x))

    # sin's result is written over by exp (read once), summed, then dead: its buffer is
    # preallocated, and cos, computed after the first sum, reuses the same buffer.
    expected = """\
# f staged by chainrule.jit for x: float64 (40000,)
def f_staged(x):
    _tmp0, = buffers()  # preallocated: float64 (40000,)
    v0 = np.sin(x, out=_tmp0)  # numpy.sin
    v1 = np.exp(v0, out=v0)  # numpy.exp
    v2 = np.add.reduce(v1, axis=None)  # numpy.sum
    v3 = np.cos(x, out=_tmp0)  # numpy.cos
    v4 = np.add.reduce(v3, axis=None)  # numpy.sum
    v5 = v2 + v4  # numpy.add
    return (v5,)
"""
    jf = cr.jit(f)
    assert jf.source(np.zeros(40_000)) == expected
    x = rng.standard_normal(40_000)
    np.testing.assert_allclose(jf(x), f(x), rtol=1e-14)
