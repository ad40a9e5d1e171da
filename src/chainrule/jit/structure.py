"""The per-call work of a jitted function around its staged code: the cache key in, the result out.

A staged MLP gradient runs in a few milliseconds; flattening its arguments into
a :class:`~chainrule.pytree.TreeDef`, hashing and comparing that (a walk over
its nodes in Python each time) and rebuilding the result with
:func:`~chainrule.pytree.tree_unflatten` cost tens of microseconds per call on
top. Here the common trees (tuples, lists, dicts, ``None`` and array or number
leaves) get:

* :func:`plain_flatten`: the leaves in :func:`~chainrule.pytree.tree_flatten`'s
  order and a structure signature of nested tuples, which Python hashes and
  compares in C;
* :func:`builder`: a function compiled once per staging that rebuilds the
  result from the staged code's leaves in one expression.

Other trees (named tuples, dataclasses, registered nodes, dict subclasses,
very deep trees) go through :mod:`chainrule.pytree` as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..pytree import TreeDef, sorted_keys, tree_structure, tree_unflatten

__all__ = ["builder", "plain_flatten"]

_LEAF_TYPES = (bool, int, float, complex, str, bytes)
# The node kinds as pytree names them, read from trees of each kind.
_LEAF, _NONE = tree_structure(0).kind, tree_structure(None).kind
_TUPLE, _LIST, _DICT = tree_structure(()).kind, tree_structure([]).kind, tree_structure({}).kind
MAX_DEPTH = 20  # deeper results are rebuilt by tree_unflatten (one expression nests this deep)


class _NotPlain(Exception):
    pass


def _walk(tree: Any, leaves: list[Any]) -> Any:
    t = type(tree)
    if t is tuple or t is list:
        children: Any = tree
        signature: list[Any] = [t]
    elif t is dict:
        keys = sorted_keys(tree)
        children = [tree[k] for k in keys]
        signature = [dict, keys]
    else:
        children = None
    if children is not None:
        for c in children:
            if type(c) is np.ndarray:  # the usual child, without a call
                leaves.append(c)
                signature.append(0)
            else:
                signature.append(_walk(c, leaves))
        return tuple(signature)
    if tree is None:
        return None
    if t is np.ndarray or t in _LEAF_TYPES or isinstance(tree, np.generic):
        leaves.append(tree)
        return 0
    raise _NotPlain  # a container pytree knows (or may know): its rules apply


def plain_flatten(tree: Any) -> tuple[list[Any], Any] | None:
    """``(leaves, signature)`` of a plain tree, leaves in ``tree_flatten``'s order; None for other trees.

    Two plain trees have equal signatures exactly when ``tree_flatten`` gives them equal
    structures (dicts by their sorted keys, insertion order aside).

    >>> plain_flatten(({"b": 1.0, "a": [2, None]},))[0]
    [2, 1.0]
    >>> plain_flatten((1.0, 2.0))[1] == plain_flatten([1.0, 2.0])[1]
    False
    """
    leaves: list[Any] = []
    try:
        return leaves, _walk(tree, leaves)
    except (_NotPlain, RecursionError):
        return None


def _expression(node: TreeDef, constants: list[Any], counter: list[int], depth: int) -> str:
    kind = node.kind
    if kind == _LEAF:
        counter[0] += 1
        return f"o[{counter[0] - 1}]"
    if kind == _NONE:
        return "None"
    if depth > MAX_DEPTH:
        raise _NotPlain
    if kind in (_TUPLE, _LIST):
        inner = "".join(_expression(c, constants, counter, depth + 1) + ", " for c in node.children)
        return f"({inner})" if kind == _TUPLE else f"[{inner}]"
    if kind == _DICT and node.meta[0] is dict:
        keys = node.meta[1]
        values = {k: _expression(c, constants, counter, depth + 1) for k, c in zip(keys, node.children)}
        items = []
        for k in node.order if node.order is not None else keys:  # the function's key order
            constants.append(k)
            items.append(f"K[{len(constants) - 1}]: {values[k]}")
        return "{" + ", ".join(items) + "}"
    raise _NotPlain


def builder(treedef: TreeDef) -> Callable[[Sequence[Any]], Any]:
    """``build(leaves)``: the tree of structure ``treedef`` (as ``tree_unflatten``), compiled for it.

    >>> from chainrule.pytree import tree_flatten
    >>> leaves, treedef = tree_flatten((1.0, {"w": 2.0, "b": [3.0]}))
    >>> builder(treedef)([4.0, [5.0], 6.0])
    (4.0, {'w': 6.0, 'b': [[5.0]]})
    """
    constants: list[Any] = []
    try:
        expression = _expression(treedef, constants, [0], 0)
    except _NotPlain:
        return lambda leaves: tree_unflatten(treedef, leaves)
    namespace: dict[str, Any] = {"K": tuple(constants)}
    source = f"def build(o):\n    return {expression}\n"
    exec(compile(source, "<chainrule.jit result builder>", "exec"), namespace)
    built: Callable[[Sequence[Any]], Any] = namespace["build"]
    return built
