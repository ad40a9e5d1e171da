"""chainrule.jit's per-call structure work (jit/structure.py) against chainrule.pytree: they must agree."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

import chainrule as cr
from chainrule.jit.structure import MAX_DEPTH, builder, plain_flatten
from chainrule.pytree import tree_flatten, tree_unflatten

Pair = collections.namedtuple("Pair", "a b")


@dataclasses.dataclass
class Box:
    w: np.ndarray


def deep(n):
    tree = [1.0]
    for _ in range(n):
        tree = [tree, 2.0]
    return tree


PLAIN = [
    1.0,
    None,
    (),
    [],
    {},
    (np.ones(2), [3, "s", None], {"z": 1.0, "a": (2.0, np.float32(3.0))}),
    {"b": {"y": 1.0, "x": [2.0]}, "a": None},
    ((1.0,), [[2.0]]),
    deep(MAX_DEPTH + 5),
]
OTHER = [Pair(1.0, 2.0), (Box(np.ones(2)),), collections.OrderedDict(a=1.0), [{"k": Pair(1.0, None)}]]


@pytest.mark.parametrize("tree", PLAIN, ids=range(len(PLAIN)))
def test_plain_trees_flatten_in_tree_flatten_order(tree) -> None:
    leaves, _ = tree_flatten(tree)
    got = plain_flatten(tree)
    assert got is not None
    assert len(got[0]) == len(leaves) and all(a is b for a, b in zip(got[0], leaves))


@pytest.mark.parametrize("tree", OTHER, ids=range(len(OTHER)))
def test_other_trees_are_left_to_pytree(tree) -> None:
    assert plain_flatten(tree) is None


def test_signatures_are_equal_exactly_when_structures_are() -> None:
    trees = [
        (1.0, 2.0), [1.0, 2.0], (1.0, (2.0,)), (1.0, None), (None, 1.0), {"a": 1.0}, {"b": 1.0},
        {"a": 1.0, "b": 2.0}, {"b": 2.0, "a": 1.0}, {"a": (1.0,)}, ([],), ((),), (1.0, 2.0, 3.0),
    ]  # fmt: skip
    for s in trees:
        for t in trees:
            assert (plain_flatten(s)[1] == plain_flatten(t)[1]) == (tree_flatten(s)[1] == tree_flatten(t)[1])


@pytest.mark.parametrize("tree", PLAIN + OTHER, ids=range(len(PLAIN) + len(OTHER)))
def test_builder_rebuilds_as_tree_unflatten(tree) -> None:
    leaves, treedef = tree_flatten(tree)
    marks = [f"leaf{i}" for i in range(len(leaves))]
    expected = tree_unflatten(treedef, marks)
    got = builder(treedef)(marks)
    assert got == expected and type(got) is type(expected)
    assert repr(got) == repr(expected)  # dicts in the same key order


def test_jit_keys_dicts_by_keys_not_order_and_returns_the_function_order() -> None:
    f = cr.jit(lambda p: {"w": p["w"] * 2.0, "b": p["b"] + 1.0})
    out = f({"w": np.ones(2), "b": np.zeros(2)})
    out2 = f({"b": np.zeros(2), "w": np.ones(2)})
    assert f.stagings == 1
    assert list(out) == list(out2) == ["w", "b"]
    np.testing.assert_array_equal(out2["w"], [2.0, 2.0])
    g = cr.jit(lambda p: p.a * p.b)  # a named tuple: through pytree
    assert g(Pair(np.ones(2), np.full(2, 3.0))).tolist() == [3.0, 3.0]
    assert g(Pair(np.ones(2), np.full(2, 4.0))).tolist() == [4.0, 4.0]
    assert g.stagings == 1
