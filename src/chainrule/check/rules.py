"""Checking derivative rules against finite differences: for rule authors and their tests.

:func:`check_derivatives` compares reverse mode (``vjp``) and forward mode
(``jvp``) with :mod:`chainrule.numerical`'s fourth-order central difference
along random directions (numerical is the only source of finite differences
in chainrule), and recurses
for higher orders: at order 2 it checks the derivative of ``x -> u^T J(x)``
(reverse over reverse) and of ``x -> J(x) v`` (forward over forward), which
exercises every rule's own rule.

:func:`check_rule` sweeps one function or :class:`~chainrule.Primitive`
over a table of input shapes (broadcasting pairs for functions that
broadcast), every order and every combination of modes, and names the shapes,
order and modes of the first disagreement.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import numerical
from ..derivatives import jvp, vjp
from ..engine import ForwardTrace, Primitive, ReverseTrace, Tracer, qualified_name, reverse_sweep, trace_scope
from ..pytree import tree_flatten, tree_unflatten

__all__ = ["BROADCAST_PAIRS", "check_derivatives", "check_rule"]


def _vdot(a: Any, b: Any) -> float:
    """``Re(sum(a * b))`` over the leaves: the pairing of a cotangent with a tangent.

    No conjugate: under JAX's convention, which chainrule follows, the reverse
    rule of a holomorphic ``f`` is ``g * f'(z)``, the transpose of ``t ->
    f'(z) t`` for this (real, bilinear) pairing. For real arrays it is the dot
    product.
    """
    la, _ = tree_flatten(a)
    lb, _ = tree_flatten(b)
    return float(sum(np.real(np.sum(_as_exact(x) * _as_exact(y))) for x, y in zip(la, lb)))


def _as_exact(x: Any) -> np.ndarray:
    """``x`` in double precision, complex kept complex."""
    return np.asarray(x, dtype=np.complex128 if np.iscomplexobj(x) else np.float64)


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    leaves, treedef = tree_flatten(tree)
    out = []
    for x in leaves:
        r = rng.standard_normal(np.shape(x))
        if np.iscomplexobj(x):
            r = r + 1j * rng.standard_normal(np.shape(x))
        out.append(r.astype(np.result_type(x, np.float32)))
    return tree_unflatten(treedef, out)


def _numeric_directional(f: Callable[..., Any], args: Sequence[Any], v: Sequence[Any], h: float) -> Any:
    """The fourth-order central difference of ``f`` at ``args`` along ``v``, one array per output leaf."""
    shapes: list[tuple[int, ...]] = []
    kinds: list[bool] = []

    def flat(*xs: Any) -> np.ndarray:
        leaves = tree_flatten(f(*xs))[0]
        shapes[:] = [np.shape(leaf) for leaf in leaves]
        kinds[:] = [np.iscomplexobj(leaf) for leaf in leaves]
        return np.concatenate([np.ravel(_as_exact(leaf)) for leaf in leaves])

    d = np.asarray(numerical.directional(flat, tuple(args), tuple(v), method="central4", step=h))
    out, start = [], 0
    for shape, is_complex in zip(shapes, kinds):
        size = int(np.prod(shape))
        piece = d[start : start + size].reshape(shape)
        out.append(piece if is_complex else np.real(piece))
        start += size
    return out


def check_derivatives(
    f: Callable[..., Any],
    *args: Any,
    order: int = 2,
    modes: Sequence[str] = ("rev", "fwd"),
    h: float = 1e-3,
    rtol: float = 1e-6,
    atol: float = 1e-7,
    seed: int = 0,
) -> None:
    """Assert that ``f``'s derivatives up to ``order`` match finite differences.

    ``args`` are float or complex arrays (all differentiated); ``f`` may
    return any pytree of arrays. A complex argument is perturbed in complex
    directions (real and imaginary parts at once), and the pairing of a
    cotangent ``u`` with a tangent is ``Re(sum(u * t))``, JAX's convention.
    Random directions ``v`` (inputs) and ``u`` (outputs)
    give one scalar per mode, ``u . J v``, compared with the numerical value
    to ``atol + rtol * scale``. Raises ``AssertionError`` naming the order and
    mode that disagree.

    Examples
    --------
    >>> import numpy as np
    >>> check_derivatives(lambda x, y: np.sin(x) * y, np.array([0.3, 1.2]), np.array([[2.0], [0.5]]))
    """
    rng = np.random.default_rng(seed)
    args = tuple(_as_exact(a) for a in args)
    v = _random_like(list(args), rng)
    out = f(*args)
    u = _random_like(out, rng)
    u_leaves = tree_flatten(u)[0]
    numeric = _numeric_directional(f, args, v, h)
    expected = _vdot(u_leaves, numeric)
    scale = float(sum(np.sum(np.abs(ui * ni)) for ui, ni in zip(u_leaves, numeric))) + 1.0
    for mode in modes:
        if mode == "rev":
            _, vjp_fn = vjp(f, *args)
            got = _vdot(vjp_fn(u), v)
        elif mode == "fwd":
            _, tangent = jvp(f, tuple(args), tuple(v))
            got = _vdot(u, tangent)
        else:
            raise ValueError(f"unknown mode {mode!r}; use 'rev' and/or 'fwd'")
        if not abs(got - expected) <= atol + rtol * scale:
            raise AssertionError(
                f"order-1 {mode}-mode derivative of {getattr(f, '__name__', f)} disagrees with "
                f"finite differences: u.Jv = {got!r} by {mode}, {expected!r} numerically "
                f"(difference {abs(got - expected):.3g}, tolerance {atol + rtol * scale:.3g})"
            )
    if order > 1:
        for mode in modes:
            first = _derivative_of(f, mode, u, v)
            check_derivatives(
                first, *args, order=order - 1, modes=modes, h=h, rtol=rtol, atol=atol, seed=seed + 1
            )


Shape = tuple[int, ...]

UNARY_SHAPES: list[tuple[Shape, ...]] = [((),), ((4,),), ((2, 3),)]
"""The default shapes of a one-argument function."""

BROADCAST_PAIRS: list[tuple[Shape, Shape]] = [
    ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2)), ((4, 1, 3), (2, 1)),
]  # fmt: skip
"""The default shapes of a two-argument function that broadcasts."""

SAME_SHAPES: list[Shape] = [(), (4,), (2, 3)]
"""The default shapes (all arguments alike) of a function that does not broadcast."""


def _rule_name(fun: Any) -> str:
    if isinstance(fun, Primitive):
        return fun.name
    if isinstance(fun, np.ufunc):
        return qualified_name(fun)
    return getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)


def _infer_nargs(fun: Any, nargs: int | None, shapes: Any, name: str) -> int:
    if nargs is not None:
        return int(nargs)
    impl = fun.impl if isinstance(fun, Primitive) else fun
    if isinstance(impl, np.ufunc):
        return impl.nin
    if shapes is not None and len(shapes) and not _is_shape(shapes[0]):
        return len(shapes[0])
    raise TypeError(
        f"check_rule({name}) cannot tell how many arguments {name} takes: pass nargs= "
        "(only ufuncs say it themselves, through .nin), or shapes= as tuples of shapes."
    )


def _is_shape(s: Any) -> bool:
    return isinstance(s, tuple) and all(isinstance(n, int | np.integer) for n in s)


def _broadcasts(fun: Any, call: Callable[..., Any], nargs: int, rng: np.random.Generator) -> bool:
    """Whether ``fun`` broadcasts its arguments: declared, or observed on one call."""
    if nargs < 2:
        return False
    impl = fun.impl if isinstance(fun, Primitive) else fun
    if isinstance(impl, np.ufunc) or (isinstance(fun, Primitive) and fun.broadcasts):
        return True
    # Not declared: try it. A rule registered without broadcasts=True whose
    # implementation broadcasts is exactly the bug the broadcasting table finds.
    a, b = BROADCAST_PAIRS[1]
    try:
        with np.errstate(all="ignore"):
            out = call(*[rng.uniform(0.5, 1.0, a if i % 2 == 0 else b) for i in range(nargs)])
    except Exception:
        return False
    return isinstance(out, np.ndarray) and out.shape == np.broadcast_shapes(a, b)


def _shape_table(shapes: Any, nargs: int, broadcasting: bool) -> list[tuple[Shape, ...]]:
    if shapes is None:
        if nargs == 1:
            return list(UNARY_SHAPES)
        if broadcasting:
            return [tuple(pair[i % 2] for i in range(nargs)) for pair in BROADCAST_PAIRS]
        return [(s,) * nargs for s in SAME_SHAPES]
    table = []
    for case in shapes:
        if nargs == 1 and _is_shape(case):
            case = (case,)
        case = tuple(tuple(int(n) for n in s) for s in case)
        if len(case) != nargs:
            raise ValueError(f"shapes= case {case} has {len(case)} shapes for {nargs} argument(s)")
        table.append(case)
    return table


def _domains(domain: Any, nargs: int) -> list[tuple[float, float]]:
    if len(domain) == 2 and all(isinstance(d, int | float | np.number) for d in domain):
        return [(float(domain[0]), float(domain[1]))] * nargs
    if len(domain) != nargs:
        raise ValueError(f"domain= needs one (low, high) pair, or one per argument ({nargs}); got {domain!r}")
    return [(float(lo), float(hi)) for lo, hi in domain]


def _check_structure(
    call: Callable[..., Any], args: Sequence[np.ndarray], mode: str, rng: np.random.Generator
) -> None:
    """The rule's raw cotangents have the arguments' shapes, its tangents the output's.

    ``vjp`` and ``jvp`` coerce shapes for the user, which would hide a rule
    that forgets to undo broadcasting; this looks one level below them.
    """
    if mode == "rev":
        with trace_scope(ReverseTrace()) as trace:
            leaves = [trace.leaf(a) for a in args]
            outs = tree_flatten(call(*leaves))[0]
            seeds = [(o._node, _random_like(o._value, rng)) for o in outs if type(o) is Tracer]
            adjoint = reverse_sweep(trace, seeds)
        for i, (a, leaf) in enumerate(zip(args, leaves)):
            c = adjoint.get(leaf._node)
            if c is not None and np.shape(c) != a.shape:
                raise AssertionError(
                    f"the reverse rule gives argument {i} (shape {a.shape}) a cotangent of shape "
                    f"{np.shape(c)}: it does not sum over the broadcast axes (declare the "
                    "Primitive with broadcasts=True, or unbroadcast in the rule)"
                )
            if c is not None and np.iscomplexobj(c) and not np.iscomplexobj(a):
                raise AssertionError(
                    f"the reverse rule gives the real argument {i} a complex cotangent "
                    f"(dtype {np.result_type(c)}): it must be real (its real part)"
                )
    else:
        with trace_scope(ForwardTrace()) as ftrace:
            leaves = [ftrace.leaf(a, _random_like(a, rng)) for a in args]
            outs = tree_flatten(call(*leaves))[0]
        for k, o in enumerate(outs):
            if type(o) is Tracer and np.shape(o._tangent) != o.shape:
                raise AssertionError(
                    f"the forward rule gives output {k} (shape {o.shape}) a tangent of shape "
                    f"{np.shape(o._tangent)}: it does not broadcast the tangents (declare the "
                    "Primitive with broadcasts=True, or broadcast in the rule)"
                )
            if type(o) is Tracer and np.iscomplexobj(o._tangent) and not np.iscomplexobj(o._value):
                raise AssertionError(f"the forward rule gives the real output {k} a complex tangent")


def _derivative_of(f: Callable[..., Any], mode: str, u: Any, v: Sequence[Any]) -> Callable[..., Any]:
    """``x -> u^T J_f(x)`` (rev) or ``x -> J_f(x) v`` (fwd), whose derivative is f's next order."""
    if mode == "rev":

        def first(*xs: Any) -> Any:
            return vjp(f, *xs)[1](u)

    else:

        def first(*xs: Any) -> Any:
            return jvp(f, tuple(xs), tuple(v))[1]

    first.__name__ = f"{mode} derivative of {getattr(f, '__name__', 'f')}"
    return first


def check_rule(
    fun: Any,
    *,
    domain: Sequence[float] | Sequence[Sequence[float]] = (-2.0, 2.0),
    shapes: Sequence[Any] | None = None,
    nargs: int | None = None,
    kwargs: dict[str, Any] | None = None,
    orders: Sequence[int] = (1, 2),
    modes: Sequence[str] = ("rev", "fwd"),
    seed: int = 0,
    args_factory: Callable[[np.random.Generator, tuple[Shape, ...]], Sequence[Any]] | None = None,
    h: float = 5e-4,
    rtol: float = 1e-6,
    atol: float = 1e-7,
    dtype: Any = np.float64,
) -> None:
    """Exercise the derivative rules of a NumPy function, ufunc or :class:`Primitive`.

    For every case of a table of input shapes, draws random float64 inputs
    and checks, with :func:`check_derivatives`, every order in ``orders`` and every
    combination of ``modes`` (at order 2: rev-over-rev, fwd-over-rev,
    rev-over-fwd, fwd-over-fwd). Before the numerical comparison it checks
    that the reverse rules return cotangents of the arguments' shapes and the
    forward rules tangents of the output's, which catches a rule that does not
    undo broadcasting even where the numbers would agree.

    Parameters
    ----------
    fun
        A ufunc, a NumPy function or a :class:`~chainrule.Primitive`,
        called as ``fun(*args, **kwargs)``.
    domain
        ``(low, high)`` of the uniform random inputs, or one such pair per
        argument.
    shapes
        The table of cases, each a tuple of one shape per argument (for one
        argument, plain shapes are accepted). By default: ``()``, ``(4,)``,
        ``(2, 3)`` for one argument; for a function that broadcasts (a ufunc,
        a Primitive declared ``broadcasts=True``, or any function that accepts
        shapes ``(2, 3)`` and ``(3,)`` and returns ``(2, 3)``) the pairs
        ``((3,), (3,))``, ``((2, 3), (3,))``, ``((2, 1), (1, 4))``,
        ``((), (2, 2))``, ``((4, 1, 3), (2, 1))``; otherwise equal shapes.
    nargs
        The number of (differentiated) positional arguments; inferred from
        ``fun.nin`` for ufuncs (or from ``shapes``), required otherwise.
    kwargs
        Keyword arguments passed to every call (not differentiated).
    orders
        The derivative orders to check (1, 2, ...).
    modes
        "rev" and/or "fwd".
    seed
        Seed of the inputs and of the random directions.
    args_factory
        ``args_factory(rng, shapes) -> args`` draws the inputs of one case
        instead of ``domain`` (for inputs with structure, e.g. positive
        definite matrices).
    dtype
        ``np.float64`` (default) or ``np.complex128``: complex inputs have real
        and imaginary parts drawn from ``domain``, and are perturbed in
        complex directions (checking JAX's convention, see ``docs/guide/complex.md``).
    h, rtol, atol
        Passed to :func:`check_derivatives`. The step is smaller than its default:
        the fourth-order difference's truncation error (about ``h**4`` times
        the fifth derivative) dominates near singularities (``arctanh`` near
        ``±1`` at order 2), and its rounding error stays far below ``rtol``.

    Raises
    ------
    AssertionError
        Naming the function, the shapes, the order and the mode(s) of the
        first failing case; the underlying error is chained.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> check_rule(np.hypot, domain=((0.5, 2.0), (-2.0, -0.5)))
    >>> cube = cr.Primitive("cube", lambda x: x ** 3)
    >>> _ = cr.defvjp(cube, lambda ans, x: lambda g: g * 3.0 * x**2)
    >>> _ = cr.defjvp(cube, lambda t, ans, x: t * 3.0 * x**2)
    >>> check_rule(cube, nargs=1)
    >>> wrong = cr.Primitive("wrong_cube", lambda x: x ** 3)
    >>> _ = cr.defvjp(wrong, lambda ans, x: lambda g: g * 2.0 * x**2)
    >>> check_rule(wrong, nargs=1, modes=("rev",))
    Traceback (most recent call last):
    ...
    AssertionError: check_rule(wrong_cube): order-1 rev-mode check failed at shapes ((),): ...
    """
    name = _rule_name(fun)
    modes = tuple(modes)
    for m in modes:
        if m not in ("rev", "fwd"):
            raise ValueError(f"unknown mode {m!r}; use 'rev' and/or 'fwd'")
    kw = dict(kwargs or {})

    def call(*xs: Any) -> Any:
        return fun(*xs, **kw)

    call.__name__ = name
    kind = np.dtype(dtype)
    if kind not in (np.dtype(np.float64), np.dtype(np.complex128)):
        raise ValueError(f"check_rule: dtype must be np.float64 or np.complex128, not {kind}")
    complex_inputs = kind.kind == "c"
    nargs = _infer_nargs(fun, nargs, shapes, name)
    rng = np.random.default_rng(seed)
    table = _shape_table(shapes, nargs, _broadcasts(fun, call, nargs, rng))
    bounds = _domains(domain, nargs)
    for case in table:
        if args_factory is not None:
            args = tuple(np.asarray(a, dtype=kind) for a in args_factory(rng, case))
        else:
            args = tuple(rng.uniform(lo, hi, size=s) for s, (lo, hi) in zip(case, bounds))
            if complex_inputs:
                imag = [rng.uniform(lo, hi, size=s) for s, (lo, hi) in zip(case, bounds)]
                args = tuple(a + 1j * b for a, b in zip(args, imag))
        v = _random_like(list(args), rng)
        try:
            call(*args)
        except Exception as exc:
            raise AssertionError(f"check_rule({name}): calling it at shapes {case} raised {exc!r}") from exc
        for order in sorted(orders):
            for chain in itertools.product(modes, repeat=order):
                # chain[0] is the innermost mode; the last is checked numerically.
                label = "-over-".join(reversed(chain))
                f = call
                try:
                    if order == 1:
                        _check_structure(call, args, chain[0], rng)
                    for m in chain[:-1]:
                        f = _derivative_of(f, m, _random_like(f(*args), rng), v)
                    check_derivatives(
                        f, *args, order=1, modes=(chain[-1],), h=h, rtol=rtol, atol=atol, seed=seed + order
                    )
                except Exception as exc:
                    raise AssertionError(
                        f"check_rule({name}): order-{order} {label}-mode check failed at shapes "
                        f"{case}: {type(exc).__name__}: {exc}"
                    ) from exc
