"""Registering rules: the functions behind :mod:`chainrule.extend`.

Every write to the dispatch tables goes through here. A rule attaches to the
:class:`~chainrule.engine.core.Primitive` registered for a NumPy function or
ufunc (created on first use, or the engine's own for operators), so the
engine and the rules always share one object per operation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .core import JvpRule, Primitive, Tracer, VjpMaker, apply, primal
from .registry import (
    BATCH_RULES,
    FUNCTION_HANDLERS,
    NONDIFF_REAL_ONLY,
    NONDIFF_UFUNCS,
    UFUNC_PRIMITIVES,
    qualified_name,
)

__all__ = [
    "RULED_PRIMITIVES",
    "defbatch",
    "defcomplex",
    "defjvp",
    "deflinear",
    "defnondiff",
    "defvariadic",
    "defvjp",
    "primitive_for",
    "register_function",
    "register_ufunc",
]

# Every primitive that received a rule through this module, in order (a test checks
# that their names are unique, so a report naming one names exactly one).
RULED_PRIMITIVES: list[Primitive] = []
_ruled_ids: set[int] = set()


def _ruled(prim: Primitive) -> Primitive:
    if id(prim) not in _ruled_ids:
        _ruled_ids.add(id(prim))
        RULED_PRIMITIVES.append(prim)
    return prim


def primitive_for(fun: Any) -> Primitive:
    """The primitive registered for ``fun`` (a ufunc, an array function or a primitive), made if new.

    A new ufunc primitive broadcasts when the ufunc takes several inputs; a
    new array-function primitive is routed to directly (the function's own
    signature is its primitive's).
    """
    if isinstance(fun, Primitive):
        return fun
    if isinstance(fun, np.ufunc):
        prim = UFUNC_PRIMITIVES.get(fun)
        if prim is None:
            prim = Primitive(qualified_name(fun), fun, broadcasts=fun.nin > 1)
            UFUNC_PRIMITIVES[fun] = prim
        return prim
    handler = FUNCTION_HANDLERS.get(fun)
    bound = getattr(handler, "__self__", None)
    if isinstance(bound, Primitive):
        return bound
    prim = Primitive(qualified_name(fun), fun)
    FUNCTION_HANDLERS[fun] = prim.__call__
    return prim


def _positions(count: int, argnums: Iterable[int] | None) -> list[int]:
    return list(range(count)) if argnums is None else list(argnums)


def defvjp(
    fun: Any,
    *makers: VjpMaker | None,
    argnums: Iterable[int] | None = None,
    fresh: bool = False,
) -> Primitive:
    """Register reverse-mode rules for a NumPy function, ufunc or :class:`Primitive`.

    Each maker has the signature ``maker(ans, *args, **kwargs) -> (g -> cotangent)``
    and belongs to the argument in the same position (or in ``argnums``).
    ``None`` declares a zero cotangent. Write the inner function with NumPy
    operations so that it can itself be differentiated. ``fresh`` declares
    that every cotangent the primitive's rules return is a new array nothing
    else refers to (the sweep may then add into it in place); leave it False
    if a rule can return ``g`` itself, a view, or a value it keeps.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cube = cr.Primitive("cube", lambda x: x ** 3)
    >>> _ = cr.defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)
    >>> float(cr.grad(lambda x: cube(x))(2.0))
    12.0
    """
    prim = primitive_for(fun)
    for i, maker in zip(_positions(len(makers), argnums), makers, strict=True):
        prim.vjp_makers[i] = maker
    prim.fresh_cotangents = fresh
    return _ruled(prim)


def defjvp(fun: Any, *rules: JvpRule | None, argnums: Iterable[int] | None = None) -> Primitive:
    """Register forward-mode rules ``rule(t, ans, *args, **kwargs) -> tangent contribution``.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cube = cr.Primitive("cube3", lambda x: x ** 3)
    >>> _ = cr.defjvp(cube, lambda t, ans, x: t * 3 * x ** 2)
    >>> float(cr.jvp(cube, (2.0,), (1.0,))[1])
    12.0
    """
    prim = primitive_for(fun)
    for i, rule in zip(_positions(len(rules), argnums), rules, strict=True):
        prim.jvp_rules[i] = rule
    return _ruled(prim)


def deflinear(fun: Any, *makers: VjpMaker | None, argnums: Iterable[int] | None = None) -> Primitive:
    """Rules of a function linear in the given arguments: the reverse rules given, the forward rules implied.

    For a function ``f`` that is linear (not affine) in argument ``i`` when the
    others are held fixed, the tangent of the output is ``f`` applied with the
    tangent in place of argument ``i``. So one reverse rule (the transpose)
    gives both directions.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> double = cr.Primitive("double", lambda x: 2.0 * x)
    >>> _ = cr.extend.deflinear(double, lambda ans, x: lambda g: 2.0 * g)
    >>> float(cr.grad(double)(1.0)), float(cr.jvp(double, (1.0,), (3.0,))[1])
    (2.0, 6.0)
    """
    prim = defvjp(fun, *makers, argnums=argnums)
    positions = _positions(len(makers), argnums)
    for i, maker in zip(positions, makers):
        prim.jvp_rules[i] = None if maker is None else _same_function(prim, i)
    return prim


def _same_function(prim: Primitive, i: int) -> JvpRule:
    def tangent(t: Any, ans: Any, *args: Any, **kwargs: Any) -> Any:
        moved = list(args)
        moved[i] = t
        return apply(prim, tuple(moved), kwargs)

    return tangent


def defvariadic(fun: Any, vjp: Callable[..., Any] | None, jvp: Callable[..., Any] | None) -> Primitive:
    """Rules of a primitive taking any number of arguments (``concatenate``, ``stack``, ``einsum``).

    Each rule is called once per application, with the positions of all the
    traced arguments, so that stacking ``n`` traced values costs ``O(n)``
    (a rule called once per traced argument with all ``n`` arguments was
    ``O(n**2)``):

    * ``vjp(argnums, ans, *args, **kwargs)`` returns one ``g -> cotangent``
      function (or ``None`` for a zero cotangent) per position in ``argnums``;
    * ``jvp(argnums, tangents, ans, *args, **kwargs)`` returns the output's
      tangent for those tangents (or ``None``).
    """
    prim = primitive_for(fun)
    if prim.broadcasts:
        raise ValueError(f"defvariadic: {prim.name} broadcasts; variadic rules handle shapes themselves")
    prim.joint_vjp = vjp
    prim.joint_jvp = jvp
    prim.fresh_cotangents = False
    return _ruled(prim)


def defnondiff(*funs: Any, real_only: bool = False) -> None:
    """Declare ufuncs or array functions whose results carry no derivative (piecewise constant).

    They run on the plain values of their arguments and return plain values.
    Only for functions whose output is piecewise constant in every float
    argument (comparisons, rounding, integer results); a function with a
    non-zero derivative declared here would give silently wrong gradients.
    ``real_only`` (ufuncs): piecewise constant for real arguments only, so a
    complex argument is refused (``np.sign(z)`` is ``z / |z|``).
    """
    for fun in funs:
        if isinstance(fun, np.ufunc):
            NONDIFF_UFUNCS.add(fun)
            if real_only:
                NONDIFF_REAL_ONLY.add(fun)
        else:
            FUNCTION_HANDLERS[fun] = _on_plain_values(fun)


def _on_plain_values(func: Any) -> Callable[..., Any]:
    def plain(x: Any) -> Any:
        if isinstance(x, list | tuple):
            return type(x)(primal(v) for v in x)
        return primal(x)

    def run(*args: Any, **kwargs: Any) -> Any:
        plain_args = [plain(a) for a in args]
        plain_kwargs = {k: plain(v) for k, v in kwargs.items()}
        newest = None
        for v in (*plain_args, *plain_kwargs.values()):  # a batched value stays traced (vmap)
            for w in v if type(v) is list or type(v) is tuple else (v,):
                if type(w) is Tracer and (newest is None or w._trace.level > newest.level):
                    newest = w._trace
        if newest is not None:
            return newest.call(func, tuple(plain_args), plain_kwargs)
        return func(*plain_args, **plain_kwargs)

    run.__name__ = getattr(func, "__name__", "nondiff")
    run.nondiff = True  # type: ignore[attr-defined]  # read by scripts/coverage_manifest.py
    return run


def defcomplex(*funs: Any) -> None:
    """Declare the rules of these primitives (or ufuncs, array functions) right for complex values.

    Under JAX's convention: the reverse rule of a holomorphic function is
    ``g * f'(z)`` (no conjugate), the transpose of its forward rule for the
    pairing ``Re(sum(g * t))``. Until declared, a primitive meeting a complex
    value is refused. Test the rules with ``check_rule(..., dtype=np.complex128)``.
    """
    for fun in funs:
        primitive_for(fun).supports_complex = True


def register_function(func: Any, handler: Callable[..., Any]) -> None:
    """Route ``func`` (a NumPy array function) to ``handler`` when it sees a traced value.

    The handler normalizes the user's call (defaults, keyword names, refusals
    of ``out=``) and applies primitives.
    """
    FUNCTION_HANDLERS[func] = handler


def register_ufunc(ufunc: np.ufunc, prim: Primitive) -> None:
    """Route calls of ``ufunc`` to ``prim`` (for a ufunc whose primitive is made by hand)."""
    UFUNC_PRIMITIVES[ufunc] = prim


def parameter_names(fun: Callable[..., Any]) -> Sequence[str]:
    """The names of ``fun``'s positional parameters (used by the family helpers)."""
    return [
        p.name
        for p in inspect.signature(fun).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def defbatch(fun: Any, rule: Callable[..., Any], family: str = "rule") -> Primitive:
    """Register the batching rule of a primitive for ``chainrule.vmap``.

    ``rule(size, prim, values, batched, kwargs)`` gets the call's arguments with
    each batched one (``batched[i]``) replaced by its data, whose axis 0 is the
    batch axis of length ``size``; it returns the result's data, batch axis
    first. It applies primitives (``chainrule.extend.apply``-style calls of
    NumPy functions), never implementations, so outer traces record the call.
    ``family`` names the rule in docs/coverage.md. A primitive without a rule
    is batched by a loop over the examples (correct, slow).

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> twice = cr.Primitive("twice", lambda x: 2.0 * x)
    >>> _ = cr.extend.defbatch(twice, lambda size, prim, values, batched, kwargs: prim(*values))
    >>> cr.vmap(twice)(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    prim = primitive_for(fun)
    rule.family = family  # type: ignore[attr-defined]  # read by rule_kind (coverage column)
    BATCH_RULES[prim] = rule
    return prim
