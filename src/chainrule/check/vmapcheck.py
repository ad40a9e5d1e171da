"""``vmap`` checked against a Python loop over the examples: the batching half of ``check_rule``.

A batching rule is right when ``vmap(f)`` of stacked examples equals the
stack of ``f`` applied to each example, and likewise for the derivatives
through it (``vmap(grad(f))``, the batching rules of the derivative rules;
``grad(vmap(f))``, the derivative rules of the batched calls).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..derivatives import grad, vmap
from ..pytree import tree_flatten

__all__ = ["check_vmap"]


def _stack(outputs: list[Any]) -> list[np.ndarray]:
    flat = [tree_flatten(o)[0] for o in outputs]
    return [np.stack([np.asarray(f[k]) for f in flat]) for k in range(len(flat[0]))]


def _close(got: Any, want: Sequence[np.ndarray], what: str, rtol: float, atol: float) -> None:
    leaves = tree_flatten(got)[0]
    if len(leaves) != len(want):
        raise AssertionError(f"{what}: {len(leaves)} outputs, the loop gave {len(want)}")
    for g, w in zip(leaves, want):
        g = np.asarray(g)
        if g.shape != w.shape:
            raise AssertionError(f"{what}: shape {g.shape}, the loop gave {w.shape}")
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def check_vmap(
    f: Callable[..., Any],
    examples: Sequence[Sequence[np.ndarray]],
    *,
    derivatives: bool = True,
    vmap_of_grad: bool = True,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> None:
    """Check ``vmap(f)`` against a loop over ``examples`` (each a tuple of ``f``'s arguments).

    Checks every argument batched (axis 0), the first batched along its last
    axis with the others fixed to the first example's (``in_axes=(-1, None,
    ...)``), and with ``derivatives``, ``grad(vmap(f))`` and (unless
    ``vmap_of_grad`` is false) ``vmap(grad(f))`` of a random projection of the
    output.

    >>> import numpy as np
    >>> check_vmap(np.hypot, [(np.array([3.0]), np.array([4.0])), (np.array([1.0]), np.array([0.0]))])
    """
    examples = [tuple(np.asarray(a, dtype=np.result_type(a, np.float64)) for a in ex) for ex in examples]
    nargs = len(examples[0])
    stacked = [np.stack([ex[i] for ex in examples]) for i in range(nargs)]
    with np.errstate(all="ignore"):
        want = _stack([f(*ex) for ex in examples])
        _close(vmap(f)(*stacked), want, "vmap(f), every argument batched", rtol, atol)
        if np.ndim(examples[0][0]) > 0:
            first = examples[0]
            axes = (-1,) + (None,) * (nargs - 1)
            moved = np.moveaxis(stacked[0], 0, -1)
            want_first = _stack([f(ex[0], *first[1:]) for ex in examples])
            _close(
                vmap(f, in_axes=axes)(moved, *first[1:]),
                want_first,
                "vmap(f, in_axes=(-1, None, ...))",
                rtol,
                atol,
            )
        if not derivatives:
            return
        rng = np.random.default_rng(len(examples))
        # Complex outputs get complex weights, and the projection is Re(sum(w * f)): a real
        # scalar, as grad needs (chainrule's and JAX's pairing of cotangents and values).
        weights = [
            rng.standard_normal(w.shape[1:])
            + (1j * rng.standard_normal(w.shape[1:]) if np.iscomplexobj(w) else 0)
            for w in want
        ]

        def projected(*xs: Any) -> Any:
            return np.real(sum(np.sum(leaf * w) for leaf, w in zip(tree_flatten(f(*xs))[0], weights)))

        g = grad(projected, argnums=tuple(range(nargs)))
        want_grads = _stack([g(*ex) for ex in examples])
        if vmap_of_grad:
            _close(vmap(g)(*stacked), want_grads, "vmap(grad(f))", rtol, atol)

        def batched_total(*xs: Any) -> Any:
            return np.sum(vmap(projected)(*xs))

        _close(
            grad(batched_total, argnums=tuple(range(nargs)))(*stacked),
            want_grads,
            "grad(vmap(f))",
            rtol,
            atol,
        )
