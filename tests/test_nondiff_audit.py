"""Issue 11, class 1: a function may be declared derivative-free only if its output is piecewise
constant in every float argument.

``test_every_declared_function_is_piecewise_constant`` finds every function and ufunc declared
derivative-free in the registry (a new declaration without a line in ``CALLS`` fails the test),
evaluates it at random points and at small random perturbations of its float arguments, and
requires the numeric output not to change: a function with a non-zero derivative there would
give silently wrong gradients. The regression tests below are the examples of the issue, each
of which used to return zeros.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.engine import FUNCTION_HANDLERS, NONDIFF_UFUNCS, qualified_name

RNG = np.random.default_rng(11)


def _x(shape=(6,)):
    return RNG.normal(size=shape) * 3.0


def _sorted(n=5):
    return np.sort(_x((n,)))


# name -> (a function drawing the float arguments, a call taking them). Arguments that are
# not floats (ints, shapes) are fixed inside the call; only the drawn ones are perturbed.
CALLS = {
    "numpy.shape": (lambda: [_x()], np.shape),
    "numpy.ndim": (lambda: [_x()], np.ndim),
    "numpy.size": (lambda: [_x()], np.size),
    "numpy.result_type": (lambda: [_x()], np.result_type),
    "numpy.iscomplexobj": (lambda: [_x()], np.iscomplexobj),
    "numpy.isrealobj": (lambda: [_x()], np.isrealobj),
    "numpy.argmax": (lambda: [_x()], np.argmax),
    "numpy.argmin": (lambda: [_x()], np.argmin),
    "numpy.argsort": (lambda: [_x()], np.argsort),
    "numpy.nanargmax": (lambda: [_x()], np.nanargmax),
    "numpy.nanargmin": (lambda: [_x()], np.nanargmin),
    "numpy.isin": (lambda: [_x(), _x()], np.isin),
    "numpy.linalg.matrix_rank": (lambda: [_x((3, 4))], np.linalg.matrix_rank),
    "numpy.argpartition": (lambda: [_x()], lambda a: np.argpartition(a, 2)[:3].sort()),
    "numpy.nonzero": (lambda: [_x()], np.nonzero),
    "numpy.flatnonzero": (lambda: [_x()], np.flatnonzero),
    "numpy.argwhere": (lambda: [_x()], np.argwhere),
    "numpy.searchsorted": (lambda: [_sorted(), _x()], np.searchsorted),
    "numpy.digitize": (lambda: [_x(), _sorted()], np.digitize),
    "numpy.count_nonzero": (lambda: [_x()], np.count_nonzero),
    "numpy.all": (lambda: [_x()], np.all),
    "numpy.any": (lambda: [_x()], np.any),
    "numpy.isclose": (lambda: [_x(), _x()], np.isclose),
    "numpy.allclose": (lambda: [_x(), _x()], np.allclose),
    "numpy.array_equal": (lambda: [_x(), _x()], np.array_equal),
    "numpy.array_equiv": (lambda: [_x(), _x()], np.array_equiv),
    "numpy.isreal": (lambda: [_x()], np.isreal),
    "numpy.iscomplex": (lambda: [_x()], np.iscomplex),
    "numpy.round": (lambda: [_x()], lambda a: np.round(a, 2)),
    "numpy.around": (lambda: [_x()], lambda a: np.around(a, 1)),
    "numpy.fix": (lambda: [_x()], np.fix),
    "numpy.lexsort": (lambda: [_x(), _x()], lambda a, b: np.lexsort((a, b))),
    "numpy.zeros_like": (lambda: [_x()], np.zeros_like),
    "numpy.ones_like": (lambda: [_x()], np.ones_like),
    "numpy.empty_like": (lambda: [_x()], lambda a: (np.empty_like(a).shape, np.empty_like(a).dtype)),
    "numpy.isneginf": (lambda: [_x()], np.isneginf),
    "numpy.isposinf": (lambda: [_x()], np.isposinf),
    "numpy.may_share_memory": (lambda: [_x(), _x()], np.may_share_memory),
    "numpy.shares_memory": (lambda: [_x(), _x()], np.shares_memory),
    # ufuncs
    "numpy.sign": (lambda: [_x()], np.sign),
    "numpy.floor": (lambda: [_x()], np.floor),
    "numpy.ceil": (lambda: [_x()], np.ceil),
    "numpy.trunc": (lambda: [_x()], np.trunc),
    "numpy.rint": (lambda: [_x()], np.rint),
    "numpy.floor_divide": (lambda: [_x(), _x()], np.floor_divide),
    "numpy.greater": (lambda: [_x(), _x()], np.greater),
    "numpy.greater_equal": (lambda: [_x(), _x()], np.greater_equal),
    "numpy.less": (lambda: [_x(), _x()], np.less),
    "numpy.less_equal": (lambda: [_x(), _x()], np.less_equal),
    "numpy.equal": (lambda: [_x(), _x()], np.equal),
    "numpy.not_equal": (lambda: [_x(), _x()], np.not_equal),
    "numpy.logical_and": (lambda: [_x(), _x()], np.logical_and),
    "numpy.logical_or": (lambda: [_x(), _x()], np.logical_or),
    "numpy.logical_xor": (lambda: [_x(), _x()], np.logical_xor),
    "numpy.logical_not": (lambda: [_x()], np.logical_not),
    "numpy.isnan": (lambda: [_x()], np.isnan),
    "numpy.isinf": (lambda: [_x()], np.isinf),
    "numpy.isfinite": (lambda: [_x()], np.isfinite),
    "numpy.signbit": (lambda: [_x()], np.signbit),
    "numpy.spacing": (lambda: [_x()], np.spacing),
    "scipy.special.gammasgn": (lambda: [_x()], lambda a: __import__("scipy.special").special.gammasgn(a)),
}

# Integer-only ufuncs: NumPy refuses float arguments, so no float argument exists to perturb.
INTEGER_ONLY = {
    "numpy.bitwise_and", "numpy.bitwise_or", "numpy.bitwise_xor", "numpy.invert",
    "numpy.left_shift", "numpy.right_shift", "numpy.gcd", "numpy.lcm",
}  # fmt: skip


def _declared() -> list[tuple[str, object]]:
    found = {qualified_name(u): u for u in NONDIFF_UFUNCS}
    for func, handler in FUNCTION_HANDLERS.items():
        if getattr(handler, "nondiff", False):
            found[qualified_name(func)] = func
    return sorted(found.items())


DECLARED = _declared()


def test_the_registry_is_audited():
    names = {n for n, _ in DECLARED}
    missing = names - set(CALLS) - INTEGER_ONLY
    assert not missing, f"declared derivative-free without an audit line in CALLS: {sorted(missing)}"
    assert "numpy.unique" not in names and "numpy.histogram" not in names  # they have rules now
    assert "numpy.bincount" not in names and "numpy.full_like" not in names and "numpy.heaviside" not in names


def _numeric_leaves(out):
    if isinstance(out, tuple | list):
        return [leaf for o in out for leaf in _numeric_leaves(o)]
    return [np.asarray(out)]


@pytest.mark.parametrize("name", [n for n, _ in DECLARED if n not in INTEGER_ONLY])
def test_every_declared_function_is_piecewise_constant(name):
    draw, call = CALLS[name]
    for _ in range(5):
        args = draw()
        base = _numeric_leaves(call(*args))
        for rel in (1e-9, 1e-6):
            moved = [a + rel * np.maximum(np.abs(a), 1.0) * RNG.standard_normal(a.shape) for a in args]
            after = _numeric_leaves(call(*moved))
            for b, m in zip(base, after):
                assert b.shape == m.shape
                np.testing.assert_array_equal(m, b, err_msg=f"{name} changes under a perturbation of {rel}")


@pytest.mark.parametrize("name", sorted(INTEGER_ONLY))
def test_integer_only_ufuncs_take_no_floats(name):
    ufunc = dict(DECLARED)[name]
    with pytest.raises(TypeError):
        ufunc(*([_x()] * ufunc.nin))


# -- the examples of issue 11, class 1 -------------------------------------------------------------
def test_unique_values_have_a_gather_rule():
    w = np.array([0.5, -1.2, 2.0, 0.5, 3.0])
    # sum(unique(x)**2): 2x at the first occurrence of each unique value
    np.testing.assert_array_equal(cr.grad(lambda x: np.sum(np.unique(x) ** 2))(w), [1.0, -2.4, 4.0, 0.0, 6.0])
    check_rule(np.unique, nargs=1, shapes=[(5,), (2, 3)])
    check_rule(lambda x: np.unique(x, axis=0), nargs=1, shapes=[(3, 2)])
    vals, idx, inv, counts = cr.vjp(
        lambda x: np.unique(x, return_index=True, return_inverse=True, return_counts=True), w
    )[0]
    ref = np.unique(w, return_index=True, return_inverse=True, return_counts=True)
    for got, r in zip((vals, idx, inv, counts), ref):
        np.testing.assert_array_equal(got, r)
    assert idx.dtype.kind == "i" and counts.dtype.kind == "i"


def test_bincount_is_linear_in_weights():
    i = np.array([0, 2, 2, 1, 4])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(
        cr.vjp(lambda v: np.bincount(i, weights=v), w)[0], np.bincount(i, weights=w)
    )
    # sum of squared bin totals: 2 * (total of its bin) for each weight
    np.testing.assert_array_equal(
        cr.grad(lambda v: np.sum(np.bincount(i, weights=v) ** 2))(w), [2, 10, 10, 8, 10]
    )
    check_rule(lambda v: np.bincount(i, weights=v, minlength=7), nargs=1, shapes=[(5,)])
    assert np.array_equal(cr.vjp(lambda v: np.bincount(i) * v[0], w)[0], np.bincount(i) * 1.0)


def test_histogram_weights_and_edges():
    x = RNG.normal(size=30)
    w = RNG.uniform(0.5, 1.5, 30)
    counts, edges = cr.vjp(lambda v: np.histogram(x, bins=6, weights=v), w)[0]
    ref = np.histogram(x, bins=6, weights=w)
    np.testing.assert_allclose(counts, ref[0], rtol=1e-14)
    np.testing.assert_array_equal(edges, ref[1])
    check_rule(lambda v: np.histogram(x, bins=6, weights=v)[0], nargs=1, shapes=[(30,)])
    check_rule(lambda v: np.histogram(x, bins=[-1.0, 0.0, 0.5, 2.0], weights=v, density=True)[0], nargs=1,
               shapes=[(30,)])  # fmt: skip
    # the edges follow min(x) and max(x) when bins is a number: d edge_k / d x is linear
    jac = cr.jacobian(lambda v: np.histogram(v, bins=4)[1])(np.array([0.0, 3.0, 1.0, 2.5]))
    t = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(jac[:, 0], 1 - t)  # the minimum
    np.testing.assert_allclose(jac[:, 1], t)  # the maximum
    np.testing.assert_array_equal(jac[:, 2:], 0.0)
    # ... and a traced range, through chainrule's handler (traced data; with plain data NumPy's
    # own code runs on the traced range: tests/test_ufunc_methods.py)
    jac = cr.jacobian(lambda r: np.histogram(x + 0.0 * r[0], bins=4, range=(r[0], r[1]))[1])(
        np.array([-1.0, 1.0])
    )
    np.testing.assert_allclose(jac, np.stack([1 - t, t], axis=1))
    # density: counts / (total * width), differentiable in the data through the widths
    check_rule(
        lambda v: np.histogram(v, bins=3, density=True)[0],
        nargs=1,
        shapes=[(6,)],
        args_factory=lambda rng, s: [np.array([0.0, 0.7, 1.1, 1.9, 2.6, 3.0]) + rng.uniform(0, 0.01)],
        batching="no vmap of grad",  # (refused: the edges' rule branches on the data's range)
    )
    # counts are piecewise constant in the data
    g = cr.grad(lambda v: np.sum(np.histogram(v, bins=[-5.0, 0.0, 5.0])[0] * np.array([1.0, 2.0])))(x)
    np.testing.assert_array_equal(g, np.zeros_like(x))


def test_full_like_and_full_examples():
    x = np.array([2.0, 5.0, -1.0])
    np.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.full_like(v, v[0])))(x), [3.0, 0.0, 0.0])
    # np.full(shape, traced) cannot dispatch: it raises instead of returning zeros
    with pytest.raises(
        cr.errors.TracerConversionError, match=r"Inside numpy.full: .*np.broadcast_to\(v, shape\)"
    ):
        cr.grad(lambda v: np.sum(np.full(3, v[0])))(x)
    with pytest.raises(cr.errors.InPlaceError):
        cr.grad(lambda v: np.sum(np.full(3, v[0], dtype=float)))(x)


def test_zeros_ones_empty_like_are_constants():
    x = np.array([2.0, 5.0])
    np.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.ones_like(v) * v))(x), [1.0, 1.0])
    assert type(cr.vjp(lambda v: np.zeros_like(v), x)[0]) is np.ndarray


def test_heaviside_is_differentiable_in_its_second_argument():
    h = np.array([0.2, 0.7, 0.9])
    x1 = np.array([0.0, 1.0, -1.0])
    np.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.heaviside(x1, v)))(h), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.heaviside(v, h)))(x1), [0.0, 0.0, 0.0])
