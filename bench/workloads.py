"""The benchmark workloads, written once for every engine, and their hand-written backprops.

Each workload is a function ``fn(xp, *args)`` of a NumPy-like module ``xp``:
``numpy`` (plain evaluation, and chainrule, which traces plain NumPy code),
``autograd.numpy`` (HIPS autograd), ``torch`` and ``jax.numpy``. The few
places where PyTorch spells a reduction differently go through
:func:`rowmax` and :func:`rowsum`.

Each workload also has a **hand-written NumPy backprop**: the forward pass,
keeping what the backward pass needs, then the chain rule applied by hand.
It is the floor for any NumPy-based engine: same BLAS, same ufuncs, no
tracing. It is written the way a careful person writes backprop by hand
(intermediates reused, no ``out=`` buffer juggling), and it treats the
cotangent of a final ``sum`` as a dense array of ones, exactly as an engine
does (it does not exploit the all-ones seed to skip a matrix product).

Workloads (issue 2, "Benchmark"):

a. a chain of 200 elementwise ops on a shape-(3,) array (per-op overhead);
b. a 784-256-256-10 tanh MLP, batch 128, softmax cross-entropy (mean over
   the batch, logsumexp stabilized by subtracting the row maximum), in
   float32 (``b32``) and float64 (``b64``), gradient w.r.t. all weights and biases;
c. ``sum(tanh(x) * exp(-x**2) + log1p(x**2))`` on 1e6 elements;
d. ``sum(tanh(A @ B) @ C)`` with 1024 x 1024 matrices, gradient w.r.t. A, B, C;
e. 1000 layers ``x = tanh(x @ W_i)``, x (64, 256), W_i (256, 256), float64,
   gradient of ``sum(x)`` w.r.t. x and every W_i (peak memory).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["WORKLOADS", "Workload", "flatten", "rowmax", "rowsum"]

# -- helpers -------------------------------------------------------------------


def _is_torch(xp: Any) -> bool:
    return getattr(xp, "__name__", "") == "torch"


def rowmax(xp: Any, z: Any) -> Any:
    """``max(z, axis=1, keepdims=True)`` in the spelling of ``xp``."""
    if _is_torch(xp):
        return xp.amax(z, dim=1, keepdim=True)
    return xp.max(z, axis=1, keepdims=True)


def rowsum(xp: Any, z: Any) -> Any:
    """``sum(z, axis=1, keepdims=True)`` in the spelling of ``xp``."""
    if _is_torch(xp):
        return xp.sum(z, dim=1, keepdim=True)
    return xp.sum(z, axis=1, keepdims=True)


def flatten(tree: Any) -> list[Any]:
    """The leaves of nested tuples/lists/dicts (dicts in sorted key order)."""
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in flatten(tree[k])]
    if isinstance(tree, list | tuple):
        return [leaf for item in tree for leaf in flatten(item)]
    return [tree]


# -- (a) a chain of 200 elementwise ops ------------------------------------------

CHAIN_CYCLES = 25
CHAIN_OPS_PER_CYCLE = 8
CHAIN_OPS = CHAIN_CYCLES * CHAIN_OPS_PER_CYCLE  # 200, plus the final sum


def chain(xp: Any, x: Any) -> Any:
    """25 cycles of 8 elementwise ops (sin, cos, *0.5, tanh, *1.01, negate, exp, +0.1), then sum."""
    for _ in range(CHAIN_CYCLES):
        x = xp.sin(x)
        x = xp.cos(x)
        x = x * 0.5
        x = xp.tanh(x)
        x = x * 1.01
        x = -x
        x = xp.exp(x)
        x = x + 0.1
    return xp.sum(x)


def chain_hand(x: np.ndarray) -> tuple[Any, tuple[np.ndarray]]:
    saved = []
    for _ in range(CHAIN_CYCLES):
        x0 = x
        s = np.sin(x0)
        c = np.cos(s)
        t = np.tanh(c * 0.5)
        e = np.exp(-(t * 1.01))
        x = e + 0.1
        saved.append((x0, s, t, e))
    value = np.sum(x)
    g = np.ones_like(x)
    for x0, s, t, e in reversed(saved):
        g = g * e  # exp (the +0.1 passes g through)
        g = g * -1.01  # negate, *1.01
        g = g * (1.0 - t * t)  # tanh
        g = g * 0.5
        g = g * -np.sin(s)  # cos
        g = g * np.cos(x0)  # sin
    return value, (g,)


def chain_args(size: str, dtype: Any = np.float64) -> tuple[Any, ...]:
    rng = np.random.default_rng(0)
    return (rng.uniform(-1.0, 1.0, 3).astype(dtype),)


# -- (b) the MLP -------------------------------------------------------------------


def mlp(xp: Any, params: dict[str, Any], x: Any, y: Any) -> Any:
    """tanh MLP, softmax cross-entropy against one-hot ``y``, mean over the batch."""
    h = xp.tanh(x @ params["W1"] + params["b1"])
    h = xp.tanh(h @ params["W2"] + params["b2"])
    z = h @ params["W3"] + params["b3"]
    m = rowmax(xp, z)
    lse = m + xp.log(rowsum(xp, xp.exp(z - m)))
    return (xp.sum(lse) - xp.sum(y * z)) / z.shape[0]


def mlp_hand(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[Any, tuple[dict]]:
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    h1 = np.tanh(x @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    s = np.sum(e, axis=1, keepdims=True)
    n = z.shape[0]
    value = (np.sum(m + np.log(s)) - np.sum(y * z)) / n
    dz = (e / s - y) * (1.0 / n)
    dW3 = h2.T @ dz
    db3 = np.sum(dz, axis=0)
    d2 = (dz @ W3.T) * (1.0 - h2 * h2)
    dW2 = h1.T @ d2
    db2 = np.sum(d2, axis=0)
    d1 = (d2 @ W2.T) * (1.0 - h1 * h1)
    dW1 = x.T @ d1
    db1 = np.sum(d1, axis=0)
    return value, ({"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3},)


def mlp_args(size: str, dtype: Any = np.float64) -> tuple[Any, ...]:
    rng = np.random.default_rng(1)
    sizes = (6, 5, 4, 3) if size == "tiny" else (784, 256, 256, 10)
    batch = 4 if size == "tiny" else 128
    params = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        params[f"W{i}"] = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)
        params[f"b{i}"] = (0.1 * rng.standard_normal(fan_out)).astype(dtype)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], batch)]
    return params, x, y


# -- (c) a large elementwise expression ------------------------------------------------


def elementwise(xp: Any, x: Any) -> Any:
    """``sum(tanh(x) * exp(-x**2) + log1p(x**2))`` (``x**2`` computed once)."""
    x2 = x**2
    return xp.sum(xp.tanh(x) * xp.exp(-x2) + xp.log1p(x2))


def elementwise_hand(x: np.ndarray) -> tuple[Any, tuple[np.ndarray]]:
    t = np.tanh(x)
    x2 = x**2
    e = np.exp(-x2)
    te = t * e
    value = np.sum(te + np.log1p(x2))
    g = (1.0 - t * t) * e + (2.0 * x) * (1.0 / (1.0 + x2) - te)
    return value, (g,)


def elementwise_args(size: str, dtype: Any = np.float64) -> tuple[Any, ...]:
    rng = np.random.default_rng(2)
    n = 7 if size == "tiny" else 1_000_000
    return (rng.standard_normal(n).astype(dtype),)


# -- (d) a matmul chain ------------------------------------------------------------------


def matmul_chain(xp: Any, a: Any, b: Any, c: Any) -> Any:
    """``sum(tanh(A @ B) @ C)``."""
    return xp.sum(xp.tanh(a @ b) @ c)


def matmul_chain_hand(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[Any, tuple[np.ndarray, ...]]:
    t = np.tanh(a @ b)
    q = t @ c
    value = np.sum(q)
    gq = np.ones_like(q)
    gc = t.T @ gq
    gp = (gq @ c.T) * (1.0 - t * t)
    ga = gp @ b.T
    gb = a.T @ gp
    return value, (ga, gb, gc)


def matmul_chain_args(size: str, dtype: Any = np.float64) -> tuple[Any, ...]:
    rng = np.random.default_rng(3)
    n = 5 if size == "tiny" else 1024
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, n)) / np.sqrt(n)
    c = rng.standard_normal((n, n)) / np.sqrt(n)
    return a.astype(dtype), b.astype(dtype), c.astype(dtype)


# -- (e) a deep tanh network (peak memory) ----------------------------------------------------


def deep(xp: Any, x: Any, ws: list[Any]) -> Any:
    """``x = tanh(x @ W_i)`` for every layer, then ``sum(x)``."""
    for w in ws:
        x = xp.tanh(x @ w)
    return xp.sum(x)


def deep_hand(x: np.ndarray, ws: list[np.ndarray]) -> tuple[Any, tuple[np.ndarray, list[np.ndarray]]]:
    hs = [x]
    for w in ws:
        x = np.tanh(x @ w)
        hs.append(x)
    value = np.sum(x)
    g = np.ones_like(x)
    gws: list[Any] = [None] * len(ws)
    for i in range(len(ws) - 1, -1, -1):
        h = hs.pop()  # layer i's output; dropped once used
        gz = g * (1.0 - h * h)
        gws[i] = hs[-1].T @ gz
        g = gz @ ws[i].T
    return value, (g, gws)


DEEP_LAYERS = 1000


def deep_args(size: str, dtype: Any = np.float64, layers: int | None = None) -> tuple[Any, ...]:
    rng = np.random.default_rng(4)
    if size == "tiny":
        batch, width, layers = 3, 5, 4
    else:
        batch, width = 64, 256
        layers = DEEP_LAYERS if layers is None else layers
    x = rng.standard_normal((batch, width)).astype(dtype)
    # One matrix at a time (no large temporaries): the memory child measures from here.
    ws = [(rng.standard_normal((width, width)) * (1.0 / np.sqrt(width))).astype(dtype) for _ in range(layers)]
    return x, ws


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmark workload.

    ``fn(xp, *args)`` is the scalar function; ``argnums`` the differentiated
    arguments; ``make_args(size)`` builds NumPy inputs (``size`` is ``"full"``
    or ``"tiny"``); ``hand(*args)`` returns ``(value, grads)`` with ``grads`` a
    tuple (one entry per argnum) shaped like the arguments.
    """

    key: str
    title: str
    fn: Callable[..., Any]
    argnums: tuple[int, ...]
    make_args: Callable[[str], tuple[Any, ...]]
    hand: Callable[..., tuple[Any, tuple[Any, ...]]]
    n_ops: int | None = None
    memory: bool = False


WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in (
        Workload(
            "a", "(a) 200 elementwise ops on shape (3,)", chain, (0,), chain_args, chain_hand, CHAIN_OPS
        ),
        Workload(
            "b32",
            "(b) MLP 784-256-256-10, batch 128, float32",
            mlp,
            (0,),
            lambda size: mlp_args(size, np.float32),
            mlp_hand,
        ),
        Workload(
            "b64",
            "(b) MLP 784-256-256-10, batch 128, float64",
            mlp,
            (0,),
            lambda size: mlp_args(size, np.float64),
            mlp_hand,
        ),
        Workload(
            "c",
            "(c) sum(tanh(x)exp(-x^2)+log1p(x^2)), 1e6",
            elementwise,
            (0,),
            elementwise_args,
            elementwise_hand,
        ),
        Workload(
            "d",
            "(d) sum(tanh(A@B)@C), 1024x1024",
            matmul_chain,
            (0, 1, 2),
            matmul_chain_args,
            matmul_chain_hand,
        ),
        Workload("e", "(e) 1000 x tanh(x@W), peak memory", deep, (0, 1), deep_args, deep_hand, memory=True),
    )
}
