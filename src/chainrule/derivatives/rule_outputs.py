"""What user-defined rules return, checked against the primal: tree, shape and dtype, naming the rule.

``custom_vjp``'s ``bwd``, ``custom_jvp``'s rule and a ``checkpoint`` block are
the user's code running inside the engine. A wrong shape would be broadcast,
a wrong dtype silently cast, a complex value silently made real: each check
here turns one of those into an error that names the rule and says what was
expected.

Also here: :class:`Packing` (a pytree of outputs as one flat vector, as the
engine records a rule's call) and :class:`JointRule` (every argument's
cotangent from one call of a rule that computes them all at once).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Tracer, primal
from ..engine.value_checks import foreign_array_fix
from ..errors import ComplexValueError, InvalidRuleOutputError
from ..pytree import tree_flatten, tree_unflatten

__all__ = ["JointRule", "Packing", "checked_leaf", "output_leaves"]


def _dtype(x: Any) -> np.dtype[Any]:
    return np.dtype(x.dtype) if type(x) is Tracer else np.result_type(primal(x))


def checked_leaf(value: Any, reference: Any, rule: str, what: str) -> Any:
    """``value`` (a leaf a rule returned for ``what``) checked against ``reference``: shape and dtype.

    A Python number takes the reference's dtype; an array of another dtype is
    refused, as is anything complex or non-numeric.
    """
    if type(value) is not Tracer and foreign_array_fix(value) is not None:
        raise InvalidRuleOutputError(
            f"{rule} returned a {type(value).__name__} for {what}; return a plain NumPy array "
            f"({foreign_array_fix(value)})."
        )
    if type(value) is not Tracer and not isinstance(value, np.ndarray | np.generic | int | float | complex):
        raise InvalidRuleOutputError(
            f"{rule} returned a {type(value).__name__} for {what} ({value!r:.60}); it must return "
            f"an array shaped like {what}: shape {np.shape(reference)}, dtype {_dtype(reference)}."
        )
    dtype = _dtype(value)
    want = _dtype(reference)
    if dtype.kind == "c":
        raise ComplexValueError(
            f"{rule} returned a complex value for {what}; chainrule does not differentiate complex "
            "values yet, and casting it to real would drop its imaginary part."
        )
    if np.shape(value) != np.shape(reference):
        noun = "output" if what.startswith("the output") or what.startswith("output") else "argument"
        raise InvalidRuleOutputError(
            f"{rule}: the value returned for {what} has shape {np.shape(value)}, but the {noun} "
            f"has shape {np.shape(reference)}. Return exactly that shape (rule outputs are not "
            "broadcast: that would hide a wrong rule)."
        )
    if dtype != want:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return np.asarray(value, dtype=want)[()]  # a Python number has no dtype of its own
        raise InvalidRuleOutputError(
            f"{rule} returned dtype {dtype} for {what}, which has dtype {want}. Return the "
            f"primal's dtype (for example value.astype(x.dtype))."
        )
    return value


def output_leaves(out: Any, rule: str) -> tuple[list[Any], Any]:
    """The leaves of a rule's or block's primal output, refused unless they are numeric arrays."""
    leaves, treedef = tree_flatten(out)
    if not leaves:
        raise InvalidRuleOutputError(
            f"{rule} returned {out!r:.60}, which holds no array; it must return an array or a "
            "pytree (tuple, list, dict) of arrays."
        )
    for v in leaves:
        if type(v) is Tracer:
            continue
        kind = (
            np.result_type(v).kind if isinstance(v, np.ndarray | np.generic | int | float | complex) else "O"
        )
        if kind == "c":
            raise ComplexValueError(
                f"{rule} returned a complex value; chainrule does not differentiate complex values yet."
            )
        if kind not in "fiub":
            raise InvalidRuleOutputError(
                f"{rule} returned a {type(v).__name__} ({v!r:.60}); it must return an array or a "
                "pytree of arrays."
            )
    return leaves, treedef


class Packing:
    """How a pytree of output arrays is packed into one flat vector and back."""

    def __init__(self, out: Any, rule: str):
        leaves, self.treedef = output_leaves(out, rule)
        self.leaves_like = [np.zeros((), dtype=_dtype(v)) for v in leaves]  # dtype references
        self.shapes = [np.shape(v) for v in leaves]
        self.single = len(leaves) == 1
        self.sizes = [int(np.prod(s)) for s in self.shapes]

    def pack(self, out: Any) -> Any:
        leaves = tree_flatten(out)[0]
        if self.single:
            return leaves[0]
        return np.concatenate([np.reshape(v, (-1,)) for v in leaves])

    def unpack(self, flat: Any) -> Any:
        if self.single:
            return tree_unflatten(self.treedef, [flat])
        leaves, start = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            leaves.append(np.reshape(flat[start : start + size], shape))
            start += size
        return tree_unflatten(self.treedef, leaves)

    def check_tangent(self, t_out: Any, rule: str) -> Any:
        """A tangent output of ``rule`` checked against the primal output's tree, shapes and dtypes."""
        if t_out is None:
            raise InvalidRuleOutputError(
                f"{rule} returned None as the tangent output; return a tangent shaped like the "
                "output (np.zeros_like(out) for a zero tangent)."
            )
        leaves, treedef = tree_flatten(t_out)
        if treedef != self.treedef:
            raise InvalidRuleOutputError(
                f"{rule} returned a tangent of structure {treedef}, but the output has structure "
                f"{self.treedef}; return one tangent per output leaf, in the same containers."
            )
        checked = []
        for k, (v, shape, like) in enumerate(zip(leaves, self.shapes, self.leaves_like)):
            ref = np.broadcast_to(like, shape)
            what = "the output" if self.single else f"output leaf {k}"
            checked.append(checked_leaf(v, ref, rule, what))
        return tree_unflatten(self.treedef, checked)


class JointRule:
    """One argument's share of a rule that computes every argument's cotangent at once.

    The sweep calls a node's cotangent functions one after another with the
    same cotangent, in argument order. The first share computes all the
    cotangents, always (never from a cache keyed by the cotangent's identity:
    a caller may refill one buffer between calls, or retry after a failure);
    the later shares of the same visit take theirs from it. The result is kept
    per thread, so threads sharing one ``vjp_fn`` never see each other's, and
    dropped after the last share.
    """

    def __init__(self, compute_all: Callable[[Any], list[Any]]):
        self.compute_all = compute_all
        self.argnums: list[int] = []  # the arguments the engine asked for, in its order
        self.local = threading.local()

    def share(self, argnum: int) -> Callable[[Any], Any]:
        self.argnums.append(argnum)

        def fn(g: Any) -> Any:
            local = self.local
            first = argnum == min(self.argnums)
            if first or getattr(local, "g", None) is not g:
                local.g = local.all = None
                result = self.compute_all(g)
                local.g, local.all = g, result
            else:
                result = local.all
            if argnum == max(self.argnums):
                local.g = local.all = None
            return result[argnum]

        return fn
