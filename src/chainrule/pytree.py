"""Pytrees: nested containers of arrays that transforms treat as one argument.

A pytree is a leaf (an array, a scalar, anything else) or a container of
pytrees: ``dict`` (any ``Mapping`` subclass built from its items), ``list``,
``tuple`` and ``namedtuple``. ``None`` is an empty container: it has no leaves
and comes back as ``None``, so an optional parameter stays optional in a
gradient.

Examples
--------
>>> import numpy as np
>>> leaves, treedef = tree_flatten({"w": np.ones(2), "b": (1.0, None)})
>>> len(leaves)
2
>>> tree_unflatten(treedef, [0, 1])
{'w': 0, 'b': (1, None)}
>>> tree_map(lambda a: a * 2, [1, (2, 3)])
[2, (4, 6)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TreeDef",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_paths",
    "tree_structure",
    "tree_unflatten",
]

_LEAF = "leaf"
_NONE = "none"
_DICT = "dict"
_LIST = "list"
_TUPLE = "tuple"
_NAMEDTUPLE = "namedtuple"


@dataclass(frozen=True)
class TreeDef:
    """The structure of a pytree with its leaves taken out.

    Two trees can be combined leaf by leaf exactly when their ``TreeDef`` are
    equal. ``kind`` names the container, ``meta`` holds what rebuilds it (the
    dict keys and type, the namedtuple class) and ``children`` the subtrees.
    """

    kind: str
    meta: Any
    children: tuple[TreeDef, ...]

    @property
    def num_leaves(self) -> int:
        if self.kind == _LEAF:
            return 1
        return sum(c.num_leaves for c in self.children)

    def __repr__(self) -> str:
        if self.kind == _LEAF:
            return "*"
        if self.kind == _NONE:
            return "None"
        if self.kind == _DICT:
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta[1], self.children))
            return "{" + inner + "}"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == _LIST:
            return "[" + inner + "]"
        if self.kind == _NAMEDTUPLE:
            return f"{self.meta.__name__}({inner})"
        return "(" + inner + ("," if len(self.children) == 1 else "") + ")"


_LEAF_DEF = TreeDef(_LEAF, None, ())
_NONE_DEF = TreeDef(_NONE, None, ())


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _flatten_into(tree: Any, leaves: list[Any]) -> TreeDef:
    if tree is None:
        return _NONE_DEF
    t = type(tree)
    if t is list:
        return TreeDef(_LIST, None, tuple(_flatten_into(c, leaves) for c in tree))
    if t is tuple:
        return TreeDef(_TUPLE, None, tuple(_flatten_into(c, leaves) for c in tree))
    if isinstance(tree, dict):
        keys = tuple(tree.keys())
        children = tuple(_flatten_into(tree[k], leaves) for k in keys)
        return TreeDef(_DICT, (t, keys), children)
    if _is_namedtuple(tree):
        return TreeDef(_NAMEDTUPLE, t, tuple(_flatten_into(c, leaves) for c in tree))
    leaves.append(tree)
    return _LEAF_DEF


def tree_flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Split ``tree`` into its leaves (depth first, container order) and structure."""
    leaves: list[Any] = []
    treedef = _flatten_into(tree, leaves)
    return leaves, treedef


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of ``tree`` in flattening order."""
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> TreeDef:
    """The :class:`TreeDef` of ``tree``."""
    return tree_flatten(tree)[1]


def _build(treedef: TreeDef, it: Iterator[Any]) -> Any:
    kind = treedef.kind
    if kind == _LEAF:
        return next(it)
    if kind == _NONE:
        return None
    children = [_build(c, it) for c in treedef.children]
    if kind == _LIST:
        return children
    if kind == _TUPLE:
        return tuple(children)
    if kind == _NAMEDTUPLE:
        return treedef.meta(*children)
    cls, keys = treedef.meta
    items = dict(zip(keys, children))
    return items if cls is dict else _rebuild_mapping(cls, items)


def _rebuild_mapping(cls: type, items: dict[Any, Any]) -> Any:
    try:
        return cls(items)
    except TypeError:  # e.g. defaultdict, whose first argument is a factory
        make: Any = cls.__new__  # an empty instance, filled as a plain dict
        out = make(cls)
        dict.update(out, items)
        return out


def tree_unflatten(treedef: TreeDef, leaves: Sequence[Any]) -> Any:
    """Rebuild a tree of structure ``treedef`` from ``leaves``."""
    if len(leaves) != treedef.num_leaves:
        raise ValueError(
            f"tree_unflatten: the structure {treedef!r} has {treedef.num_leaves} leaves, "
            f"but {len(leaves)} were given"
        )
    return _build(treedef, iter(leaves))


def tree_paths(tree: Any) -> list[str]:
    """A readable path for each leaf, in flattening order: ``['w1']``, ``[0].b``.

    >>> tree_paths({"layers": [{"w": 1, "b": 2}], "scale": 3})
    ["['layers'][0]['w']", "['layers'][0]['b']", "['scale']"]
    """
    return paths_of(tree_structure(tree))


def paths_of(treedef: TreeDef, prefix: str = "") -> list[str]:
    """The leaf paths of a :class:`TreeDef` (see :func:`tree_paths`)."""
    kind = treedef.kind
    if kind == _LEAF:
        return [prefix]
    if kind == _NONE:
        return []
    out: list[str] = []
    if kind == _DICT:
        for key, child in zip(treedef.meta[1], treedef.children):
            out.extend(paths_of(child, f"{prefix}[{key!r}]"))
    elif kind == _NAMEDTUPLE:
        for name, child in zip(treedef.meta._fields, treedef.children):
            out.extend(paths_of(child, f"{prefix}.{name}"))
    else:
        for i, child in enumerate(treedef.children):
            out.extend(paths_of(child, f"{prefix}[{i}]"))
    return out


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` leaf by leaf to ``tree`` and trees of the same structure.

    Raises ``ValueError`` naming the first differing path when the structures
    differ.
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for other in rest:
        other_leaves, other_def = tree_flatten(other)
        if other_def != treedef:
            raise ValueError("tree_map: trees differ in structure " + describe_difference(tree, other))
        others.append(other_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])


def describe_difference(a: Any, b: Any, path: str = "") -> str:
    """Say where two pytrees first differ in structure, for error messages.

    >>> describe_difference({"w": 1, "b": 2}, {"w": 1})
    "at root: keys ['b', 'w'] vs ['w']"
    """
    here = path or "root"
    _, da = tree_flatten(a)
    _, db = tree_flatten(b)
    if da == db:
        return "nowhere"
    if da.kind != db.kind or (da.kind == _NAMEDTUPLE and da.meta is not db.meta):
        return f"at {here}: {_kind_name(a)} vs {_kind_name(b)}"
    if da.kind == _DICT:
        ka, kb = da.meta[1], db.meta[1]
        if set(ka) != set(kb):
            return f"at {here}: keys {sorted(map(str, ka))} vs {sorted(map(str, kb))}"
        for k in ka:
            if tree_structure(a[k]) != tree_structure(b[k]):
                return describe_difference(a[k], b[k], f"{path}[{k!r}]")
        return f"at {here}: key order {list(ka)} vs {list(kb)}"
    if len(da.children) != len(db.children):
        return f"at {here}: length {len(da.children)} vs {len(db.children)}"
    for i, (ca, cb) in enumerate(zip(a, b)):
        if tree_structure(ca) != tree_structure(cb):
            return describe_difference(ca, cb, f"{path}[{i}]")
    return f"at {here}"


def _kind_name(x: Any) -> str:
    if x is None:
        return "None"
    if isinstance(x, list | tuple | dict):
        return type(x).__name__
    return f"a leaf of type {type(x).__name__}"
