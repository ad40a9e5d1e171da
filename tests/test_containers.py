"""Containers of traced values where NumPy accepts array-likes, and the errors where NumPy
converts without dispatching (naming the function and the alternative)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import TracerConversionError, UnsupportedOperationError
from chainrule.extend import as_traced_array


def test_concatenate_with_a_list_holding_a_traced_scalar():
    x = np.array([1.0, 2.0, 3.0])
    f = lambda v: np.concatenate([v, [np.prod(v)]])
    np.testing.assert_array_equal(cr.vjp(f, x)[0], [1.0, 2.0, 3.0, 6.0])
    # d/dx of sum(x) + prod(x) = 1 + prod / x_i
    np.testing.assert_array_equal(cr.grad(lambda v: np.sum(f(v)))(x), [7.0, 4.0, 3.0])
    check_rule(f, nargs=1, shapes=[(3,)], domain=(0.5, 2.0))


@pytest.mark.parametrize(
    "f",
    [
        lambda v: np.append(v, [np.prod(v), 2.0]),
        lambda v: np.stack([v, [v[1], v[0], 1.0]]),
        lambda v: np.hstack([v, (v[0] * v[1],)]),
        lambda v: np.vstack([v, [v[2], 0.0, v[0]]]),
        lambda v: np.column_stack([v, [1.0, v[0], v[1]]]),
        lambda v: np.dstack([v, [[v[0], v[1], v[2]]]]),
        lambda v: np.diff(v, append=[v[0]]),
        lambda v: np.select([v > 1.0, v < 1.0], [v, [v[1], v[0], 1.0]], default=[0.0, v[0], 1.0]),
    ],
    ids=["append", "stack", "hstack", "vstack", "column_stack", "dstack", "diff", "select"],
)
def test_joining_functions_stack_traced_elements(f):
    x = np.array([0.5, 1.5, 2.5])
    np.testing.assert_allclose(cr.vjp(f, x)[0], f(x))
    check_rule(f, nargs=1, shapes=[(3,)], domain=(0.5, 2.0))


def test_as_traced_array():
    np.testing.assert_array_equal(as_traced_array([[1.0], [2.0]]), [[1.0], [2.0]])
    # nested containers of traced values become one traced array of the same layout
    got = cr.vjp(lambda v: as_traced_array([[v[0], 1.0], (2.0, v[1])]), np.array([3.0, 4.0]))[0]
    np.testing.assert_array_equal(got, [[3.0, 1.0], [2.0, 4.0]])
    check_rule(lambda v: as_traced_array([[v[0], 1.0], (v[1] * v[0], v[1])]), nargs=1, shapes=[(2,)])


def test_np_array_keeps_its_clear_error():
    with pytest.raises(TracerConversionError, match=r"np.stack\(\[a, b\]\) instead of np.array"):
        cr.grad(lambda v: np.sum(np.array([v[0], v[1]])))(np.ones(2))


@pytest.mark.parametrize(
    ("f", "name"),
    [
        (lambda v: np.mean([v, v]), "numpy.mean"),
        (lambda v: np.linalg.norm([v, v + 2.0]), "numpy.linalg.norm"),
        (lambda v: np.sum([v[0], v[1]]), "numpy.sum"),
        (lambda v: np.median([v[0], v[1]]), "numpy.median"),
    ],
)
def test_non_dispatching_containers_name_the_function(f, name):
    with pytest.raises(TracerConversionError, match=rf"Inside {name}: .*np.stack"):
        cr.grad(f)(np.array([1.0, 2.0]))


def test_vectorize_apply_along_axis_float64():
    x = np.array([1.0, 2.0])
    with pytest.raises(TracerConversionError, match=r"Inside numpy.vectorize: .*array operations"):
        cr.grad(lambda v: np.sum(np.vectorize(np.sin)(v)))(x)
    with pytest.raises(UnsupportedOperationError, match=r"numpy.apply_along_axis .*axis=\.\.\."):
        cr.grad(lambda v: np.sum(np.apply_along_axis(np.sum, 0, v)))(x)
    with pytest.raises(UnsupportedOperationError, match=r"numpy.apply_over_axes"):
        cr.grad(lambda v: np.sum(np.apply_over_axes(np.sum, v, [0])))(x)
    # np.float64(x) converts in C, with no NumPy frame: named from the source line
    with pytest.raises(TracerConversionError, match=r"^Inside np.float64\(\.\.\.\): .*astype"):
        cr.grad(lambda v: np.float64(v[0]))(x)


def test_scipy_python_functions_are_named():
    stats = pytest.importorskip("scipy.stats", reason="SciPy is optional")
    with pytest.raises(
        TracerConversionError, match=r"Inside scipy\.stats\..*logpdf: SciPy's Python functions"
    ):
        cr.grad(lambda v: np.sum(stats.norm.logpdf(v)))(np.array([0.1, 0.2]))


def test_ufunc_inputs_holding_traced_values_are_stacked():
    x = np.array([1.0, 2.0, 3.0])
    # sum((x0 + x1)^2 + (x1 + x2)^2)
    np.testing.assert_array_equal(
        cr.grad(lambda v: np.sum(np.add([v[0], v[1]], v[1:]) ** 2))(x), [6.0, 16.0, 10.0]
    )
    check_rule(lambda v: np.multiply.outer((v[0], 2.0), v), nargs=1, shapes=[(3,)])
    check_rule(lambda v: np.hypot([[v[0]], [v[1]]], v), nargs=1, shapes=[(2,)], domain=(0.5, 2.0))
