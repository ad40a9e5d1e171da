"""The differentiated arguments as one flat vector, and back.

Finite differences perturb one number at a time, so the leaves of the
differentiated arguments (pytrees of float arrays) are laid end to end in one
vector ``x0``; :meth:`Inputs.build` turns a perturbed copy back into the
function's arguments and :meth:`Inputs.label` names element ``i`` the way a
person reads it: ``argument 0 ('params')['w'][2, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..argnums import normalize_argnums
from ..naming import argument_label
from ..pytree import TreeDef, paths_of, tree_flatten, tree_unflatten

__all__ = ["Inputs"]


def arg_name(f: Callable[..., Any], argnum: int) -> str:
    return argument_label(f, argnum)


def _float_leaf(x: Any, where: str, allow_complex: bool = True) -> np.ndarray:
    if callable(getattr(x, "__dask_graph__", None)):  # np.asarray would compute it, whatever its size
        raise TypeError(
            f"{where} is a Dask array; finite differences perturb NumPy arrays (one evaluation per "
            "element, each with a whole copy). Pass x.compute() if it fits in memory; Dask data that "
            "is not differentiated can stay lazy (leave it out of argnums), and a loss over Dask data "
            "has its gradient from chainrule.distributed.dask_value_and_grad."
        )
    if isinstance(x, bool | np.bool_ | int | np.integer):
        raise TypeError(
            f"{where} is an integer or boolean ({x!r}); finite differences need floating-point "
            "inputs. Pass a float (2.0, or x.astype(float)), or leave it out of argnums."
        )
    arr = np.asarray(x)
    if np.issubdtype(arr.dtype, np.complexfloating):
        if allow_complex:
            return arr
        raise TypeError(
            f"{where} is complex ({arr.dtype}), which this operation does not differentiate: pass "
            "its real and imaginary parts as separate real arguments, or use numerical.grad / "
            "numerical.jacobian, which take complex inputs."
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"{where} has dtype {arr.dtype}; finite differences differentiate floating-point "
            "(or complex) inputs only. Convert with x.astype(float), or leave it out of argnums."
        )
    return arr


class Inputs:
    """The leaves of ``args[argnums]`` as one flat vector in the working dtype.

    With ``upcast`` (the default) every leaf is perturbed in float64 (or
    wider), whatever its own dtype: the referee is then not noisier than the
    float32 code it referees. Otherwise each leaf keeps its dtype.

    A complex leaf of ``n`` elements takes ``2 n`` real coordinates, its real
    parts then its imaginary parts: finite differences perturb each
    separately (``.real``, ``.imag`` in labels).
    """

    def __init__(
        self,
        f: Callable[..., Any],
        args: Sequence[Any],
        argnums: int | Sequence[int],
        upcast: bool,
        allow_complex: bool = True,
    ):
        self.args = list(args)
        self.argnums = argnums
        self.nums = normalize_argnums(argnums, len(args), f)
        self.treedefs: list[TreeDef] = []
        self.names: list[str] = []  # 'argument 0 ('x')['w']' per leaf
        self.shapes: list[tuple[int, ...]] = []
        self.dtypes: list[np.dtype] = []  # working dtype per leaf
        self.scalar: list[bool] = []  # a Python float or NumPy scalar, rebuilt as such
        self.is_complex: list[bool] = []
        self.native: list[np.dtype] = []  # each leaf's own dtype
        pieces = []
        for n in self.nums:
            leaves, treedef = tree_flatten(args[n])
            name = arg_name(f, n)
            self.treedefs.append(treedef)
            for leaf, path in zip(leaves, paths_of(treedef)):
                arr = _float_leaf(leaf, f"{name}{path}", allow_complex)
                cplx = bool(np.iscomplexobj(arr))
                real_dt = np.finfo(arr.dtype).dtype if cplx else arr.dtype
                dt = np.result_type(real_dt, np.float64) if upcast else real_dt
                self.names.append(f"{name}{path}")
                self.shapes.append(arr.shape)
                self.dtypes.append(np.dtype(dt))
                self.native.append(arr.dtype)
                self.scalar.append(not isinstance(leaf, np.ndarray))
                self.is_complex.append(cplx)
                if cplx:
                    pieces.append(np.concatenate([arr.real.astype(dt).ravel(), arr.imag.astype(dt).ravel()]))
                else:
                    pieces.append(arr.astype(dt).ravel())
        self.elements = [int(np.prod(s, dtype=np.int64)) for s in self.shapes]
        self.sizes = [e * (2 if c else 1) for e, c in zip(self.elements, self.is_complex)]
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.dtype = np.result_type(*self.dtypes) if self.dtypes else np.dtype(np.float64)
        self.x0 = np.concatenate(pieces).astype(self.dtype) if pieces else np.zeros(0)
        self.size = int(self.x0.size)
        self.leaf_of = np.repeat(np.arange(len(self.sizes)), self.sizes)

    def eps(self) -> np.ndarray:
        """Machine epsilon of each element's working dtype."""
        return np.array([np.finfo(d).eps for d in self.dtypes])[self.leaf_of] if self.size else np.zeros(0)

    @property
    def has_complex(self) -> bool:
        return any(self.is_complex)

    def _leaf(self, x: np.ndarray, k: int, copy: bool, lead: tuple[int, ...] = ()) -> np.ndarray:
        piece = x[..., self.starts[k] : self.starts[k + 1]]
        if self.is_complex[k]:
            n = self.elements[k]
            dt = np.result_type(self.dtypes[k], np.complex64)
            return (piece[..., :n] + 1j * piece[..., n:]).astype(dt).reshape(lead + self.shapes[k])
        dt = self.dtypes[k] if not np.iscomplexobj(x) else np.result_type(self.dtypes[k], np.complex64)
        return np.array(piece, dtype=dt, copy=copy or None).reshape(lead + self.shapes[k])

    def build(self, x: np.ndarray, copy: bool = True) -> tuple[Any, ...]:
        """The function's arguments with the differentiated leaves taken from ``x``.

        ``copy=False`` hands the function views of ``x`` (for a fresh ``x``).
        """
        leaves = []
        for k in range(len(self.shapes)):
            arr = self._leaf(x, k, copy)
            leaves.append(arr[()] if self.scalar[k] and arr.ndim == 0 else arr)
        return self._place(leaves)

    def build_stack(self, xs: np.ndarray) -> tuple[Any, ...]:
        """The arguments for a stack of points ``xs`` (points x size): each leaf gets a leading axis."""
        return self._place([self._leaf(xs, k, True, (xs.shape[0],)) for k in range(len(self.shapes))])

    def _place(self, leaves: list[Any]) -> tuple[Any, ...]:
        args = list(self.args)
        pos = 0
        for n, treedef in zip(self.nums, self.treedefs):
            count = treedef.num_leaves
            args[n] = tree_unflatten(treedef, leaves[pos : pos + count])
            pos += count
        return tuple(args)

    def label(self, i: int) -> str:
        """``argument 0 ('x')['w'][2, 1]``: where flat element ``i`` lives (``.imag`` for a complex part)."""
        path, index = self.location(i)
        if not index:
            return path
        k = int(self.leaf_of[i])
        base = path[: -len(".imag")] if path.endswith(".imag") else path
        base = base[: -len(".real")] if base.endswith(".real") else base
        part = path[len(base) :]
        return f"{base}[{', '.join(str(int(j)) for j in index)}]{part}" if self.shapes[k] else path

    def location(self, i: int) -> tuple[str, tuple[int, ...]]:
        """(leaf path, index within the leaf) of flat element ``i``."""
        k = int(self.leaf_of[i])
        offset = i - int(self.starts[k])
        part = ""
        if self.is_complex[k]:
            part = ".imag" if offset >= self.elements[k] else ".real"
            offset %= self.elements[k]
        index = np.unravel_index(offset, self.shapes[k]) if self.shapes[k] else ()
        return self.names[k] + part, tuple(int(j) for j in index)

    def unflatten(
        self, vec: np.ndarray, lead: tuple[int, ...] = (), dtype: Any = None, complex_as: str = "grad"
    ) -> Any:
        """Split ``vec`` (``lead + (size,)``) into trees shaped like the arguments.

        Each leaf gets shape ``lead + leaf.shape``; a tuple of trees comes back
        when ``argnums`` was a tuple. The two coordinates of a complex leaf
        combine per ``complex_as``: "grad" gives ``d/dx - i d/dy`` (JAX's
        convention for the gradient of a real function), "holomorphic" gives
        ``d/dx`` (``= df/dz`` for an analytic function), "error" gives
        ``|e_x| + |e_y|``, "step" the real part's step.
        """
        vec = np.asarray(vec)
        trees = []
        pos = 0
        for treedef in self.treedefs:
            leaves = []
            for k in range(pos, pos + treedef.num_leaves):
                block = vec[..., self.starts[k] : self.starts[k + 1]]
                dt = dtype or np.finfo(self.native[k]).dtype
                if self.is_complex[k]:
                    re, im = block[..., : self.elements[k]], block[..., self.elements[k] :]
                    if complex_as == "grad":
                        block = re - 1j * im
                    elif complex_as == "holomorphic":
                        block = re
                    elif complex_as == "error":
                        block = np.abs(re) + np.abs(im)
                    else:
                        block = re
                    if complex_as in ("grad", "holomorphic"):
                        dt = np.result_type(dt, np.complex64)
                if np.iscomplexobj(block) and not np.issubdtype(np.dtype(dt), np.complexfloating):
                    dt = np.result_type(dt, np.complex64)
                leaf = np.asarray(block, dtype=dt).reshape(lead + self.shapes[k])
                leaves.append(leaf[()] if leaf.ndim == 0 else leaf)
            pos += treedef.num_leaves
            trees.append(tree_unflatten(treedef, leaves))
        return trees[0] if isinstance(self.argnums, int) else tuple(trees)

    def tree_of(self, objs: list[Any]) -> Any:
        """Place one object per leaf into trees shaped like the arguments."""
        trees, pos = [], 0
        for treedef in self.treedefs:
            trees.append(tree_unflatten(treedef, objs[pos : pos + treedef.num_leaves]))
            pos += treedef.num_leaves
        return trees[0] if isinstance(self.argnums, int) else tuple(trees)

    def broadcast_step(self, step: Any) -> np.ndarray:
        """A user's ``step=``: a number, or trees shaped like the arguments."""
        if np.ndim(step) == 0 and not isinstance(step, list | tuple | dict):
            return np.full(self.size, float(step))
        trees = [step] if isinstance(self.argnums, int) else list(step)
        pieces = []
        for tree, treedef, start in zip(trees, self.treedefs, self._first_leaf()):
            leaves, sdef = tree_flatten(tree)
            if sdef.num_leaves != treedef.num_leaves:
                raise ValueError(
                    f"step= must be a number or have the structure of the differentiated "
                    f"arguments ({treedef!r}); got {sdef!r}"
                )
            for j, leaf in enumerate(leaves):
                want = self.shapes[start + j]
                try:
                    piece = np.broadcast_to(np.asarray(leaf, np.float64), want).ravel()
                except ValueError:
                    raise ValueError(
                        f"step= for {self.names[start + j]} has shape {np.shape(leaf)}, which does not "
                        f"broadcast to the argument's shape {want}: give one number, or an array of "
                        f"shape {want} (or broadcastable to it)"
                    ) from None
                pieces.append(np.concatenate([piece, piece]) if self.is_complex[start + j] else piece)
        return np.concatenate(pieces)

    def _first_leaf(self) -> list[int]:
        out, pos = [], 0
        for treedef in self.treedefs:
            out.append(pos)
            pos += treedef.num_leaves
        return out
