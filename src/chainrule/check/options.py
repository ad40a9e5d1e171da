"""The options of a gradient check, validated before anything runs, and the output it needs.

A check that compares nothing must not report "pass": ``probes=0``,
``modes=()``, a function returning ``None`` or a string, or no inputs to
perturb would all leave the comparison table empty. Each option is refused
here, by name, with the fix; :func:`require_comparisons` is the backstop that
refuses any report with an empty table, whatever path led to it.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ChainruleError
from ..pytree import tree_flatten

__all__ = [
    "NothingCheckedError",
    "check_modes",
    "check_output",
    "check_probes",
    "check_tolerance",
    "require_comparisons",
]


class NothingCheckedError(ChainruleError, ValueError):
    """A gradient check would compare no derivative at all, so it cannot pass."""


def check_modes(modes: Any) -> tuple[str, ...]:
    """``modes=`` as a non-empty tuple of "rev"/"fwd".

    >>> check_modes(["rev", "fwd"])
    ('rev', 'fwd')
    """
    if isinstance(modes, str):
        raise TypeError(f"modes= must be a sequence of modes such as ('rev',) or ('rev', 'fwd'), "
                        f"not the string {modes!r}")  # fmt: skip
    try:
        out = tuple(modes)
    except TypeError:
        raise TypeError(f"modes= must be a sequence such as ('rev',), not {type(modes).__name__}") from None
    if not out:
        raise NothingCheckedError("modes=() checks nothing: give ('rev',), ('fwd',) or ('rev', 'fwd')")
    for m in out:
        if m not in ("rev", "fwd"):
            raise ValueError(f"unknown mode {m!r} in modes=; use 'rev' and/or 'fwd'")
    return out


def check_probes(probes: Any) -> int:
    """``probes=`` as a positive int (the number of random directions of a "fast" check).

    >>> check_probes(np.int64(3))
    3
    """
    if isinstance(probes, bool) or not isinstance(probes, numbers.Integral):
        raise TypeError(f"probes= must be a whole number of random directions (e.g. 4), "
                        f"not {type(probes).__name__} {probes!r}")  # fmt: skip
    if probes < 1:
        raise NothingCheckedError(f"probes={int(probes)} checks nothing: give at least 1 (default 4)")
    return int(probes)


def check_tolerance(name: str, value: Any) -> float | None:
    """``rtol=``/``atol=`` as a finite non-negative float (or None for the default).

    >>> check_tolerance("rtol", 1e-5)
    1e-05
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}= must be a non-negative number such as 1e-6 (or None for the dtype's "
                        f"default), not {type(value).__name__} {value!r}")  # fmt: skip
    number = float(value)
    if not (np.isfinite(number) and number >= 0.0):
        raise ValueError(f"{name}={number!r} is not a tolerance: give a finite number >= 0 such as 1e-6 "
                         "(or None for the dtype's default)")  # fmt: skip
    return number


def check_output(f_name: str, out: Any) -> None:
    """Refuse an output that has no number to differentiate (None, a string, an empty tree)."""
    leaves, _ = tree_flatten(out)
    if not leaves:
        raise NothingCheckedError(
            f"{f_name} returned {_short(out)}, which has no number to differentiate: "
            "return the loss (a float or an array), e.g. `return np.sum(...)` (a missing return gives None)"
        )
    for leaf in leaves:
        kind = np.asarray(leaf).dtype.kind if _is_numeric(leaf) else None
        if kind not in ("f", "i", "u", "c"):
            raise TypeError(
                f"{f_name} returned {type(leaf).__name__} {_short(leaf)}, which is not a number: a "
                "gradient check needs float outputs (a float, an array, or a tree of them)"
            )


def require_comparisons(f_name: str, rows: Sequence[Any], failed: bool) -> None:
    """The backstop: a check that passed without a single comparison did not check anything."""
    if not rows and not failed:
        raise NothingCheckedError(
            f"the gradient check of {f_name} compared no derivative (no inputs to perturb?): "
            "give at least one float argument with at least one element in argnums="
        )


def _is_numeric(leaf: Any) -> bool:
    if isinstance(leaf, str | bytes) or leaf is None:
        return False
    try:
        return np.asarray(leaf).dtype.kind != "O"
    except Exception:
        return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
