"""``check_rule_jit``: a rule staged by ``chainrule.jit`` computes what it computes eagerly.

The rule tests check each rule against finite differences (:func:`~.rules.check_rule`);
this checks, over the same table of shapes, that the code ``chainrule.jit``
stages for the function, its reverse-mode derivative and its forward-mode
derivative gives the eager results. Each case is staged on one draw and
compared on a second, so the staged code runs, not the staging run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..derivatives import jvp, vjp
from ..jit.api import jit
from ..pytree import tree_flatten
from .rules import Shape, _broadcasts, _domains, _infer_nargs, _random_like, _rule_name, _shape_table

__all__ = ["check_rule_jit"]


def _same(got: Any, want: Any, what: str, rtol: float) -> None:
    g, gdef = tree_flatten(got)
    w, wdef = tree_flatten(want)
    if gdef != wdef:
        raise AssertionError(f"{what}: the staged code returned {gdef}, the function {wdef}")
    for a, b in zip(g, w):
        if np.result_type(a) != np.result_type(b) or np.shape(a) != np.shape(b):
            raise AssertionError(
                f"{what}: staged {np.result_type(a)} {np.shape(a)}, eager {np.result_type(b)} {np.shape(b)}"
            )
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=what)


def check_rule_jit(
    fun: Any,
    *,
    domain: Sequence[float] | Sequence[Sequence[float]] = (-2.0, 2.0),
    shapes: Sequence[Any] | None = None,
    nargs: int | None = None,
    kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    args_factory: Callable[[np.random.Generator, tuple[Shape, ...]], Sequence[Any]] | None = None,
    rtol: float = 1e-13,
) -> None:
    """Check that ``chainrule.jit`` of ``fun``, of its VJP and of its JVP equal the eager calls.

    The parameters are those of :func:`~chainrule.check.check_rule` (the same
    shape tables and domains), so a rule's test can run both on one table.

    Raises
    ------
    AssertionError
        Naming the function, the shapes and what differed.

    Examples
    --------
    >>> import numpy as np
    >>> check_rule_jit(np.hypot, domain=((0.5, 2.0), (-2.0, -0.5)))
    >>> check_rule_jit(lambda x: np.sort(x)[::-1], nargs=1, shapes=[(5,)])
    """
    name = _rule_name(fun)
    kw = dict(kwargs or {})

    def call(*xs: Any) -> Any:
        return fun(*xs, **kw)

    call.__name__ = name
    nargs = _infer_nargs(fun, nargs, shapes, name)
    rng = np.random.default_rng(seed)
    table = _shape_table(shapes, nargs, _broadcasts(fun, call, nargs, rng))
    bounds = _domains(domain, nargs)
    for case in table:

        def draw(case: tuple[Shape, ...] = case) -> tuple[np.ndarray, ...]:
            if args_factory is not None:
                return tuple(np.asarray(a, dtype=np.float64) for a in args_factory(rng, case))
            return tuple(rng.uniform(lo, hi, size=s) for s, (lo, hi) in zip(case, bounds))

        first = draw()
        with np.errstate(all="ignore"):
            u = _random_like(call(*first), rng)
        v = tuple(rng.standard_normal(a.shape) for a in first)

        def backward(*xs: Any, u: Any = u) -> Any:
            out, pullback = vjp(call, *xs)
            return out, pullback(u)

        def forward(*xs: Any, v: Any = v) -> Any:
            return jvp(call, xs, v)

        staged = [(what, f, jit(f)) for what, f in (("value", call), ("vjp", backward), ("jvp", forward))]
        for args in (first, draw()):
            for what, f, jf in staged:
                label = f"check_rule_jit({name}): {what} at shapes {case}"
                try:
                    with np.errstate(all="ignore"):
                        want = f(*args)
                    got = jf(*args)
                except Exception as exc:
                    raise AssertionError(f"{label} raised {type(exc).__name__}: {exc}") from exc
                _same(got, want, label, rtol)
            if any(jf.eager_calls for _, _, jf in staged):
                raise AssertionError(f"check_rule_jit({name}): at shapes {case} the staged code was not run")
