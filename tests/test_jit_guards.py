"""chainrule.jit: guard variants in one cache entry, errors that cannot be guarded, threads."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import StagingError
from chainrule.jit.api import MAX_VARIANTS


def branchy(x):
    if np.sum(x) > 0:
        return np.sum(np.sin(x))
    return np.sum(np.cos(x) * 2.0)


def test_alternating_branches_keep_one_variant_each_without_restaging() -> None:
    jf = cr.jit(cr.value_and_grad(branchy))
    up, down = np.array([1.0, 2.0]), np.array([-1.0, -2.0])
    for k in range(10):
        x = (up if k % 2 == 0 else down) * (1 + k)
        v, g = jf(x)
        ev, eg = cr.value_and_grad(branchy)(x)
        assert v == ev
        np.testing.assert_array_equal(g, eg)
    assert jf.stagings == 2  # one per guard outcome, then no thrashing
    assert len(jf._cache) == 1  # both in the entry of the one structure
    (variants,) = jf._cache.values()
    assert len(variants) == 2
    assert jf.eager_calls == 0


def test_more_outcomes_than_variants_run_the_function_as_is() -> None:
    def steps(x):
        while np.max(np.abs(x)) > 1.0:  # the iteration count depends on the data
            x = x / 2.0
        return x

    jf = cr.jit(steps)
    for k in range(MAX_VARIANTS + 3):
        x = np.array([2.0**k + 0.5])
        np.testing.assert_array_equal(jf(x), steps(x))
    assert jf.stagings == MAX_VARIANTS
    assert jf.eager_calls == 3


def test_an_error_caught_inside_the_function_cannot_be_staged() -> None:
    def safe_inverse_sum(a):
        try:
            return np.sum(np.linalg.inv(a))
        except np.linalg.LinAlgError:
            return np.sum(a) * 0.0

    jf = cr.jit(safe_inverse_sum)
    with pytest.raises(StagingError, match=r"numpy.linalg.inv raised LinAlgError.*caught"):
        jf(np.zeros((2, 2)))


def test_an_error_raised_by_staged_code_reruns_the_function() -> None:
    def safe_inverse_sum(a):
        try:
            return np.sum(np.linalg.inv(a))
        except np.linalg.LinAlgError:
            return np.sum(a) * 0.0

    jf = cr.jit(safe_inverse_sum)
    good = np.array([[2.0, 0.0], [0.0, 4.0]])
    assert jf(good) == 0.75
    # The staged code has no except branch; the function as is takes it.
    assert jf(np.zeros((2, 2))) == 0.0
    assert jf.eager_calls == 1 and jf.stagings == 1
    unguarded = cr.jit(lambda a: np.linalg.inv(a))
    unguarded(good)
    with pytest.raises(np.linalg.LinAlgError):  # not caught by the function: the same error
        unguarded(np.zeros((2, 2)))


def test_two_threads_staging_new_structures_share_a_consistent_cache() -> None:
    jf = cr.jit(cr.value_and_grad(branchy))
    sizes = list(range(1, 25))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(sign: float, order: list[int]) -> None:
        try:
            barrier.wait()
            for n in order:
                x = sign * np.linspace(0.5, 1.5, n)
                v, g = jf(x)
                ev, eg = cr.value_and_grad(branchy)(x)
                assert v == ev
                np.testing.assert_array_equal(g, eg)
        except BaseException as e:  # reported below
            errors.append(e)

    # Four threads meet every structure at the same time, two with positive data, two with
    # negative; switching threads often makes them interleave inside the staging.
    threads = [threading.Thread(target=work, args=(sign, sizes)) for sign in (1.0, -1.0, 1.0, -1.0)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[0]
    assert len(jf._cache) == len(sizes)
    # Each structure has exactly its two guard outcomes: nothing staged twice, nothing lost.
    assert all(len(v) == 2 for v in jf._cache.values())
    assert jf.stagings == 2 * len(sizes)
