"""Issue 11, classes 5 and 8: argnums, and results that never alias or go stale.

argnums has one normalization (``chainrule.argnums.normalize_argnums``, used by
derivatives, numerical, check and explain) with clear errors;
duplicates are refused. Results never share memory with
the caller's arrays or with each other, primals are copied when traced (so
modifying them later changes nothing), and an array used as a constant and
modified before the derivative is computed is detected.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.errors import ModifiedAfterUseError

X = np.array([0.3, 1.2])
Y = np.array([2.0, -1.0])


def f2(x, y):
    return np.sum(x**2 * y)


# -- class 5: argnums ------------------------------------------------------------------
@pytest.mark.parametrize("argnums", [np.int64(1), -1, np.int32(-1)])
def test_numpy_and_negative_argnums_name_one_argument(argnums):
    g = cr.grad(f2, argnums=argnums)(X, Y)
    np.testing.assert_allclose(g, X**2)  # not wrapped in a tuple: one argument was named


def test_argnums_sequences_give_tuples():
    gx, gy = cr.grad(f2, argnums=(0, -1))(X, Y)
    np.testing.assert_allclose(gx, 2 * X * Y)
    np.testing.assert_allclose(gy, X**2)
    (gy,) = cr.grad(f2, argnums=[np.int64(1)])(X, Y)
    np.testing.assert_allclose(gy, X**2)


@pytest.mark.parametrize(
    ("argnums", "error", "message"),
    [
        ((0, 0), ValueError, "names argument 0 twice"),
        ((1, -1), ValueError, "names argument 1 twice"),
        (2, ValueError, "asks for argument 2"),
        (-3, ValueError, "asks for argument -3"),
        (None, TypeError, "not None"),
        (1.0, TypeError, "not 1.0"),
        (True, TypeError, "not True"),
        ("0", TypeError, "not '0'"),
        ((0, 1.0), TypeError, r"not \(0, 1.0\)"),
        ((), ValueError, "selects no argument"),
    ],
)
def test_bad_argnums_are_refused_everywhere(argnums, error, message):
    for op in (cr.grad, cr.value_and_grad, cr.jacrev, cr.jacfwd, cr.jacobian):
        with pytest.raises(error, match=message):
            op(f2, argnums=argnums)(X, Y)


@pytest.mark.parametrize(
    ("argnums", "error", "message"),
    [((0, 0), ValueError, "names argument 0 twice"), (2, ValueError, "asks for argument 2"),
     (1.0, TypeError, "not 1.0"), (None, TypeError, "not None"), ((), ValueError, "selects no argument")],
)  # fmt: skip
def test_bad_argnums_get_the_same_refusal_in_numerical_check_and_explain(argnums, error, message):
    from chainrule.check import check_grad

    for op in (
        lambda: cr.numerical.grad(f2, X, Y, argnums=argnums),
        lambda: cr.numerical.jacobian(f2, X, Y, argnums=argnums),
        lambda: check_grad(f2, X, Y, argnums=argnums),
        lambda: cr.explain(f2, X, Y, argnums=argnums),
    ):
        with pytest.raises(error, match=message):
            op()


def test_one_normalize_argnums_in_the_package():
    from pathlib import Path

    src = Path(cr.__file__).parent
    defining = [
        p.relative_to(src).as_posix() for p in src.rglob("*.py") if "def normalize_argnums" in p.read_text()
    ]
    assert defining == ["argnums.py"]


def test_duplicate_argnums_example_no_longer_gives_zeros():
    # The example returned zeros for the first entry.
    with pytest.raises(ValueError, match="twice"):
        cr.grad(lambda a: np.sum(a**2), argnums=(0, 0))(X)


def test_jacobian_with_numpy_argnum_is_not_wrapped():
    j = cr.jacobian(lambda x, y: x * y, argnums=np.int64(0))(X, Y)
    np.testing.assert_allclose(j, np.diag(Y))


# -- class 8: aliasing -----------------------------------------------------------------
def _shares(a, b):
    return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.shares_memory(a, b)


@pytest.mark.parametrize(
    ("f", "ct"),
    [
        (lambda x: x + 0.0, np.ones(2)),
        (lambda x: x, np.ones(2)),
        (lambda x: x.reshape(2, 1), np.ones((2, 1))),
        (lambda x: x.T, np.ones(2)),
        (lambda x: x[:], np.ones(2)),
    ],
)
def test_vjp_results_never_alias_the_cotangent(f, ct):
    _, vjp_fn = cr.vjp(f, X)
    (g,) = vjp_fn(ct)
    assert not _shares(g, ct)
    g *= 5  # the issue: this rewrote the caller's cotangent
    np.testing.assert_array_equal(ct, np.ones_like(ct))


def test_vjp_results_never_alias_each_other():
    _, vjp_fn = cr.vjp(lambda x, y: x + y, X, Y)
    gx, gy = vjp_fn(np.ones(2))
    assert not _shares(gx, gy)
    gx += 1
    np.testing.assert_array_equal(gy, np.ones(2))
    gx, gy = cr.grad(lambda x, y: np.sum(x + y), argnums=(0, 1))(X, Y)
    assert not _shares(gx, gy)


def test_jvp_results_never_alias_the_tangent_or_primal():
    t = np.ones(2)
    out, t_out = cr.jvp(lambda x: x, (X,), (t,))
    assert not _shares(t_out, t) and not _shares(out, X)
    t_out *= 5
    np.testing.assert_array_equal(t, np.ones(2))
    _, t_out = cr.jvp(lambda x: x.reshape(2, 1), (X,), (t,))
    assert not _shares(t_out, t)


def test_vjp_output_does_not_alias_the_primal():
    x = X.copy()
    out, _ = cr.vjp(lambda x: x, x)
    assert not _shares(out, x)


def test_modifying_a_primal_after_vjp_changes_nothing():
    x = np.array([1.0, 2.0])
    _, vjp_fn = cr.vjp(np.sin, x)
    x[:] = 0  # the issue: vjp_fn then used cos(0)
    np.testing.assert_allclose(vjp_fn(np.ones(2))[0], np.cos([1.0, 2.0]))


def test_modifying_a_constant_after_use_is_detected_in_grad():
    w = np.array([1.0, 2.0])

    def f(x):
        y = x * w
        w[:] = 0  # after use: the derivative of y needs the old w
        return np.sum(y)

    with pytest.raises(ModifiedAfterUseError, match=r"shape \(2,\) used by numpy.multiply"):
        cr.grad(f)(np.ones(2))


def test_modifying_a_constant_between_vjp_and_vjp_fn_is_detected():
    w = np.array([1.0, 2.0])
    _, vjp_fn = cr.vjp(lambda x: x * w, np.ones(2))
    np.testing.assert_allclose(vjp_fn(np.ones(2))[0], [1.0, 2.0])
    w[:] = 5
    with pytest.raises(ModifiedAfterUseError, match="copy"):
        vjp_fn(np.ones(2))


def test_modifying_a_constant_before_use_is_fine():
    w = np.array([1.0, 2.0])

    def f(x):
        w[:] = 3.0
        return np.sum(x * w)

    np.testing.assert_allclose(cr.grad(f)(np.ones(2)), [3.0, 3.0])


def test_nan_constants_are_not_reported_as_modified():
    w = np.array([np.nan, 1.0])
    np.testing.assert_array_equal(cr.grad(lambda x: np.sum(x * w))(np.ones(2)), w)


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(
        st.sampled_from(["add", "id", "reshape", "neg", "mul", "sin", "slice", "transpose"]), max_size=6
    ),
    n=st.integers(1, 4),
)
def test_random_compositions_never_alias_the_callers_arrays(ops, n):
    """Property: for any chain of these operations, no result shares memory with an argument or cotangent."""
    table = {
        "add": lambda v: v + 0.0,
        "id": lambda v: v,
        "reshape": lambda v: v.reshape(v.shape),
        "neg": lambda v: -v,
        "mul": lambda v: v * 2.0,
        "sin": np.sin,
        "slice": lambda v: v[:],
        "transpose": lambda v: v.T,
    }

    def f(x, y):
        v = x
        for op in ops:
            v = table[op](v)
        return v, y

    x, y = np.linspace(0.1, 1.0, n), np.linspace(1.0, 2.0, n)
    out, vjp_fn = cr.vjp(f, x, y)
    cts = (np.ones(n), np.ones(n))
    gx, gy = vjp_fn(cts)
    results = [gx, gy, *out]
    callers = [x, y, *cts]
    for i, r in enumerate(results):
        assert not any(_shares(r, c) for c in callers)
        assert not any(_shares(r, o) for o in results[i + 1 :])
    (t_out, t_y) = cr.jvp(f, (x, y), cts)[1]
    assert not any(_shares(t, c) for t in (t_out, t_y) for c in callers)


def test_read_only_constants_are_not_copied_and_still_checked_through_writeable_views():
    big = np.arange(4.0)
    big.flags.writeable = False  # cannot change: the trace keeps no copy of it
    np.testing.assert_array_equal(cr.grad(lambda x: np.sum(x * big))(np.ones(4)), big)
    base = np.arange(4.0)
    view = base[:]
    view.flags.writeable = False  # read-only, but its owner is writeable: still checked

    def f(x):
        y = np.sum(x * view)
        base[0] = 10.0
        return y

    with pytest.raises(ModifiedAfterUseError):
        cr.grad(f)(np.ones(4))


def test_an_accumulator_updated_after_an_addition_is_fine():
    # add and subtract read only shapes in the backward pass: modifying their constant is harmless.
    def f(x):
        acc = np.zeros(2)
        total = 0.0
        for _ in range(3):
            total = total + np.sum((x + acc) ** 2) + np.sum(acc - x)
            acc += 1.0
        return total

    # d/dx sum((x + k)^2) - sum(x) over k = 0, 1, 2
    expected = sum(2 * (X + k) - 1 for k in range(3))
    np.testing.assert_allclose(cr.grad(f)(X), expected)
