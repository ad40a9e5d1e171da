"""The inputs of ``chainrule check``, read from the command line.

``--arg NAME=VALUE`` gives a value: a number (``0.5``), a list (``[1, 2]``), or
JSON for nested lists and dicts (``{"w": [[1, 2]], "b": [0]}``, a parameter
tree). ``--arg NAME=shape:3,4`` asks for a random float64 array of that shape,
drawn uniformly from ``--domain NAME=LOW,HIGH`` (default ``-1,1``). Every
mistake raises :class:`InputSpecError` with a one-line message that names the
argument and says what to write instead.

Examples
--------
>>> parse_arg("x=0.5")
ValueSpec(name='x', value=0.5)
>>> parse_arg("w=[1, 2]").value
array([1., 2.])
>>> parse_arg("w=shape:3,4")
RandomSpec(name='w', shape=(3, 4))
>>> parse_domain("w=0.1,2")
('w', 0.1, 2.0)
>>> x, w = make_inputs([parse_arg("x=0.5"), parse_arg("w=shape:2")], {"w": (1.0, 2.0)}, seed=0)
>>> x, w.shape, bool(np.all((1.0 <= w) & (w < 2.0)))
(0.5, (2,), True)
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_DOMAIN",
    "InputSpecError",
    "RandomSpec",
    "ValueSpec",
    "load_function",
    "make_inputs",
    "order_specs",
    "parse_arg",
    "parse_domain",
    "parse_seed",
    "parse_shape",
]

DEFAULT_DOMAIN = (-1.0, 1.0)
MAX_ELEMENTS = 10**7  # a full check costs two evaluations per element: more is never what was meant


class InputSpecError(ValueError):
    """A ``--arg``, ``--domain`` or ``--seed`` that cannot be read; the message is one line."""


@dataclass(frozen=True)
class ValueSpec:
    """An argument given by value: a float, a float64 array, or a dict tree of them."""

    name: str
    value: Any


@dataclass(frozen=True)
class RandomSpec:
    """An argument drawn at random: a float64 array of ``shape`` (``()`` is a scalar)."""

    name: str
    shape: tuple[int, ...]


InputSpec = ValueSpec | RandomSpec


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def parse_shape(text: str, name: str = "") -> tuple[int, ...]:
    """``"3,4"``, ``"(3, 4)"``, ``"3x4"``; ``""`` or ``"()"`` is a scalar.

    >>> parse_shape("3,4"), parse_shape("(2, 5)"), parse_shape("3x4"), parse_shape("")
    ((3, 4), (2, 5), (3, 4), ())
    """
    label = f"--arg {name}" if name else "shape"
    body = text.strip()
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1]
    parts = [p.strip() for p in body.replace("x", ",").split(",")]
    if parts and not parts[-1]:
        parts.pop()  # "(3,)" is a 1-tuple
    if parts == [""]:
        return ()
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise InputSpecError(
            f"{label}: shape {_short(text)} is not comma-separated whole numbers (e.g. shape:3,4)"
        ) from None
    if any(n < 0 for n in shape):
        raise InputSpecError(f"{label}: shape {_short(text)} has a negative length")
    if math.prod(shape) > MAX_ELEMENTS:
        raise InputSpecError(f"{label}: shape {_short(text)} has more than {MAX_ELEMENTS:,} elements")
    return shape


def _as_tree(data: Any, label: str) -> Any:
    """JSON data as floats, float64 arrays and dicts of them; anything else is refused."""
    if isinstance(data, dict):
        return {str(k): _as_tree(v, f"{label}[{k!r}]") for k, v in data.items()}
    if isinstance(data, bool) or data is None or isinstance(data, str):
        raise InputSpecError(f"{label}: {json.dumps(data)} is not a number (give numbers, lists, dicts)")
    if isinstance(data, (int, float)):
        value = float(data)
        if not math.isfinite(value):
            raise InputSpecError(f"{label}: the value must be finite")
        return value
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputSpecError(
            f"{label}: a list must be numbers or equal-length lists of numbers (a rectangular array)"
        ) from None
    if not np.all(np.isfinite(array)):
        raise InputSpecError(f"{label}: every value must be finite")
    return array


def parse_value(text: str, name: str = "") -> Any:
    """A number, a JSON list (an array) or a JSON object (a dict tree).

    >>> parse_value("-2"), parse_value("1e-3")
    (-2.0, 0.001)
    >>> parse_value('{"w": [[1, 2]], "b": 0}')
    {'w': array([[1., 2.]]), 'b': 0.0}
    """
    label = f"--arg {name}" if name else "value"
    body = text.strip()
    try:
        number = float(body)  # also ".5", "1.", which JSON refuses
    except ValueError:
        pass
    else:
        return _as_tree(number, label)
    if body[:1] not in "[{":
        hint = (
            f"write {name or 'NAME'}=shape:{body} for a random array of that shape, "
            f"or {name or 'NAME'}=[{body}] for those values"
            if "," in body or "x" in body
            else "give a number, a [list], a JSON {dict}, or shape:3,4 for a random array"
        )
        raise InputSpecError(f"{label}: {_short(body)} is not a value: {hint}")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at column {exc.colno}"
        raise InputSpecError(f"{label}: {_short(body)} is not valid JSON ({where})") from None
    return _as_tree(data, label)


def parse_arg(text: str) -> InputSpec:
    """One ``--arg``: ``NAME=VALUE`` or ``NAME=shape:DIMS``."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise InputSpecError(f"--arg expects NAME=VALUE or NAME=shape:3,4, got {_short(text)}")
    spec = spec.strip()
    if spec.lower().startswith("shape:"):
        return RandomSpec(name, parse_shape(spec[len("shape:") :], name))
    if not spec:
        raise InputSpecError(f"--arg {name}: no value after '=' (e.g. {name}=0.5 or {name}=shape:3,4)")
    return ValueSpec(name, parse_value(spec, name))


def parse_domain(text: str) -> tuple[str, float, float]:
    """One ``--domain NAME=LOW,HIGH`` (finite, ``LOW < HIGH``)."""
    name, sep, bounds = text.partition("=")
    name = name.strip()
    parts = bounds.strip().strip("()[]").split(",")
    if not sep or not name.isidentifier() or len(parts) != 2:
        raise InputSpecError(f"--domain expects NAME=LOW,HIGH (e.g. x=0.1,2), got {_short(text)}")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputSpecError(f"--domain {name}: {_short(bounds)} is not two numbers LOW,HIGH") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise InputSpecError(f"--domain {name}: need finite LOW < HIGH, got {low:g},{high:g}")
    return name, low, high


def parse_seed(text: str) -> int:
    """``--seed``: a whole number from 0 to 2**32 - 1 (what NumPy's generators accept, portably)."""
    try:
        seed = int(text.strip())
    except ValueError:
        raise InputSpecError(f"--seed: {_short(text)} is not a whole number (e.g. --seed 0)") from None
    if not 0 <= seed < 2**32:
        raise InputSpecError(f"--seed: {seed} is outside 0 to 4294967295")
    return seed


def make_inputs(
    specs: Sequence[InputSpec], domains: Mapping[str, tuple[float, float]], seed: int
) -> list[Any]:
    """The values of ``specs``: given values as they are, random ones uniform in their domain."""
    names = [s.name for s in specs]
    for name in domains:
        if name not in names:
            raise InputSpecError(f"--domain {name}: there is no --arg {name}")
        spec = specs[names.index(name)]
        if isinstance(spec, ValueSpec):
            raise InputSpecError(f"--domain {name}: {name} is given by value; a domain needs {name}=shape:N")
    rng = np.random.default_rng(seed)
    values: list[Any] = []
    for spec in specs:
        if isinstance(spec, ValueSpec):
            values.append(spec.value)
            continue
        low, high = domains.get(spec.name, DEFAULT_DOMAIN)
        drawn = rng.uniform(low, high, size=spec.shape)
        values.append(float(drawn) if spec.shape == () else drawn)
    return values


def order_specs(f: Callable[..., Any], specs: Sequence[InputSpec]) -> list[InputSpec]:
    """The specs in the order of ``f``'s positional parameters when every name is one of them.

    Otherwise they stay in the order given (``f`` may take ``*args``).
    """
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise InputSpecError(f"--arg {spec.name} is given twice")
        seen.add(spec.name)
    try:
        params = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return list(specs)
    if not seen <= set(params):
        return list(specs)
    missing = [p for p in params[: len(specs)] if p not in seen]
    if missing:
        raise InputSpecError(f"no --arg for parameter(s) {', '.join(missing)} of the function")
    return sorted(specs, key=lambda s: params.index(s.name))


def load_function(target: str) -> Callable[..., Any]:
    """Import ``MODULE:FUNCTION``; MODULE is importable (``pkg.mod``) or a ``.py`` file path.

    Raises :class:`InputSpecError` when the target cannot be found; errors raised by
    the module's own code while it is imported propagate.
    """
    module_part, sep, func_part = target.rpartition(":")
    if not sep or not module_part or not func_part:
        raise InputSpecError(f"expected MODULE:FUNCTION (e.g. mymodel.py:loss), got {_short(target)}")
    if module_part.endswith(".py") or os.sep in module_part:
        path = os.path.abspath(module_part)
        if not os.path.isfile(path):
            raise InputSpecError(f"no such file: {module_part}")
        name = "_chainrule_check_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InputSpecError(f"cannot load {module_part} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # as `python -m` does: the user's own modules are found
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_part.startswith(exc.name):
                raise InputSpecError(f"no module named {module_part!r} (from here: {os.getcwd()})") from None
            raise
    obj: Any = module
    for attr in func_part.split("."):
        if not hasattr(obj, attr):
            raise InputSpecError(f"{module_part} has no attribute {func_part!r}")
        obj = getattr(obj, attr)
    if not callable(obj):
        raise InputSpecError(f"{target} is not callable")
    function: Callable[..., Any] = obj
    return function
