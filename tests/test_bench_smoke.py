"""Smoke test of the benchmark workloads (bench/workloads.py) at tiny sizes.

It checks that chainrule's gradient equals the hand-written NumPy backprop for
every workload, and that the hand-written backprop agrees with central finite
differences along a random direction (so neither side is trusted blindly).
No timing here: the benchmark is run by ``bench/run.py``.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import chainrule as cr

_PATH = pathlib.Path(__file__).resolve().parents[1] / "bench" / "workloads.py"
_spec = importlib.util.spec_from_file_location("bench_workloads", _PATH)
workloads = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = workloads  # dataclasses look their module up
_spec.loader.exec_module(workloads)

KEYS = sorted(workloads.WORKLOADS)


def _tol(dtype: np.dtype) -> dict[str, float]:
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}


@pytest.mark.parametrize("key", KEYS)
def test_chainrule_matches_hand_written(key: str) -> None:
    w = workloads.WORKLOADS[key]
    args = w.make_args("tiny")
    value, grads = cr.value_and_grad(lambda *a: w.fn(np, *a), argnums=w.argnums)(*args)
    hand_value, hand_grads = w.hand(*args)
    ours, theirs = workloads.flatten(grads), workloads.flatten(hand_grads)
    assert len(ours) == len(theirs)
    dtype = workloads.flatten(args)[0].dtype
    np.testing.assert_allclose(value, hand_value, **_tol(dtype))
    for g, h in zip(ours, theirs):
        assert g.shape == h.shape
        assert g.dtype == h.dtype == dtype
        np.testing.assert_allclose(g, h, **_tol(dtype))


def _perturb(args: tuple, argnums: tuple[int, ...], direction: list[np.ndarray], eps: float) -> list:
    """``args`` with the differentiated leaves moved by ``eps * direction``."""
    it = iter(direction)

    def move(tree):
        if isinstance(tree, dict):
            return {k: move(tree[k]) for k in sorted(tree)}
        if isinstance(tree, list | tuple):
            return type(tree)(move(t) for t in tree)
        return tree + eps * next(it)

    return [move(a) if i in argnums else a for i, a in enumerate(args)]


@pytest.mark.parametrize("key", KEYS)
def test_hand_written_matches_finite_differences(key: str) -> None:
    w = workloads.WORKLOADS[key]
    args = w.make_args("tiny")
    if workloads.flatten(args)[0].dtype != np.float64:
        pytest.skip("finite differences in float64 only")
    _, grads = w.hand(*args)
    leaves = workloads.flatten(grads)
    rng = np.random.default_rng(5)
    direction = [rng.standard_normal(g.shape) for g in leaves]
    eps = 1e-4
    f = lambda e: w.fn(np, *_perturb(args, w.argnums, direction, e))
    # 4th-order central difference of the directional derivative.
    fd = (-f(2 * eps) + 8 * f(eps) - 8 * f(-eps) + f(-2 * eps)) / (12 * eps)
    analytic = sum(float(np.sum(g * d)) for g, d in zip(leaves, direction))
    np.testing.assert_allclose(analytic, fd, rtol=1e-7, atol=1e-9)
