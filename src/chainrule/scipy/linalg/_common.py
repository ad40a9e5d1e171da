"""Helpers shared by the ``chainrule.scipy.linalg`` modules."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...extend import refuse_complex

__all__ = ["mT", "real_square", "trans_flag"]


def mT(x: Any) -> Any:
    """Swap the last two axes (a recorded transpose for traced values)."""
    return np.swapaxes(x, -1, -2)


def real_square(name: str, a: Any, *, complex_ok: bool = False) -> None:
    """Refuse arrays that are not (stacks of) square matrices (and complex ones unless ``complex_ok``)."""
    if not complex_ok:
        refuse_complex(name, a)
    shape = np.shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name}: expected a square matrix (or a stack of them), got shape {shape}")


def trans_flag(name: str, trans: Any) -> int:
    """SciPy's ``trans`` (0/'N', 1/'T', 2/'C') as 0, 1 or 2."""
    table = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2, "n": 0, "t": 1, "c": 2}
    try:
        return table[trans]
    except (KeyError, TypeError):
        raise ValueError(f"{name}: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}") from None
