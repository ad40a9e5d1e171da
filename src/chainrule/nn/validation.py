"""One check per kind of argument chainrule.nn takes, so that no layer silently wraps or truncates.

NumPy reads a label of -1 as "the last class", ``int(1.5)`` as 1 and a
negative Huber ``delta`` as just another number: each gives a result without
an error, and a wrong one. Every public function of :mod:`chainrule.nn`
passes its arguments through these helpers instead, and each refusal names
the function, the argument, the value and the fix.

>>> count("Dense", "units", 3)
3
>>> pair("conv2d", "stride", 2, minimum=1)
(2, 2)
>>> indices("embedding", "ids", np.array([0, 2]), 3).tolist()
[0, 2]
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import primal

__all__ = [
    "count",
    "float_dtype",
    "function",
    "generator",
    "indices",
    "input_shape",
    "pair",
    "real",
    "same_shape",
]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def count(where: str, name: str, value: Any, minimum: int = 1) -> int:
    """A whole number of things (units, channels, rows) of at least ``minimum``."""
    if not _is_int(value):
        raise TypeError(f"{where}: {name} must be a whole number (at least {minimum}), "
                        f"not {type(value).__name__} {value!r}")  # fmt: skip
    if value < minimum:
        raise ValueError(f"{where}: {name}={int(value)} must be at least {minimum}")
    return int(value)


def pair(where: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each at least ``minimum`` (kernel, stride, padding, dilation)."""
    items = (value, value) if _is_int(value) else value
    try:
        a, b = items
    except (TypeError, ValueError):
        raise TypeError(f"{where}: {name} must be a whole number or a pair of them such as (2, 2), "
                        f"not {type(value).__name__} {value!r}") from None  # fmt: skip
    if not (_is_int(a) and _is_int(b)):
        raise TypeError(f"{where}: {name}={value!r} must be whole numbers (a fraction would be truncated), "
                        "e.g. 1 or (2, 2)")  # fmt: skip
    if a < minimum or b < minimum:
        raise ValueError(f"{where}: {name}={value!r} must be at least {minimum}")
    return int(a), int(b)


def real(
    where: str,
    name: str,
    value: Any,
    low: float = -np.inf,
    high: float = np.inf,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    """A finite real hyperparameter in ``[low, high]`` (either end open if asked)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, not {type(value).__name__} {value!r}")
    v = float(value)
    inside = np.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not inside:
        if np.isfinite(low) and np.isfinite(high):
            span = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif np.isfinite(low):
            span = f"finite and {'>' if low_open else '>='} {low:g}"
        elif np.isfinite(high):
            span = f"finite and {'<' if high_open else '<='} {high:g}"
        else:
            span = "finite"
        raise ValueError(f"{where}: {name}={value!r} must be {span}" + (f" ({hint})" if hint else ""))
    return v


def indices(where: str, name: str, value: Any, size: int, what: str = "index") -> np.ndarray:
    """Integer ids in ``[0, size)``: NumPy would read -1 as the last one and fail late on ``size``."""
    arr = np.asarray(primal(value))
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{where}: {name} must be integers, got dtype {arr.dtype}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            why = f"a negative {what} is not read from the end here" if bad < 0 else f"there are {size}"
            many = what + ("es" if what.endswith("s") else "s")
            raise ValueError(f"{where}: {name} holds the {what} {bad}, outside 0..{size - 1} ({why}); "
                             f"give {many} from 0 to {size - 1}")  # fmt: skip
    return arr


def generator(where: str, name: str, value: Any) -> np.random.Generator:
    """An explicit ``numpy.random.Generator`` (the only source of randomness in nn)."""
    if not isinstance(value, np.random.Generator):
        raise TypeError(f"{where}: {name} must be a numpy.random.Generator such as "
                        f"np.random.default_rng(0), not {type(value).__name__}")  # fmt: skip
    return value


def float_dtype(where: str, value: Any) -> np.dtype[Any]:
    """A real floating dtype for parameters."""
    try:
        dt: np.dtype[Any] = np.dtype(value)
    except TypeError:
        raise TypeError(
            f"{where}: dtype={value!r} is not a NumPy dtype; use np.float64 or np.float32"
        ) from None
    if dt.kind != "f":
        raise TypeError(f"{where}: dtype={dt} is not a floating dtype; parameters are float (np.float64 or "
                        "np.float32)")  # fmt: skip
    return dt


def input_shape(where: str, shape: Any, ndim: int | None = None, layout: str = "") -> tuple[int, ...]:
    """A shape without the batch axis: positive ints, of rank ``ndim`` when given."""
    try:
        out = tuple(shape)
    except TypeError:
        raise TypeError(f"{where}: the input shape must be a tuple of ints such as (64,), "
                        f"not {type(shape).__name__} {shape!r}") from None  # fmt: skip
    if not all(_is_int(n) and n >= 1 for n in out):
        raise ValueError(f"{where}: the input shape {out} must hold whole numbers >= 1")
    if ndim is not None and len(out) != ndim:
        raise ValueError(
            f"{where} needs an input shape {layout} of {ndim} axes (without the batch axis), "
            f"got {out}" + (f"; for one channel use {(1, *out)}" if len(out) == ndim - 1 else "")
        )
    if ndim is None and not out:
        raise ValueError(f"{where} needs an input shape with at least one axis, got ()")
    return tuple(int(n) for n in out)


def same_shape(where: str, predictions: Any, targets: Any) -> None:
    """Predictions and targets of one shape (or scalar targets): broadcasting (N, 1) with (N,) is silent."""
    ps, ts = np.shape(predictions), np.shape(targets)
    if ts != ps and ts != ():
        raise ValueError(
            f"{where}: predictions have shape {ps} but targets {ts}; they must match (reshape one, e.g. "
            "targets.reshape(predictions.shape)): broadcasting would pair every prediction with every target"
        )


def function(where: str, name: str, value: object) -> Callable[..., Any]:
    """A callable argument."""
    if not callable(value):
        raise TypeError(f"{where}: {name} must be a function such as nn.relu, not {type(value).__name__}")
    return value
