"""Gradient transformations: an optimizer is a pair of pure functions with explicit state.

A :class:`GradientTransformation` is ``(init, update)``:

- ``state = init(params)`` builds the state (a ``NamedTuple``) for a parameter tree;
- ``updates, state = update(grads, state, params)`` maps a gradient tree to an
  *update* tree and the next state.

**Sign convention: updates are ADDED to the parameters.** A descent optimizer
returns ``-learning_rate * direction``, and :func:`apply_updates` computes
``params + updates``. No function in this package subtracts. The one place
where the sign is flipped is :func:`~chainrule.optim.transforms.scale_by_learning_rate`,
which multiplies by ``-learning_rate``.

An optimizer never knows how its gradient was computed: backprop, finite
differences and a hand-written formula all give a tree like ``params``.

Examples
--------
>>> import numpy as np
>>> from chainrule.optim import sgd, apply_updates
>>> opt = sgd(learning_rate=0.1)
>>> params = {"w": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> grads = {"w": 2 * params["w"]}  # gradient of sum(w**2)
>>> updates, state = opt.update(grads, state, params)
>>> updates["w"]  # -0.1 * grad: the step to ADD
array([-0.2,  0.4])
>>> apply_updates(params, updates)["w"]
array([ 0.8, -1.6])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..pytree import TreeDef, describe_difference, paths_of, tree_flatten, tree_unflatten

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "LineSearchTransformation",
    "apply_updates",
    "chain",
    "check_same_tree",
    "tree_add",
    "tree_global_norm",
    "tree_map_checked",
    "tree_scale",
    "tree_vdot",
    "tree_zeros_like",
]


class GradientTransformation(NamedTuple):
    """An optimizer as data: ``init(params) -> state`` and
    ``update(grads, state, params=None) -> (updates, state)``.

    The returned ``updates`` are to be ADDED to the parameters
    (:func:`apply_updates`); for descent they point downhill.
    """

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


class LineSearchTransformation(NamedTuple):
    """An optimizer that evaluates the objective itself (L-BFGS and its line search).

    ``update(grads, state, params, *, value, value_and_grad) -> (updates, state)``
    where ``value`` is the objective at ``params`` and ``value_and_grad(p)``
    returns ``(value, gradient tree)`` at other points. As everywhere in this
    package, the returned ``updates`` are ADDED to ``params``.
    """

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


def _leaves(tree: Any) -> list[Any]:
    return tree_flatten(tree)[0]


def check_same_tree(a: Any, b: Any, what_a: str = "params", what_b: str = "gradient") -> None:
    """Raise ``ValueError`` naming the first differing path if ``a`` and ``b`` differ.

    Both the tree structure and each leaf's shape must agree.

    >>> check_same_tree({"w": 1.0}, {"v": 1.0})
    Traceback (most recent call last):
    ...
    ValueError: params and gradient have different tree structures: at root: keys ['w'] vs ['v']
    """
    la, da = tree_flatten(a)
    lb, db = tree_flatten(b)
    _check_flat(a, b, la, da, lb, db, what_a, what_b)


def _check_flat(
    a: Any, b: Any, la: list[Any], da: TreeDef, lb: list[Any], db: TreeDef, what_a: str, what_b: str
) -> None:
    if da != db:
        raise ValueError(f"{what_a} and {what_b} have different tree structures: {describe_difference(a, b)}")
    for i, (x, y) in enumerate(zip(la, lb)):
        if np.shape(x) != np.shape(y):
            path = paths_of(da)[i]  # computed only on error
            raise ValueError(
                f"{what_a} and {what_b} differ at {path or 'root'}: shape {np.shape(x)} vs {np.shape(y)}"
            )


def tree_map_checked(
    f: Callable[..., Any], tree: Any, *rest: Any, names: tuple[str, str] = ("gradient", "optimizer state")
) -> Any:
    """``tree_map`` that checks leaf shapes too; a mismatch is a ``ValueError``
    naming the differing path and the two trees (``names``)."""
    leaves, treedef = tree_flatten(tree)
    others = []
    for other in rest:
        other_leaves, other_def = tree_flatten(other)
        _check_flat(tree, other, leaves, treedef, other_leaves, other_def, *names)
        others.append(other_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])


def _as_leaf(x: Any) -> Any:
    """Python floats become float64 scalars so that every leaf has a dtype."""
    return np.float64(x) if isinstance(x, float | int) and not isinstance(x, bool) else x


def apply_updates(params: Any, updates: Any) -> Any:
    """Return ``params + updates`` leaf by leaf: updates are ADDED.

    Each result leaf keeps the dtype of its parameter (a float32 parameter
    stays float32 even if an update is float64).

    Raises
    ------
    ValueError
        If the two trees differ in structure or in a leaf's shape; the message
        names the differing path.

    Examples
    --------
    >>> apply_updates({"w": np.float32(1.0)}, {"w": np.float64(-0.5)})
    {'w': np.float32(0.5)}
    """
    check_same_tree(params, updates, "params", "updates")

    def add(p: Any, u: Any) -> Any:
        p = _as_leaf(p)
        dtype = np.result_type(p)
        return (p + u).astype(dtype, copy=False)

    return tree_map_checked(add, params, updates, names=("params", "updates"))


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Compose transformations: each one's updates are the next one's input.

    The final output is ADDED to the parameters. The state is a tuple of the
    parts' states.

    >>> from chainrule.optim import clip_by_global_norm, scale_by_learning_rate
    >>> opt = chain(clip_by_global_norm(1.0), scale_by_learning_rate(0.5))
    >>> updates, _ = opt.update(np.array([3.0, 4.0]), opt.init(np.zeros(2)))
    >>> updates  # clipped to norm 1, then -0.5 times that
    array([-0.3, -0.4])
    """
    for t in transforms:
        if not isinstance(t, GradientTransformation):
            raise TypeError(
                f"chain takes GradientTransformation objects, got {type(t).__name__}; "
                "line-search optimizers (lbfgs) cannot be chained"
            )

    def init(params: Any) -> tuple[Any, ...]:
        return tuple(t.init(params) for t in transforms)

    def update(grads: Any, state: tuple[Any, ...], params: Any = None) -> tuple[Any, tuple[Any, ...]]:
        if len(state) != len(transforms):
            raise ValueError(f"chain of {len(transforms)} transformations got a state of length {len(state)}")
        new_state = []
        for t, s in zip(transforms, state):
            grads, s = t.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(init, update)


def tree_zeros_like(tree: Any) -> Any:
    """Zeros with each leaf's shape and dtype."""
    return tree_map_checked(lambda x: np.zeros(np.shape(x), dtype=np.result_type(_as_leaf(x))), tree)


def tree_add(a: Any, b: Any) -> Any:
    """``a + b`` leaf by leaf."""
    return tree_map_checked(lambda x, y: x + y, a, b)


def tree_scale(c: float, tree: Any) -> Any:
    """``c * tree`` for a Python float ``c`` (leaf dtypes are kept)."""
    c = float(c)
    return tree_map_checked(lambda x: c * _as_leaf(x), tree)


def tree_vdot(a: Any, b: Any) -> float:
    """The inner product of two trees, summed over all leaves, as a Python float."""
    total = 0.0
    for x, y in zip(_leaves(a), _leaves(b)):
        total += float(np.vdot(x, y)) if np.ndim(x) else float(x) * float(y)
    return total


def tree_global_norm(tree: Any) -> float:
    """The Euclidean norm of all leaves together, as a Python float."""
    return math.sqrt(tree_vdot(tree, tree))
