"""Dask arrays as differentiated parameters: refused, with what to do instead.

chainrule traces NumPy arrays; a Dask array among the parameters would make
every operation a lazy Dask operation inside the tape, with a gradient whose
memory nobody bounds. The supported pattern is NumPy parameters and Dask
data (:func:`chainrule.distributed.dask_value_and_grad`). The check is by
duck typing (a ``__dask_graph__`` method and ``chunks``): no Dask import.

The differential operators (``chainrule.derivatives.arguments``) should call
:func:`dask_parameter_message` for a leaf they cannot differentiate, so that
``cr.grad`` names Dask too.
"""

from __future__ import annotations

from typing import Any

from ..pytree import paths_of, tree_flatten

__all__ = ["dask_parameter_message", "is_dask_array", "refuse_dask_parameters"]


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a Dask array (duck-typed: no import of Dask)."""
    return callable(getattr(x, "__dask_graph__", None)) and hasattr(x, "chunks")


def dask_parameter_message(where: str) -> str:
    """The error for a Dask array at ``where`` among the differentiated arguments."""
    return (
        f"{where} is a Dask array; chainrule differentiates with respect to NumPy arrays only. If it "
        "fits in memory, pass x.compute(). If it is data (not differentiated), keep the parameters "
        "in NumPy and use chainrule.distributed.dask_value_and_grad(loss, params, *dask_arrays), "
        "which runs the gradient chunk by chunk on Dask."
    )


def refuse_dask_parameters(params: Any, what: str) -> None:
    """Raise ``TypeError`` naming the first leaf of ``params`` that is a Dask array.

    Examples
    --------
    >>> import numpy as np
    >>> refuse_dask_parameters({"w": np.ones(2)}, "grad")  # NumPy: nothing to say
    """
    leaves, treedef = tree_flatten(params)
    for leaf, path in zip(leaves, paths_of(treedef)):
        if is_dask_array(leaf):
            raise TypeError(f"{what}: " + dask_parameter_message(f"params{path}"))
