"""Indexing ``x[...]`` and the functional updates ``chainrule.at``: finite differences at orders
1 and 2, values against NumPy, and exact accumulation counts for repeated indices."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import at
from chainrule.check import check_derivatives
from chainrule.errors import InPlaceError, TracerConversionError, UnsupportedOperationError

RNG = np.random.default_rng(2)
MASK_2D = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
I3 = np.array([0, 2, 0])

# (id, index) applied to an array of shape (3, 4, 5)
INDICES = [
    ("int", 1),
    ("negative_int", -1),
    ("np_integer", np.int64(2)),
    ("slice", slice(1, None)),
    ("negative_step", slice(None, None, -2)),
    ("negative_step_bounds", (slice(2, 0, -1), slice(-1, None, -3))),
    ("ints_and_slices", (0, slice(1, 3), -2)),
    ("ellipsis", (Ellipsis, 1)),
    ("ellipsis_middle", (1, Ellipsis, slice(None, 2))),
    ("newaxis", (None, slice(None), None, 2)),
    ("newaxis_ellipsis", (Ellipsis, None)),
    ("empty_tuple", ()),
    ("empty_slice", slice(2, 2)),
    ("int_array_duplicates", I3),
    ("list_duplicates", [1, 1, 1, 0]),
    ("int_arrays_broadcast", (np.array([[0], [2]]), np.array([1, 1, 3]))),
    ("two_arrays_duplicates", (np.array([0, 0, 2, 0]), np.array([1, 1, 3, 1]))),
    ("mixed_advanced_basic", (slice(None), I3, slice(1, 4))),
    ("advanced_separated_by_slice", (I3, slice(None), np.array([4, 4, 0]))),
    ("advanced_with_int", (2, slice(None), I3)),
    ("advanced_with_newaxis", (None, I3, Ellipsis)),
    ("negative_int_array", (np.array([-1, -3, -1]),)),
    ("bool_mask_2d", MASK_2D),
    ("bool_mask_1d_on_axis1", (slice(None), np.array([True, False, True, True]))),
    ("bool_mask_and_int_array", (np.array([True, False, True]), slice(None), np.array([1, 1]))),
    ("bool_mask_ellipsis", (Ellipsis, np.array([False, True, False, True, True]))),
    ("bool_list", [True, False, True]),
    ("all_false_mask", np.zeros((3, 4), dtype=bool)),
    ("scalar_true", True),
    ("scalar_false", False),
    ("nested_list", [[0, 1], [2, 2]]),
]


@pytest.mark.parametrize(("name", "index"), INDICES, ids=[c[0] for c in INDICES])
def test_getitem_rule(name, index):
    x = RNG.standard_normal((3, 4, 5))
    check_derivatives(lambda a: a[index], x, order=1)
    check_derivatives(lambda a: np.sin(a[index]) * a[index], x, order=2)
    got, _ = cr.vjp(lambda a: a[index], x)
    np.testing.assert_array_equal(got, x[index])


@pytest.mark.parametrize(("name", "index"), INDICES, ids=[c[0] for c in INDICES])
def test_getitem_gradient_counts_every_read(name, index):
    # The gradient of sum(x[idx]) counts how often each element is read: np.add.at on ones.
    x = np.zeros((3, 4, 5))
    expected = np.zeros(x.shape)
    np.add.at(expected, index, 1.0)
    np.testing.assert_array_equal(cr.grad(lambda a: np.sum(a[index]))(x), expected)


def test_duplicate_indices_accumulate_exactly():
    g = cr.grad(lambda a: np.sum(a[[0, 0, 2, 0]] * np.array([1.0, 2.0, 3.0, 4.0])))(np.zeros(3))
    np.testing.assert_array_equal(g, [7.0, 0.0, 3.0])
    g2 = cr.grad(lambda a: np.sum(a[np.array([1, 1]), np.array([2, 2])]))(np.zeros((2, 3)))
    np.testing.assert_array_equal(g2, [[0, 0, 0], [0, 0, 2]])


def test_boolean_mask_gradient_is_the_mask():
    x = RNG.standard_normal((3, 4))
    g = cr.grad(lambda a: np.sum(a[a > 0]))(x)
    np.testing.assert_array_equal(g, (x > 0).astype(float))


def test_getitem_of_scalar_value():
    check_derivatives(lambda a: np.sum(a)[None] * a[...], np.array(1.5))
    check_derivatives(lambda a: np.sin(a[()]), np.array(0.3), order=2)


def test_third_order_through_indexing():
    x = RNG.standard_normal(5)
    check_derivatives(lambda a: np.sum(a[[0, 0, 3]] ** 3 * a[1:4]), x, order=3)
    check_derivatives(lambda a: at(a)[[1, 1]].add(a[2:4] ** 2) ** 2, x, order=3)


def test_getitem_float32():
    x = np.ones((2, 3), dtype=np.float32)
    for index in [(0, slice(None)), np.array([1, 1]), x > 0]:
        g = cr.grad(lambda a, index=index: np.sum(a[index] ** 2))(x)
        assert g.dtype == np.float32
        _, t = cr.jvp(lambda a, index=index: a[index], (x,), (x,))
        assert t.dtype == np.float32


def test_traced_index_is_refused():
    with pytest.raises(TracerConversionError, match="index"):
        cr.grad(lambda a: np.sum(a[a]))(np.zeros(3))


def test_setitem_is_refused_with_the_alternative():
    def f(a):
        a[0] = 1.0
        return np.sum(a)

    with pytest.raises(InPlaceError, match="chainrule.at"):
        cr.grad(f)(np.zeros(3))


# -- chainrule.at ------------------------------------------------------------------------------
UPDATE_INDICES = [
    ("slice", (slice(1, 3),), (2, 4)),
    ("int", (2,), (4,)),
    ("negative_step", (slice(None, None, -2), 1), (2,)),
    ("int_array_unique", (np.array([2, 0]),), (2, 4)),
    ("broadcast_scalar_value", (np.array([2, 0]), slice(None)), ()),
    ("broadcast_row_value", (slice(None), np.array([3, 1])), (1, 2)),
    ("bool_mask", (np.array([[True, False, False, True], [False] * 4, [True] * 4]),), (6,)),
    ("ellipsis_newaxis", (Ellipsis, None, 0), (3, 1)),
]


@pytest.mark.parametrize("op", ["set", "add", "multiply"])
@pytest.mark.parametrize(("name", "index", "vshape"), UPDATE_INDICES, ids=[c[0] for c in UPDATE_INDICES])
def test_at_rules_wrt_x_and_v(op, name, index, vshape):
    x = RNG.standard_normal((3, 4))
    v = RNG.standard_normal(vshape)
    f = lambda a, b: np.sin(getattr(at(a)[index], op)(b))
    check_derivatives(f, x, v, order=2)
    check_derivatives(lambda a: getattr(at(a)[index], op)(v) ** 2, x, order=2)  # v plain
    check_derivatives(lambda b: getattr(at(x)[index], op)(b) ** 2, v, order=2)  # x plain


@pytest.mark.parametrize("op", ["set", "add", "multiply"])
@pytest.mark.parametrize(("name", "index", "vshape"), UPDATE_INDICES, ids=[c[0] for c in UPDATE_INDICES])
def test_at_values_equal_numpy_in_place(op, name, index, vshape):
    x = RNG.standard_normal((3, 4))
    v = RNG.standard_normal(vshape)
    expected = x.copy()
    {"set": expected.__setitem__, "add": lambda i, w: np.add.at(expected, i, w),
     "multiply": lambda i, w: np.multiply.at(expected, i, w)}[op](index, v)  # fmt: skip
    plain = getattr(at(x)[index], op)(v)
    traced, _ = cr.vjp(lambda a, b: getattr(at(a)[index], op)(b), x, v)
    np.testing.assert_array_equal(plain, expected)
    np.testing.assert_array_equal(traced, expected)
    assert np.all(x == x)  # x itself is never modified
    assert type(plain) is np.ndarray


def test_at_does_not_modify_its_input():
    x = np.zeros(3)
    y = at(x)[1].set(5.0)
    np.testing.assert_array_equal(x, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(y, [0.0, 5.0, 0.0])


def test_at_add_duplicates_accumulate_exactly():
    x = np.zeros(4)
    index = np.array([1, 3, 1, 1])
    np.testing.assert_array_equal(at(x)[index].add(1.0), [0, 3, 0, 1])
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    # out = x + scatter(v); d sum(w * out) / dv_k = w[index[k]]
    gx, gv = cr.grad(lambda a, b: np.sum(w * at(a)[index].add(b)), argnums=(0, 1))(x, np.ones(4))
    np.testing.assert_array_equal(gx, w)
    np.testing.assert_array_equal(gv, [10.0, 1000.0, 10.0, 10.0])
    # A scalar v added three times at 1 and once at 3.
    assert cr.grad(lambda b: np.sum(w * at(x)[index].add(b)))(2.0) == 3 * 10.0 + 1000.0
    check_derivatives(
        lambda a, b: np.sin(at(a)[index].add(b)), RNG.standard_normal(4), RNG.standard_normal(4)
    )


def test_at_set_duplicates_last_write_wins():
    x = np.array([5.0, 6.0, 7.0])
    index = np.array([0, 2, 0])
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(at(x)[index].set(v), [3.0, 6.0, 2.0])
    w = np.array([1.0, 10.0, 100.0])
    gx, gv = cr.grad(lambda a, b: np.sum(w * at(a)[index].set(b)), argnums=(0, 1))(x, v)
    np.testing.assert_array_equal(gx, [0.0, 10.0, 0.0])  # overwritten entries get nothing
    np.testing.assert_array_equal(gv, [0.0, 100.0, 1.0])  # v[0] was overwritten by v[2]
    # A scalar v broadcast into repeated positions reaches each position once.
    assert cr.grad(lambda b: np.sum(w * at(x)[index].set(b)))(4.0) == 1.0 + 100.0
    _, t = cr.jvp(lambda b: at(x)[index].set(b), (v,), (np.array([1.0, 2.0, 3.0]),))
    np.testing.assert_array_equal(t, [3.0, 0.0, 2.0])
    check_derivatives(lambda a, b: np.sin(at(a)[index].set(b)), x, v)


def test_at_multiply_duplicates():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(at(x)[[0, 0]].multiply(np.array([2.0, 5.0])), [10.0, 2.0, 3.0])
    g = cr.grad(lambda a: np.sum(at(a)[[0, 0]].multiply(np.array([2.0, 5.0]))))(x)
    np.testing.assert_array_equal(g, [10.0, 1.0, 1.0])
    with pytest.raises(UnsupportedOperationError, match="repeated"):
        cr.grad(lambda b: np.sum(at(x)[[0, 0]].multiply(b)))(np.ones(2))


def test_at_float32():
    x = np.ones((2, 3), dtype=np.float32)
    v = np.full(3, 2.0, dtype=np.float32)
    for op in ("set", "add", "multiply"):
        f = lambda a, b, op=op: np.sum(getattr(at(a)[1], op)(b) ** 2)
        gx, gv = cr.grad(f, argnums=(0, 1))(x, v)
        assert gx.dtype == np.float32
        assert gv.dtype == np.float32
        out, t = cr.jvp(lambda a, b, op=op: getattr(at(a)[1], op)(b), (x, v), (x, v))
        assert out.dtype == np.float32
        assert t.dtype == np.float32
    out, t = cr.jvp(lambda a, b: at(a)[[1, 1]].set(b), (x, v), (x, v))
    assert out.dtype == np.float32
    assert t.dtype == np.float32
    # A float64 v into a float32 x: the result keeps x's dtype, v's gradient keeps v's.
    gv64 = cr.grad(lambda b: np.sum(at(x)[0].add(b)))(np.ones(3))
    assert gv64.dtype == np.float64
    np.testing.assert_array_equal(gv64, np.ones(3))


def test_at_traced_value_into_integer_array_is_refused():
    with pytest.raises(TypeError, match="floating-point x"):
        cr.grad(lambda b: np.sum(at(np.arange(3))[0].set(b)))(1.0)


def test_at_traced_index_is_refused():
    with pytest.raises(TracerConversionError):
        cr.grad(lambda a: np.sum(at(a)[a].set(0.0)))(np.zeros(3))


def test_at_get_and_repr():
    x = np.arange(4.0)
    np.testing.assert_array_equal(at(x)[1:3].get(), [1.0, 2.0])
    assert "at(" in repr(at(x)[1])
