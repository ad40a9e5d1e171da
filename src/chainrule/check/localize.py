"""Finding the wrong rule: each recorded primitive's rules against finite differences.

For every node the function created (in creation order) and every traced
argument ``i``, a random input direction ``v`` and output cotangent ``g`` give
two numbers that must agree:

* reverse rule: ``<vjp_i(g), v>`` against ``<g, (impl(x + h v) - impl(x - h v)) / 2h>``;
* forward rule: ``<g, jvp_i(v)>`` against the same finite difference.

All values are upcast to float64 (complex128) first, so the comparison is tight. A node
whose one-sided differences disagree is at a kink and is skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import numerical
from ..engine import cotangent_functions, output_tangent
from .recording import Record
from .report import Culprit
from .rules import check_derivatives

__all__ = ["first_wrong_rule"]

RTOL = 1e-6


def _upcast(x: Any) -> Any:
    if isinstance(x, np.ndarray | np.generic | float | complex) and np.issubdtype(
        np.result_type(x), np.inexact
    ):
        return np.asarray(x, dtype=np.result_type(x, np.float64))
    return x


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray | np.generic | float | complex) and np.issubdtype(
        np.result_type(x), np.inexact
    )


def _vdot(a: Any, b: Any) -> float:
    """``Re(sum(a * b))``: the pairing of a cotangent and a tangent (JAX's convention, no conjugate)."""
    return float(np.real(np.sum(np.asarray(a, np.complex128) * np.asarray(b, np.complex128))))


def _random(like: Any, rng: np.random.Generator) -> np.ndarray:
    """A random direction shaped like ``like``: complex (both parts random) for a complex value."""
    r: np.ndarray = rng.standard_normal(np.shape(like))
    if np.iscomplexobj(like):
        r = r + 1j * rng.standard_normal(np.shape(like))
    return r


def _check_node(rec: Record, modes: tuple[str, ...], rng: np.random.Generator) -> Culprit | None:
    prim = rec.prim
    raw = [_upcast(a) for a in rec.raw]
    kwargs = rec.kwargs
    if not _is_array(rec.ans):
        return None
    ans = prim.impl(*raw, **kwargs)
    g = _random(ans, rng)
    for i in rec.traced:
        if not _is_array(raw[i]):
            continue
        shape = np.shape(raw[i])
        v = _random(raw[i], rng)

        def at(a: Any, i: int = i) -> Any:
            args = list(raw)
            args[i] = a
            return prim.impl(*args, **kwargs)

        try:
            est = numerical.directional(at, (raw[i],), (v,), method="central4", return_estimate=True)
            fwd = numerical.directional(at, (raw[i],), (v,), method="forward")
            bwd = numerical.directional(at, (raw[i],), (v,), method="backward")
        except (FloatingPointError, ValueError, TypeError):
            continue
        expected = _vdot(g, est.value)
        scale = np.sqrt(np.sum(np.abs(np.asarray(est.value)) ** 2)) * np.sqrt(g.size) + abs(expected)
        tol = RTOL * scale + 3.0 * _vdot(np.abs(g), est.error) + 1e-12
        one_sided = abs(_vdot(g, fwd) - _vdot(g, bwd))
        if one_sided > 1e-3 * (scale + 1e-12):
            continue  # at a kink: the one-sided derivatives differ, no rule is "the" derivative
        if "rev" in modes:
            # The same function the reverse trace uses (broadcasting undone there).
            functions = cotangent_functions(prim, raw, kwargs, [i])
            ct = functions[0][1](g) if functions else np.zeros(shape)
            if np.shape(ct) != shape:
                return Culprit(prim.name, i, "reverse rule", rec.call_site, float("nan"), expected,
                               f"it returned a cotangent of shape {np.shape(ct)} for an argument of "
                               f"shape {shape}")  # fmt: skip
            got = _vdot(ct, v)
            if not abs(got - expected) <= tol:
                return Culprit(prim.name, i, "reverse rule", rec.call_site, got, expected,
                               f"<g, J v> with random g, v; tolerance {tol:.3g}")  # fmt: skip
        if "fwd" in modes:
            t = output_tangent(prim, raw, kwargs, [i], [v])
            if t is None:
                t = np.zeros(np.shape(ans))
            got = _vdot(g, np.broadcast_to(t, np.shape(ans)))
            if not abs(got - expected) <= tol:
                return Culprit(prim.name, i, "forward rule", rec.call_site, got, expected,
                               f"<g, J v> with random g, v; tolerance {tol:.3g}")  # fmt: skip
    return None


def _check_node_second_order(rec: Record, modes: tuple[str, ...], seed: int) -> Culprit | None:
    """The rules' own derivatives at the recorded values: ``check_derivatives`` at order 2.

    A rule can be right at first order and still not be differentiable (it reads a
    value through ``primal``, or calls something without a rule): then every
    first-order check passes and only its derivative is wrong.
    """
    prim = rec.prim
    raw = [_upcast(a) for a in rec.raw]
    floats = [i for i in rec.traced if _is_array(raw[i])]
    if not floats or not _is_array(rec.ans):
        return None

    def node(*xs: Any) -> Any:
        args = list(raw)
        for i, x in zip(floats, xs):
            args[i] = x
        return prim(*args, **rec.kwargs)

    node.__name__ = prim.name
    try:
        check_derivatives(
            node, *[raw[i] for i in floats], order=2, modes=modes, rtol=1e-5, atol=1e-7, seed=seed
        )
    except AssertionError as exc:
        return Culprit(prim.name, floats[0], "rule's derivative", rec.call_site, float("nan"), float("nan"),
                       str(exc).splitlines()[0])  # fmt: skip
    except (FloatingPointError, ValueError, TypeError):
        return None
    return None


def first_wrong_rule(
    records: list[Record], modes: tuple[str, ...] = ("rev",), seed: int = 0, order: int = 1
) -> tuple[Culprit | None, str]:
    """The first recorded primitive whose rule disagrees, and a sentence on what was checked.

    With ``order=2``, when every rule is right at first order, the rules' own
    derivatives are checked too (second-order failures come from there).
    """
    rng = np.random.default_rng(seed)
    checked = 0
    for rec in records:
        try:
            culprit = _check_node(rec, modes, rng)
        except Exception as exc:  # a rule that crashes is a wrong rule too
            return Culprit(rec.prim.name, -1, "rule", rec.call_site, float("nan"), float("nan"),
                           f"it raised {type(exc).__name__}: {exc}"), ""  # fmt: skip
        checked += 1
        if culprit is not None:
            return culprit, ""
    if order >= 2:
        for rec in records:
            if _check_node(rec, modes, rng) is None and _at_kink(rec, rng):
                continue
            try:
                culprit = _check_node_second_order(rec, modes, seed)
            except Exception as exc:  # the rule's derivative crashed
                return Culprit(rec.prim.name, -1, "rule's derivative", rec.call_site, float("nan"),
                               float("nan"), f"it raised {type(exc).__name__}: {exc}"), ""  # fmt: skip
            if culprit is not None:
                return culprit, ""
    return None, (
        f"every one of the {checked} recorded primitive rules agrees with finite differences at "
        "the values it saw; the mismatch comes from outside the recorded rules (a function that "
        "is not a composition of traced operations, e.g. one that reads a value through "
        "chainrule.primal or a global, or a kink)."
    )


def _at_kink(rec: Record, rng: np.random.Generator) -> bool:
    """Whether one-sided differences of the node disagree (no second derivative to check)."""
    raw = [_upcast(a) for a in rec.raw]
    for i in rec.traced:
        if not _is_array(raw[i]):
            continue
        v = _random(raw[i], rng)

        def at(a: Any, i: int = i) -> Any:
            args = list(raw)
            args[i] = a
            return rec.prim.impl(*args, **rec.kwargs)

        try:
            fwd = numerical.directional(at, (raw[i],), (v,), method="forward")
            bwd = numerical.directional(at, (raw[i],), (v,), method="backward")
        except (FloatingPointError, ValueError, TypeError):
            return True
        scale = float(np.linalg.norm(np.ravel(fwd))) + 1e-12
        if float(np.linalg.norm(np.ravel(np.asarray(fwd) - np.asarray(bwd)))) > 1e-3 * scale:
            return True
    return False
