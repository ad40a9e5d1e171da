"""Property tests of issue 11's guarantees on random compositions.

Random programs mix smooth operations with the derivative-free registry
(comparisons, rounding, sorting indices), the variadic joins (stack,
concatenate), array subclasses and aliasing, and check that chainrule
either gives the finite-difference derivative or refuses by name: never a
different number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.check import check_derivatives
from chainrule.engine import NONDIFF_UFUNCS
from chainrule.errors import ForeignArrayError, ModifiedAfterUseError

SMOOTH = {
    "sin": np.sin,
    "tanh": np.tanh,
    "gauss": lambda h, y: np.exp(-h * h),
    "mul": lambda h, y: h * y,
    "add": lambda h, y: h + y,
    "stack": lambda h, y: np.sum(np.stack([h, y + 0.0 * h, h * y]), axis=0),
    "concat": lambda h, y: np.concatenate([h, h * y], axis=-1)[..., : h.shape[-1]],
}


def _float_ufuncs(nin):
    """Derivative-free ufuncs of the registry that accept float arguments (the mechanism's whole list)."""
    out = []
    for u in sorted(NONDIFF_UFUNCS, key=lambda u: u.__name__):
        if u.nin != nin:
            continue
        try:
            with np.errstate(all="ignore"):
                u(*[np.linspace(-1.0, 1.0, 3)] * nin)
        except TypeError:
            continue
        out.append(u)
    return out


STEP = _float_ufuncs(1)  # floor, ceil, rint, sign, isfinite, spacing, ...
COMPARE = _float_ufuncs(2)  # greater, less, equal, floor_divide, logical_*, ...


def _apply(step, h, y):
    kind, name = step
    if kind == "smooth":
        fn = SMOOTH[name]
        return fn(h) if name in ("sin", "tanh") else fn(h, y)
    if kind == "step":  # a piecewise-constant term: zero derivative, the value still counts
        u = next(u for u in STEP if u.__name__ == name)
        return h + 0.25 * np.asarray(u(h), dtype=float) * 0.0 + 0.25 * np.where(u(h), 1.0, 0.0)
    if kind == "mask":
        u = next(u for u in COMPARE if u.__name__ == name)
        return np.where(u(h, y), h, 2.0 * h)
    if kind == "sort":  # indices from a derivative-free function, then a differentiable gather
        return np.take_along_axis(h, np.argsort(h, axis=-1), axis=-1)
    raise AssertionError(step)


steps = st.lists(
    st.one_of(
        st.tuples(st.just("smooth"), st.sampled_from(sorted(SMOOTH))),
        st.tuples(st.just("step"), st.sampled_from([u.__name__ for u in STEP])),
        st.tuples(st.just("mask"), st.sampled_from([u.__name__ for u in COMPARE])),
        st.tuples(st.just("sort"), st.just("argsort")),
    ),
    min_size=1,
    max_size=6,
)


def _program(plan):
    def f(x, y):
        h = x
        for step in plan:
            h = _apply(step, h, y)
        return h

    return f


@settings(max_examples=50, deadline=None, derandomize=True)
@given(plan=steps, seed=st.integers(0, 2**16))
def test_compositions_with_the_derivative_free_registry_match_finite_differences(plan, seed):
    rng = np.random.default_rng(seed)
    # Points away from the rounding functions' jumps (integers, half-integers, 0) and from ties,
    # which a finite difference (steps of about 1e-3 here) would cross: spaced values, shuffled.
    x = rng.permutation(np.linspace(0.05, 0.45, 6)).reshape(2, 3)
    y = rng.uniform(0.55, 0.95, size=(3,))
    f = _program(plan)
    with np.errstate(all="ignore"):
        check_derivatives(lambda x: f(x, y), x, order=1, rtol=1e-6, atol=1e-7, seed=seed)


class Tagged(np.ndarray):
    """A plain-looking ndarray subclass."""


def _as(kind, a):
    if kind == "masked":
        return np.ma.array(a, mask=np.zeros(a.shape, bool))
    if kind == "matrix":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return np.asmatrix(a)
    if kind == "subclass":
        return a.view(Tagged)
    if kind == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    return a.copy()


KINDS = ["plain", "masked", "matrix", "subclass", "readonly"]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(plan=steps, seed=st.integers(0, 2**16), x_kind=st.sampled_from(KINDS), y_kind=st.sampled_from(KINDS))
def test_array_subclasses_give_the_plain_gradient_or_a_refusal(plan, seed, x_kind, y_kind):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 0.45, size=(2, 3))
    y = rng.uniform(0.55, 0.95, size=(2, 3))
    f = _program(plan)

    def loss(x, y):
        return np.sum(f(x, y)) + 0.1 * np.sum(x * y)  # y always meets a traced value

    with np.errstate(all="ignore"):
        want = cr.grad(loss)(x, y)
        foreign = bool({x_kind, y_kind} & {"masked", "matrix", "subclass"})
        try:
            got = cr.grad(loss)(_as(x_kind, x), _as(y_kind, y))
        except ForeignArrayError as exc:
            message = str(exc)
            got = None
    if got is None:
        assert foreign
        assert "np.asarray" in message or "filled" in message
        return
    assert not foreign, "a foreign array was differentiated"
    assert type(got) is np.ndarray
    np.testing.assert_array_equal(got, want)


def _shares(a, b):
    return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.shares_memory(a, b)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(plan=steps, seed=st.integers(0, 2**16), when=st.sampled_from(["before", "after", "never"]))
def test_aliasing_and_mutation_in_random_compositions(plan, seed, when):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 0.45, size=(2, 3))
    y = rng.uniform(0.55, 0.95, size=(3,))
    f = _program(plan)
    c = np.linspace(1.0, 2.0, 3)

    def g(x):
        if when == "before":
            c[:] = 3.0  # modified before use: the derivative uses the new values
        out = f(x, y) * c
        if when == "after":
            c[:] = 5.0  # modified after use: the sweep would read the new values
        return out

    with np.errstate(all="ignore"):
        if when == "after":
            with pytest.raises(ModifiedAfterUseError, match="modified afterwards"):
                cr.grad(lambda x: np.sum(g(x)))(x)
            return
        out, vjp_fn = cr.vjp(g, x)
        ct = rng.standard_normal(np.shape(out))
        (gx,) = vjp_fn(ct)
        # Results never share memory with the caller's arrays or each other.
        for r in (gx, out):
            assert not any(_shares(r, a) for a in (x, y, ct, c))
        assert not _shares(gx, out)
        # Modifying the caller's input, the cotangent or the first result changes nothing.
        keep_x, keep_ct, keep_gx = x.copy(), ct.copy(), gx.copy()
        x[:] = 0.0
        gx[:] = 7.0
        (again,) = vjp_fn(ct)
        np.testing.assert_array_equal(again, keep_gx)
        ct[:] = 0.0
        np.testing.assert_array_equal(keep_ct * 0.0, ct)
        np.testing.assert_array_equal(vjp_fn(keep_ct)[0], keep_gx)
        assert np.array_equal(cr.grad(lambda x: np.sum(g(x) * keep_ct))(keep_x), keep_gx)
