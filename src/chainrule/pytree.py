"""Pytrees: nested containers of arrays that transforms treat as one argument.

A pytree is a leaf (an array, a scalar, anything else) or a container of
pytrees: ``dict`` (any ``dict`` subclass built from its items), ``list``,
``tuple``, ``namedtuple``, dataclass instances (their fields; a field with
``metadata={"static": True}`` is structure, not a leaf) and any type given to
:func:`register_pytree_node`. ``None`` is an empty container: it has no leaves
and comes back as ``None``, so an optional parameter stays optional in a
gradient.

A dict's leaves come in the order of its sorted keys, as in JAX, so two dicts
with the same keys in another insertion order have the same structure (a
tangent ``{"b": .., "a": ..}`` goes with a primal ``{"a": .., "b": ..}``);
:func:`tree_unflatten` rebuilds the insertion order of the dict flattened.

Examples
--------
>>> import numpy as np
>>> leaves, treedef = tree_flatten({"w": np.ones(2), "b": (1.0, None)})
>>> len(leaves)
2
>>> tree_unflatten(treedef, [0, 1])    # leaves by sorted key: 'b' first; insertion order kept
{'w': 1, 'b': (0, None)}
>>> tree_map(lambda a: a * 2, [1, (2, 3)])
[2, (4, 6)]
>>> tree_structure({"b": 1, "a": 2}) == tree_structure({"a": 0, "b": 0})
True
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TreeDef",
    "register_pytree_node",
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
_DATACLASS = "dataclass"
_CUSTOM = "custom"

# type -> (flatten: x -> (children, aux), unflatten: (aux, children) -> x)
_REGISTRY: dict[type, tuple[Callable[[Any], tuple[Sequence[Any], Any]], Callable[[Any, Any], Any]]] = {}


def register_pytree_node(
    cls: type,
    flatten: Callable[[Any], tuple[Sequence[Any], Hashable]],
    unflatten: Callable[[Hashable, Sequence[Any]], Any],
) -> None:
    """Make instances of ``cls`` pytrees, with JAX's signature.

    ``flatten(x) -> (children, aux)`` gives the subtrees and what else rebuilds
    ``x`` (hashable, compared with ``==``: two instances have the same structure
    when their ``aux`` are equal); ``unflatten(aux, children) -> x`` rebuilds it.
    Subclasses are not included: register each class.

    Examples
    --------
    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
    >>> tree_map(lambda v: v + 1, Pair(1, [2, 3])).b
    [3, 4]
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_pytree_node takes a class, not {cls!r}")
    if cls in (list, tuple, dict, type(None)):
        raise ValueError(f"{cls.__name__} is already a pytree container; it cannot be registered again")
    if not (callable(flatten) and callable(unflatten)):
        raise TypeError("register_pytree_node(cls, flatten, unflatten) takes two functions")
    _REGISTRY[cls] = (flatten, unflatten)


@dataclass(frozen=True, eq=False)
class TreeDef:
    """The structure of a pytree with its leaves taken out.

    Two trees can be combined leaf by leaf exactly when their ``TreeDef`` are
    equal. ``kind`` names the container, ``meta`` holds what rebuilds it (the
    dict keys and type, the namedtuple class) and ``children`` the subtrees.
    Equality, hashing, ``num_leaves`` and ``repr`` walk the structure without
    recursion, so a tree nested thousands of levels deep works like any other.
    """

    kind: str
    meta: Any
    children: tuple[TreeDef, ...]
    # A dict's insertion order, to rebuild it; not part of the structure (keys compare sorted).
    order: tuple[Any, ...] | None = field(default=None, compare=False)

    @functools.cached_property
    def num_leaves(self) -> int:
        total = 0
        for node in _nodes(self):
            total += node.kind == _LEAF
        return total

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, TreeDef):
            return NotImplemented
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if a is b:
                continue
            if a.kind != b.kind or a.meta != b.meta or len(a.children) != len(b.children):
                return False
            pairs.extend(zip(a.children, b.children))
        return True

    def __hash__(self) -> int:
        return hash(tuple((n.kind, n.meta, len(n.children)) for n in _nodes(self)))

    def __repr__(self) -> str:
        # Post-order over an explicit stack: each node's text from its children's.
        text: dict[int, str] = {}
        stack: list[tuple[TreeDef, bool]] = [(self, False)]
        while stack:
            node, done = stack.pop()
            if not done:
                stack.append((node, True))
                stack.extend((c, False) for c in node.children)
                continue
            text[id(node)] = _repr_one(node, [text[id(c)] for c in node.children])
        return text[id(self)]


def _repr_one(node: TreeDef, inner_parts: list[str]) -> str:
    if node.kind == _LEAF:
        return "*"
    if node.kind == _NONE:
        return "None"
    if node.kind == _DICT:
        return "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(node.meta[1], inner_parts)) + "}"
    inner = ", ".join(inner_parts)
    if node.kind == _LIST:
        return "[" + inner + "]"
    if node.kind == _NAMEDTUPLE:
        return f"{node.meta.__name__}({inner})"
    if node.kind == _DATACLASS:
        named = ", ".join(f"{k}={c}" for k, c in zip(node.meta[1], inner_parts))
        return f"{node.meta[0].__name__}({named})"
    if node.kind == _CUSTOM:
        return f"{node.meta[0].__name__}({inner})"
    return "(" + inner + ("," if len(node.children) == 1 else "") + ")"


def _nodes(treedef: TreeDef) -> Iterator[TreeDef]:
    """Every node of ``treedef``, parents before children, in container order."""
    stack = [treedef]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


_LEAF_DEF = TreeDef(_LEAF, None, ())
_NONE_DEF = TreeDef(_NONE, None, ())


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def sorted_keys(keys: Any) -> tuple[Any, ...]:
    """Dict keys in a canonical order: sorted, or by type and ``repr`` when they do not compare."""
    try:
        return tuple(sorted(keys))
    except TypeError:  # mixed key types (1 and "a"): an order that is still the same for equal key sets
        return tuple(sorted(keys, key=lambda k: (type(k).__qualname__, repr(k))))


def _static(f: dataclasses.Field[Any]) -> bool:
    return bool(f.metadata.get("static", False))


def _flatten_into(tree: Any, leaves: list[Any]) -> TreeDef:
    if tree is None:
        return _NONE_DEF
    t = type(tree)
    if t is list:
        return TreeDef(_LIST, None, tuple(_flatten_into(c, leaves) for c in tree))
    if t is tuple:
        return TreeDef(_TUPLE, None, tuple(_flatten_into(c, leaves) for c in tree))
    if isinstance(tree, dict):
        order = tuple(tree.keys())
        keys = sorted_keys(order)
        children = tuple(_flatten_into(tree[k], leaves) for k in keys)
        return TreeDef(_DICT, (t, keys), children, order if order != keys else None)
    if _is_namedtuple(tree):
        return TreeDef(_NAMEDTUPLE, t, tuple(_flatten_into(c, leaves) for c in tree))
    custom = _REGISTRY.get(t)
    if custom is not None:
        subtrees, aux = custom[0](tree)
        return TreeDef(_CUSTOM, (t, aux), tuple(_flatten_into(c, leaves) for c in subtrees))
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        fields = dataclasses.fields(tree)
        names = tuple(f.name for f in fields if not _static(f))
        static = tuple((f.name, getattr(tree, f.name)) for f in fields if _static(f))
        children = tuple(_flatten_into(getattr(tree, n), leaves) for n in names)
        return TreeDef(_DATACLASS, (t, names, static), children)
    leaves.append(tree)
    return _LEAF_DEF


def _container(tree: Any) -> tuple[str, Any, Sequence[Any], Any] | None:
    """(kind, meta, children, dict order) of a container node, or None for a leaf or None.

    The same structure :func:`_flatten_into` gives (it is its explicit-stack twin).
    """
    t = type(tree)
    if t is list:
        return _LIST, None, tree, None
    if t is tuple:
        return _TUPLE, None, tree, None
    if isinstance(tree, dict):
        order = tuple(tree.keys())
        keys = sorted_keys(order)
        return _DICT, (t, keys), [tree[k] for k in keys], (order if order != keys else None)
    if _is_namedtuple(tree):
        return _NAMEDTUPLE, t, tree, None
    custom = _REGISTRY.get(t)
    if custom is not None:
        subtrees, aux = custom[0](tree)
        return _CUSTOM, (t, aux), list(subtrees), None
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        fields = dataclasses.fields(tree)
        names = tuple(f.name for f in fields if not _static(f))
        static = tuple((f.name, getattr(tree, f.name)) for f in fields if _static(f))
        return _DATACLASS, (t, names, static), [getattr(tree, n) for n in names], None
    return None


def _flatten_deep(tree: Any, leaves: list[Any]) -> TreeDef:
    """:func:`_flatten_into` over an explicit stack: any depth; a tree that contains itself is refused."""
    root = _container(tree)
    if root is None:
        if tree is None:
            return _NONE_DEF
        leaves.append(tree)
        return _LEAF_DEF
    # Frames: kind, meta, children to visit, dict order, next index, finished child defs, the container.
    stack: list[list[Any]] = [[*root, 0, [], tree]]
    open_ids = {id(tree)}
    while True:
        frame = stack[-1]
        items = frame[2]
        if frame[4] < len(items):
            child = items[frame[4]]
            frame[4] += 1
            if child is None:
                frame[5].append(_NONE_DEF)
                continue
            sub = _container(child)
            if sub is None:
                leaves.append(child)
                frame[5].append(_LEAF_DEF)
                continue
            if id(child) in open_ids:
                raise ValueError(
                    f"this pytree contains itself (a {type(child).__name__} inside its own contents), so "
                    "it has no finite structure: pass a tree without cycles"
                )
            open_ids.add(id(child))
            stack.append([*sub, 0, [], child])
            continue
        stack.pop()
        open_ids.discard(id(frame[6]))
        done = TreeDef(frame[0], frame[1], tuple(frame[5]), frame[3])
        if not stack:
            return done
        stack[-1][5].append(done)


def tree_flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Split ``tree`` into its leaves (depth first, container order) and structure."""
    leaves: list[Any] = []
    try:
        treedef = _flatten_into(tree, leaves)
    except RecursionError:
        # Deep (or cyclic) trees: the recursive walk is the fast path for the usual shallow ones.
        leaves = []
        treedef = _flatten_deep(tree, leaves)
    return leaves, treedef


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of ``tree`` in flattening order."""
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> TreeDef:
    """The :class:`TreeDef` of ``tree``."""
    return tree_flatten(tree)[1]


def _build(treedef: TreeDef, it: Iterator[Any]) -> Any:
    """Post-order over an explicit stack: any depth."""
    done: list[Any] = []  # finished subtrees, in order
    stack: list[tuple[TreeDef, bool]] = [(treedef, False)]
    while stack:
        node, expanded = stack.pop()
        kind = node.kind
        if kind == _LEAF:
            done.append(next(it))
            continue
        if kind == _NONE:
            done.append(None)
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(node.children))
            continue
        n = len(node.children)
        children = done[len(done) - n :] if n else []
        del done[len(done) - n :]
        done.append(_make(node, children))
    return done[0]


def _make(treedef: TreeDef, children: list[Any]) -> Any:
    kind = treedef.kind
    if kind == _LIST:
        return children
    if kind == _TUPLE:
        return tuple(children)
    if kind == _NAMEDTUPLE:
        return treedef.meta(*children)
    if kind == _CUSTOM:
        return _REGISTRY[treedef.meta[0]][1](treedef.meta[1], children)
    if kind == _DATACLASS:
        return _rebuild_dataclass(treedef.meta, children)
    cls, keys = treedef.meta
    items = dict(zip(keys, children))
    if treedef.order is not None:
        items = {k: items[k] for k in treedef.order}
    return items if cls is dict else _rebuild_mapping(cls, items)


def _rebuild_dataclass(meta: Any, children: list[Any]) -> Any:
    # Fields are set directly, not through __init__: __post_init__ validation written for
    # arrays would otherwise run on traced values, gradients or None placeholders.
    cls, names, static = meta
    out = cls.__new__(cls)
    for name, value in (*zip(names, children), *static):
        object.__setattr__(out, name, value)  # also for frozen dataclasses
    return out


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
    ["['layers'][0]['b']", "['layers'][0]['w']", "['scale']"]
    """
    return paths_of(tree_structure(tree))


def paths_of(treedef: TreeDef, prefix: str = "") -> list[str]:
    """The leaf paths of a :class:`TreeDef` (see :func:`tree_paths`)."""
    out: list[str] = []
    stack: list[tuple[TreeDef, str]] = [(treedef, prefix)]
    while stack:
        node, path = stack.pop()
        kind = node.kind
        if kind == _LEAF:
            out.append(path)
        elif kind == _DICT:
            stack.extend((c, f"{path}[{k!r}]") for k, c in reversed(list(zip(node.meta[1], node.children))))
        elif kind == _NAMEDTUPLE:
            stack.extend((c, f"{path}.{n}") for n, c in reversed(list(zip(node.meta._fields, node.children))))
        elif kind == _DATACLASS:
            stack.extend((c, f"{path}.{n}") for n, c in reversed(list(zip(node.meta[1], node.children))))
        elif kind != _NONE:
            stack.extend((c, f"{path}[{i}]") for i, c in reversed(list(enumerate(node.children))))
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
    if da.kind in (_DATACLASS, _CUSTOM) and da.meta != db.meta:
        return f"at {here}: {_kind_name(a)} vs {_kind_name(b)} (type, fields or static data differ)"
    if da.kind in (_DATACLASS, _CUSTOM):
        for i, (ca, cb) in enumerate(zip(tree_children(a), tree_children(b))):
            if tree_structure(ca) != tree_structure(cb):
                return describe_difference(ca, cb, f"{path}<{i}>")
        return f"at {here}"
    if da.kind == _DICT:
        ka, kb = da.meta[1], db.meta[1]
        if set(ka) != set(kb):
            return f"at {here}: keys {sorted(map(str, ka))} vs {sorted(map(str, kb))}"
        for k in ka:
            if tree_structure(a[k]) != tree_structure(b[k]):
                return describe_difference(a[k], b[k], f"{path}[{k!r}]")
        return f"at {here}: dict types {type(a).__name__} vs {type(b).__name__}"
    if len(da.children) != len(db.children):
        return f"at {here}: length {len(da.children)} vs {len(db.children)}"
    for i, (ca, cb) in enumerate(zip(a, b)):
        if tree_structure(ca) != tree_structure(cb):
            return describe_difference(ca, cb, f"{path}[{i}]")
    return f"at {here}"


def tree_children(x: Any) -> list[Any]:
    """The direct subtrees of a container (``[]`` for a leaf), in flattening order."""
    _, treedef = tree_flatten(x)
    kind = treedef.kind
    if kind in (_LEAF, _NONE):
        return []
    if kind == _DICT:
        return [x[k] for k in treedef.meta[1]]
    if kind == _DATACLASS:
        return [getattr(x, n) for n in treedef.meta[1]]
    if kind == _CUSTOM:
        return list(_REGISTRY[type(x)][0](x)[0])
    return list(x)


def _kind_name(x: Any) -> str:
    if x is None:
        return "None"
    if isinstance(x, list | tuple | dict) or type(x) in _REGISTRY:
        return type(x).__name__
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return f"dataclass {type(x).__name__}"
    return f"a leaf of type {type(x).__name__}"
