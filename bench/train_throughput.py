"""Training throughput of the demo's MLP and CNN on the digits: chainrule vs PyTorch and JAX.

The networks are those of ``chainrule.demo.build_model``: the MLP 64-128-64-10
(tanh) and the CNN (conv 16 3x3 pad 1, relu, maxpool 2, conv 32 3x3 pad 1,
relu, maxpool 2, flatten, dense 64, relu, dense 10). Each engine trains them
on ``chainrule.nn.load_digits`` (1438 training digits) with Adam (lr 3e-3 for
the MLP, 2e-3 for the CNN, b1 0.9, b2 0.999, eps 1e-8), batch size 32, in
float64 and float32.

Engines: chainrule (``value_and_grad`` + ``chainrule.optim.adam``); PyTorch
CPU eager (``torch.nn`` layers, ``torch.optim.Adam``, default thread count);
JAX eager (``jax.value_and_grad`` and a hand-written Adam in ``jax.numpy``,
not jitted) and JAX ``jit`` (the whole train step: gradient and Adam update,
one compiled function).

Protocol, identical for every engine:

* one parameter initialization (chainrule's, seed 0, biases + 0.01 as in the
  demo) is copied into every engine, and every engine sees the same batches
  (index permutations drawn once), so all train the same trajectory up to
  rounding; the batches are sliced from NumPy arrays in every engine;
* one warm-up epoch (JAX compiles here, including the last, shorter batch);
* then ``repeats`` times: reset to the initial parameters and a fresh Adam
  state, and time ``epochs`` epochs (wall clock, ``time.perf_counter``; for
  JAX the clock stops after ``block_until_ready`` on the parameters). The
  repeats of the engines are interleaved so that load from elsewhere on the
  shared machine hits them alike. The loss is not read back every step.
* examples/s = ``epochs * n_train / median(time)``; the test accuracy is that
  of the parameters after the last repeat (``epochs`` epochs from the init).

One invocation runs the whole measurement twice, each in a fresh subprocess:
once with the inherited environment ("default": OpenBLAS uses all cores
unless ``OPENBLAS_NUM_THREADS`` is already set) and once with
``OPENBLAS_NUM_THREADS=1`` (NumPy's BLAS single-threaded; this only affects
chainrule, since PyTorch uses its own MKL/OpenMP pool and XLA its own Eigen
pool, which keep their defaults in both runs). Then it profiles one chainrule
CNN training step with cProfile (in the parent, default environment).

Usage::

    python bench/train_throughput.py              # the full benchmark (several minutes on 2 cores)
    python bench/train_throughput.py --quick      # 1 epoch, 1 repeat: a smoke run
    python bench/train_throughput.py --json out.json
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np

LR = {"mlp": 3e-3, "cnn": 2e-3}
B1, B2, EPS = 0.9, 0.999, 1e-8
BATCH = 32
ENGINES = ["chainrule", "torch", "torch-1t", "jax", "jax.jit"]
DTYPES = ["float64", "float32"]


# -- shared setup ----------------------------------------------------------------------
def setup(kind: str, dtype: str, seed: int = 0) -> tuple[Any, list[dict[str, np.ndarray]], Any]:
    """The digits, the demo's model and its initial parameters (as the demo draws them)."""
    from chainrule import nn
    from chainrule.demo import build_model

    data = nn.load_digits(seed=seed, images=kind == "cnn", dtype=np.dtype(dtype))
    model = build_model(kind)
    params = model.init(np.random.default_rng(seed), data.x_train.shape[1:])
    params = [{k: (v + 0.01 if k == "b" else v).astype(dtype) for k, v in p.items()} for p in params]
    return data, params, model


def epoch_orders(n: int, count: int, seed: int = 1) -> list[list[np.ndarray]]:
    """``count`` epochs of batch index arrays, the same for every engine."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        perm = rng.permutation(n)
        out.append([perm[i : i + BATCH] for i in range(0, n, BATCH)])
    return out


# -- engines: each returns (train(orders) -> None, reset() -> None, accuracy() -> float) --
def make_chainrule(kind: str, data: Any, params0: list[dict[str, np.ndarray]], model: Any) -> tuple:
    from chainrule import nn
    from chainrule.derivatives import value_and_grad
    from chainrule.optim import adam, apply_updates

    def loss(params: Any, x: np.ndarray, y: np.ndarray) -> Any:
        return nn.softmax_cross_entropy(model.apply(params, x), y)

    step = value_and_grad(loss)
    opt = adam(LR[kind], B1, B2, EPS)
    st: dict[str, Any] = {}

    def reset() -> None:
        st["p"] = [{k: v.copy() for k, v in p.items()} for p in params0]
        st["s"] = opt.init(st["p"])

    def train(orders: list[list[np.ndarray]]) -> None:
        p, s = st["p"], st["s"]
        x, y = data.x_train, data.y_train
        for epoch in orders:
            for idx in epoch:
                _, g = step(p, x[idx], y[idx])
                u, s = opt.update(g, s, p)
                p = apply_updates(p, u)
        st["p"], st["s"] = p, s

    def accuracy() -> float:
        logits = np.asarray(model.apply(st["p"], data.x_test))
        assert logits.dtype == params0[0]["w"].dtype, logits.dtype
        return float(np.mean(np.argmax(logits, axis=1) == data.y_test))

    return train, reset, accuracy


def make_torch(
    kind: str, data: Any, params0: list[dict[str, np.ndarray]], model: Any, threads: int | None = None
) -> tuple:
    import torch
    from torch import nn as tnn

    dtype = {"float64": torch.float64, "float32": torch.float32}[str(params0[0]["w"].dtype)]
    if kind == "mlp":
        net = tnn.Sequential(
            tnn.Linear(64, 128), tnn.Tanh(), tnn.Linear(128, 64), tnn.Tanh(), tnn.Linear(64, 10)
        )
        linears = [net[0], net[2], net[4]]
        convs: list[Any] = []
        dense_p = [params0[0], params0[2], params0[4]]
        conv_p: list[Any] = []
    else:
        net = tnn.Sequential(
            tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Flatten(), tnn.Linear(32 * 2 * 2, 64), tnn.ReLU(), tnn.Linear(64, 10),
        )  # fmt: skip
        convs, linears = [net[0], net[3]], [net[7], net[9]]
        conv_p, dense_p = [params0[0], params0[3]], [params0[7], params0[9]]
    net = net.to(dtype)
    st: dict[str, Any] = {}

    def reset() -> None:
        with torch.no_grad():
            for layer, p in zip(convs, conv_p):
                layer.weight.copy_(torch.from_numpy(p["w"]))
                layer.bias.copy_(torch.from_numpy(p["b"]))
            for layer, p in zip(linears, dense_p):
                layer.weight.copy_(torch.from_numpy(p["w"].T.copy()))  # chainrule: (in, out)
                layer.bias.copy_(torch.from_numpy(p["b"]))
        st["opt"] = torch.optim.Adam(net.parameters(), lr=LR[kind], betas=(B1, B2), eps=EPS)

    loss_fn = tnn.CrossEntropyLoss()

    def train(orders: list[list[np.ndarray]]) -> None:
        opt = st["opt"]
        x, y = data.x_train, data.y_train
        default = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            for epoch in orders:
                for idx in epoch:
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(net(torch.from_numpy(x[idx])), torch.from_numpy(y[idx]))
                    loss.backward()
                    opt.step()
        finally:
            torch.set_num_threads(default)

    def accuracy() -> float:
        with torch.no_grad():
            logits = net(torch.from_numpy(data.x_test))
        return float((logits.argmax(1) == torch.from_numpy(data.y_test)).double().mean())

    return train, reset, accuracy


def make_jax(kind: str, data: Any, params0: list[dict[str, np.ndarray]], model: Any, jit: bool) -> tuple:
    import jax
    import jax.numpy as jnp

    lr = LR[kind]

    def pool(x: Any) -> Any:  # 2x2 max pooling, stride 2, on even H and W
        n, c, h, w = x.shape
        return jnp.max(x.reshape(n, c, h // 2, 2, w // 2, 2), axis=(3, 5))

    def conv(p: Any, x: Any) -> Any:
        out = jax.lax.conv_general_dilated(
            x, p["w"], (1, 1), [(1, 1), (1, 1)], dimension_numbers=("NCHW", "OIHW", "NCHW")
        )
        return out + p["b"].reshape(1, -1, 1, 1)

    def apply(params: Any, x: Any) -> Any:
        if kind == "mlp":
            h = jnp.tanh(x @ params[0]["w"] + params[0]["b"])
            h = jnp.tanh(h @ params[2]["w"] + params[2]["b"])
            return h @ params[4]["w"] + params[4]["b"]
        h = pool(jax.nn.relu(conv(params[0], x)))
        h = pool(jax.nn.relu(conv(params[3], h)))
        h = h.reshape(h.shape[0], -1)
        h = jax.nn.relu(h @ params[7]["w"] + params[7]["b"])
        return h @ params[9]["w"] + params[9]["b"]

    def loss(params: Any, x: Any, y: Any) -> Any:
        logp = jax.nn.log_softmax(apply(params, x), axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def step(params: Any, mu: Any, nu: Any, t: Any, x: Any, y: Any) -> tuple:
        value, g = jax.value_and_grad(loss)(params, x, y)
        t = t + 1.0
        mu = jax.tree_util.tree_map(lambda m, gi: B1 * m + (1.0 - B1) * gi, mu, g)
        nu = jax.tree_util.tree_map(lambda v, gi: B2 * v + (1.0 - B2) * (gi * gi), nu, g)
        c1, c2 = 1.0 - B1**t, 1.0 - B2**t
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + EPS), params, mu, nu
        )
        return params, mu, nu, t, value

    step_fn = jax.jit(step) if jit else step
    apply_jit = jax.jit(apply)
    dtype = params0[0]["w"].dtype
    st: dict[str, Any] = {}

    def reset() -> None:
        st["p"] = jax.tree_util.tree_map(jnp.asarray, params0)
        st["m"] = jax.tree_util.tree_map(jnp.zeros_like, st["p"])
        st["v"] = jax.tree_util.tree_map(jnp.zeros_like, st["p"])
        st["t"] = jnp.zeros((), dtype=dtype)  # the step count in the parameters' dtype (no promotion)

    def train(orders: list[list[np.ndarray]]) -> None:
        p, m, v, t = st["p"], st["m"], st["v"], st["t"]
        x, y = data.x_train, data.y_train
        for epoch in orders:
            for idx in epoch:
                p, m, v, t, _ = step_fn(p, m, v, t, x[idx], y[idx])
        jax.block_until_ready(p)
        st["p"], st["m"], st["v"], st["t"] = p, m, v, t

    def accuracy() -> float:
        logits = np.asarray(apply_jit(st["p"], data.x_test))
        assert logits.dtype == dtype, logits.dtype
        return float(np.mean(np.argmax(logits, axis=1) == data.y_test))

    return train, reset, accuracy


def available() -> list[str]:
    out = ["chainrule"]
    try:
        import torch  # noqa: F401

        out += ["torch", "torch-1t"]
    except ImportError:
        pass
    try:
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 runs need it; float32 arrays stay float32
        out += ["jax", "jax.jit"]
    except ImportError:
        pass
    return out


def make(engine: str, kind: str, data: Any, params0: Any, model: Any) -> tuple:
    if engine == "chainrule":
        return make_chainrule(kind, data, params0, model)
    if engine in ("torch", "torch-1t"):
        return make_torch(kind, data, params0, model, threads=1 if engine == "torch-1t" else None)
    return make_jax(kind, data, params0, model, jit=engine == "jax.jit")


# -- measurement (in a child process) --------------------------------------------------
def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu": "unknown",
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["numpy_blas"] = [
            f"{p['internal_api']} {p['version']} ({p.get('architecture')}), {p['num_threads']} threads"
            for p in threadpool_info()
            if p["user_api"] == "blas"
        ]
    except ImportError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        torch.set_num_threads(torch.get_num_threads())  # the default, made explicit and reported
        info["torch_threads"] = torch.get_num_threads()
        info["torch_interop_threads"] = torch.get_num_interop_threads()
    except ImportError:
        pass
    try:
        import jax
        import jaxlib

        info["jax"] = f"{jax.__version__} (jaxlib {jaxlib.__version__}, {jax.default_backend()})"
    except ImportError:
        pass
    import chainrule

    info["chainrule"] = getattr(chainrule, "__version__", "dev")
    return info


def measure(
    epochs: int, repeats: int, warmup: int, models: list[str], engines: list[str], profile_steps: int
) -> dict[str, Any]:
    load_start = os.getloadavg()
    results = []
    for kind in models:
        for dtype in DTYPES:
            data, params0, model = setup(kind, dtype)
            n = len(data.y_train)
            warm = epoch_orders(n, warmup, seed=2)
            timed = epoch_orders(n, epochs, seed=1)
            runners = {}
            for engine in engines:
                train, reset, acc = make(engine, kind, data, params0, model)
                reset()
                train(warm)  # compiles (JAX), fills caches, allocator pools
                runners[engine] = (train, reset, acc)
            times: dict[str, list[float]] = {e: [] for e in engines}
            for _ in range(repeats):
                for engine in engines:  # interleaved: the machine's load hits every engine alike
                    train, reset, _ = runners[engine]
                    reset()
                    start = time.perf_counter()
                    train(timed)
                    times[engine].append(time.perf_counter() - start)
            for engine in engines:
                t = statistics.median(times[engine])
                results.append({
                    "model": kind, "dtype": dtype, "engine": engine, "n_train": n,
                    "epochs": epochs, "times": times[engine],
                    "examples_per_s": epochs * n / t, "ms_per_step": t / (epochs * len(timed[0])) * 1e3,
                    "test_accuracy": runners[engine][2](),
                })  # fmt: skip
                r = results[-1]
                print(
                    f"  {kind} {dtype:7s} {engine:9s} {r['examples_per_s']:9.0f} ex/s  "
                    f"acc {r['test_accuracy']:.1%}",
                    file=sys.stderr,
                    flush=True,
                )
    prof = profile_cnn_step(profile_steps) if "cnn" in models and profile_steps > 0 else ""
    return {
        "info": machine_info(), "load_start": load_start, "load_end": os.getloadavg(),
        "results": results, "profile": prof,
    }  # fmt: skip


# -- profile of the chainrule CNN step --------------------------------------------------
def numpy_cnn_step(params: list[dict[str, np.ndarray]], lr: float) -> Callable[..., Any]:
    """The same CNN step written by hand in NumPy with chainrule's own conv/pool kernels: the floor.

    Forward, backward and Adam with no tracing at all, calling the very
    implementations (``_conv_impl``, ``_kernel_grad_impl``, ``_input_grad_impl``,
    pooling gather/scatter) that chainrule's primitives run; the difference to
    chainrule's step is the cost of automatic differentiation.
    """
    from chainrule.nn import conv as C
    from chainrule.nn import pooling as P

    one, pad, k2 = (1, 1), (1, 1), (2, 2)
    state = {"t": 0, "m": [{k: np.zeros_like(v) for k, v in p.items()} for p in params]}
    state["v"] = [{k: np.zeros_like(v) for k, v in p.items()} for p in params]

    def pool(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, c, h, w = a.shape
        win = P._windows(a, k2, k2).reshape(n, c, h // 2, w // 2, 4)
        idx = np.argmax(win, axis=-1)
        return P._gather_impl(a, idx, k2, k2), idx

    def step(prm: list[dict[str, np.ndarray]], x: np.ndarray, y: np.ndarray) -> list[dict[str, np.ndarray]]:
        c1, c2, d1, d2 = prm[0], prm[3], prm[7], prm[9]
        z1 = C._conv_impl(x, c1["w"], one, pad, one) + c1["b"].reshape(1, -1, 1, 1)
        a1 = np.maximum(z1, 0.0)
        p1, i1 = pool(a1)
        z2 = C._conv_impl(p1, c2["w"], one, pad, one) + c2["b"].reshape(1, -1, 1, 1)
        a2 = np.maximum(z2, 0.0)
        p2, i2 = pool(a2)
        f = p2.reshape(len(x), -1)
        z3 = f @ d1["w"] + d1["b"]
        a3 = np.maximum(z3, 0.0)
        z4 = a3 @ d2["w"] + d2["b"]
        e = np.exp(z4 - z4.max(axis=1, keepdims=True))
        dz4 = e / e.sum(axis=1, keepdims=True)
        dz4[np.arange(len(y)), y] -= 1.0
        dz4 /= len(y)
        g9 = {"w": a3.T @ dz4, "b": dz4.sum(0)}
        dz3 = (dz4 @ d2["w"].T) * (z3 > 0)
        g7 = {"w": f.T @ dz3, "b": dz3.sum(0)}
        dp2 = (dz3 @ d1["w"].T).reshape(p2.shape)
        dz2 = P._scatter_impl(dp2, i2, k2, k2, a2.shape[2:]) * (z2 > 0)
        g3 = {"w": C._kernel_grad_impl(p1, dz2, (3, 3), one, pad, one), "b": dz2.sum((0, 2, 3))}
        dp1 = C._input_grad_impl(dz2, c2["w"], p1.shape[2:], one, pad, one)
        dz1 = P._scatter_impl(dp1, i1, k2, k2, a1.shape[2:]) * (z1 > 0)
        g0 = {"w": C._kernel_grad_impl(x, dz1, (3, 3), one, pad, one), "b": dz1.sum((0, 2, 3))}
        grads = [g0, {}, {}, g3, {}, {}, {}, g7, {}, g9]
        state["t"] += 1
        t = state["t"]
        bc1, bc2 = 1.0 - B1**t, 1.0 - B2**t
        out = []
        for p, g, m, v in zip(prm, grads, state["m"], state["v"]):
            new = {}
            for key in p:
                m[key] = B1 * m[key] + (1.0 - B1) * g[key]
                v[key] = B2 * v[key] + (1.0 - B2) * (g[key] * g[key])
                new[key] = p[key] - lr * (m[key] / bc1) / (np.sqrt(v[key] / bc2) + EPS)
            out.append(new)
        return out

    return step


def _median_ms(fn: Callable[[], Any], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def profile_cnn_step(steps: int = 20, top: int = 15) -> str:
    """Markdown: unprofiled step times (chainrule, its parts, the NumPy floor) and a cProfile summary."""
    from chainrule import nn
    from chainrule.derivatives import value_and_grad
    from chainrule.optim import adam, apply_updates

    data, params, model = setup("cnn", "float64")
    step = value_and_grad(lambda p, x, y: nn.softmax_cross_entropy(model.apply(p, x), y))
    opt = adam(LR["cnn"])
    state = opt.init(params)
    xb, yb = data.x_train[:BATCH], data.y_train[:BATCH]
    hand = numpy_cnn_step(params, LR["cnn"])
    hp = [dict(p) for p in params]

    def one() -> None:
        nonlocal params, state
        _, g = step(params, xb, yb)
        u, state = opt.update(g, state, params)
        params = apply_updates(params, u)

    def one_hand() -> None:
        nonlocal hp
        hp = hand(hp, xb, yb)

    # The floor is right: its parameters after 5 steps match chainrule's.
    p_save, s_save = params, state
    for _ in range(5):
        one()
        one_hand()
    diff = max(float(np.max(np.abs(hp[i][k] - params[i][k]))) for i in range(len(hp)) for k in hp[i])
    params, state = p_save, s_save
    for _ in range(20):
        one()
        one_hand()
    t_step = _median_ms(one, 100)
    t_grad = _median_ms(lambda: step(params, xb, yb), 100)
    t_fwd = _median_ms(lambda: nn.softmax_cross_entropy(model.apply(params, xb), yb), 100)
    t_hand = _median_ms(one_hand, 100)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        one()
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt / steps
    groups: dict[str, float] = {}
    for (file, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "chainrule" in file:
            key = "chainrule/" + file.split("chainrule/")[-1]
        elif file == "~":
            key = "C: " + name.split(" of ")[0].strip("<>{}")[:50]
        else:
            key = "numpy/" + os.path.basename(file)
        groups[key] = groups.get(key, 0.0) + tt / steps
    calls = sum(v[1] for v in stats.stats.values()) / steps  # type: ignore[attr-defined]
    buf = io.StringIO()
    buf.write(
        f"CNN, float64, batch {BATCH}, medians of 100 unprofiled calls: chainrule training step "
        f"(value_and_grad + Adam) **{t_step:.2f} ms**; value_and_grad alone {t_grad:.2f} ms; forward "
        f"loss alone {t_fwd:.2f} ms; the same step hand-written in NumPy with chainrule's conv/pool "
        f"kernels (no tracing; parameters after 5 steps agree with chainrule's to {diff:.1e}) "
        f"**{t_hand:.2f} ms** (ratio {t_step / t_hand:.2f}).\n\n"
        f"cProfile, {steps} steps: {total * 1e3:.2f} ms per step under the profiler, {calls:.0f} Python "
        f"function calls per step. Own time (tottime) grouped by file, per step:\n\n"
        "| where | ms/step | share |\n|---|---:|---:|\n"
    )
    for key, tt in sorted(groups.items(), key=lambda kv: -kv[1])[:top]:
        buf.write(f"| {key} | {tt * 1e3:.3f} | {tt / total:.1%} |\n")
    for order in ("tottime", "cumulative"):
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats(order).print_stats(top)
        lines = [
            ln.replace(os.path.dirname(np.__file__), "numpy").replace(SRC, "")
            for ln in s.getvalue().splitlines()
        ]
        lines = [ln for ln in lines if "ncalls" in ln or ln.strip()[:1].isdigit()][1:]
        buf.write(
            f"\nTop {top} functions by {order} ({steps} steps):\n\n```\n" + "\n".join(lines) + "\n```\n"
        )
    return buf.getvalue()


SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + "/src/"


# -- report ---------------------------------------------------------------------------
def table(run: dict[str, Any]) -> str:
    rows = run["results"]
    engines = [e for e in ENGINES if any(r["engine"] == e for r in rows)]
    out = [
        "| model | dtype | engine | examples/s | ms/step | test acc | chainrule / this |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for kind in ("mlp", "cnn"):
        for dtype in DTYPES:
            sel = {r["engine"]: r for r in rows if r["model"] == kind and r["dtype"] == dtype}
            if not sel:
                continue
            cr = sel.get("chainrule")
            for e in engines:
                if e not in sel:
                    continue
                r = sel[e]
                ratio = (
                    "1"
                    if e == "chainrule"
                    else (f"{cr['examples_per_s'] / r['examples_per_s']:.2f}" if cr else "-")
                )
                out.append(
                    f"| {kind} | {dtype} | {e} | {r['examples_per_s']:,.0f} | {r['ms_per_step']:.2f} | "
                    f"{r['test_accuracy']:.1%} | {ratio} |"
                )
    return "\n".join(out)


def info_lines(info: dict[str, Any]) -> str:
    keys = ["cpu", "logical_cpus", "usable_cpus", "python", "numpy", "numpy_blas", "torch", "torch_threads",
            "torch_interop_threads", "jax", "chainrule"]  # fmt: skip
    return "\n".join(f"- {k}: {info[k]}" for k in keys if k in info)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="warm-up epochs (not timed)")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--quick", action="store_true", help="1 timed epoch, 1 repeat")
    ap.add_argument(
        "--profile-steps", type=int, default=20, help="chainrule CNN steps under cProfile (0: none)"
    )
    ap.add_argument("--json", help="also write the raw numbers here")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # internal: measure, write JSON to this path
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.repeats = 1, 1
    models = args.models.split(",")
    have = available()
    engines = [e for e in args.engines.split(",") if e in have]

    if args.child:
        with open(args.child, "w") as f:
            json.dump(measure(args.epochs, args.repeats, args.warmup, models, engines, args.profile_steps), f)
        return

    runs: dict[str, Any] = {}
    settings = [
        ("default", {}),
        ("OPENBLAS_NUM_THREADS=1", {"OPENBLAS_NUM_THREADS": "1"}),
    ]
    for label, extra in settings:
        env = {**os.environ, **extra}
        print(f"== {label}: load average {os.getloadavg()}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "out.json")
            cmd = [sys.executable, os.path.abspath(__file__), "--child", path, "--epochs", str(args.epochs),
                   "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--models", ",".join(models),
                   "--engines", ",".join(engines), "--profile-steps", str(args.profile_steps)]  # fmt: skip
            subprocess.run(cmd, env=env, check=True)
            with open(path) as f:
                runs[label] = json.load(f)

    first = next(iter(runs.values()))
    print(f"# Training throughput on the digits (batch {BATCH}, Adam)\n")
    print(
        f"{first['results'][0]['n_train']} training examples; {args.warmup} warm-up epoch(s), then "
        f"{args.repeats} repeats of {args.epochs} epochs from the same initial parameters; "
        "examples/s from the median repeat; test accuracy after the timed epochs. "
        "'chainrule / this' = chainrule's examples/s divided by the row's (below 1: chainrule is slower).\n"
    )
    print("Machine:\n")
    print(info_lines(first["info"]) + "\n")
    for label, run in runs.items():
        print(
            f"## {label} (OPENBLAS_NUM_THREADS={run['info']['OPENBLAS_NUM_THREADS']}; NumPy BLAS: "
            f"{'; '.join(run['info'].get('numpy_blas', []))}; "
            f"torch threads {run['info'].get('torch_threads')}; "
            f"load average (1, 5, 15 min) at start {tuple(round(x, 2) for x in run['load_start'])}, "
            f"at end {tuple(round(x, 2) for x in run['load_end'])})\n"
        )
        print(table(run) + "\n")
    for label, run in runs.items():
        if run.get("profile"):
            print(f"## Where chainrule's CNN step goes ({label})\n")
            print(run["profile"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
