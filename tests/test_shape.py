"""Shape rules (reshape, transposes, joins, splits, repeats, flips, pads, triangles, sort, take)
against finite differences at orders 1 and 2, against NumPy's own values, and exact counts."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_derivatives
from chainrule.errors import InPlaceError, TracerConversionError, UnsupportedOperationError
from chainrule.pytree import tree_leaves, tree_map

RNG = np.random.default_rng(1)


def _draw(*shape):
    return RNG.standard_normal(shape)


def _distinct(*shape):
    # Well-separated values, so sort/partition have no near-ties for finite differences.
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.5 + RNG.uniform(-0.1, 0.1, n)).reshape(shape)


# (id, function, argument shapes)
CASES = [
    ("reshape", lambda x: np.reshape(x, (3, -1)), [(2, 3, 2)]),
    ("reshape_method_varargs", lambda x: x.reshape(6, 2), [(2, 3, 2)]),
    ("reshape_int", lambda x: np.reshape(x, 12), [(2, 3, 2)]),
    ("reshape_F", lambda x: np.reshape(x, (4, 3), order="F"), [(2, 3, 2)]),
    ("reshape_A_fortran", lambda x: np.reshape(x.T, (-1,), order="A"), [(3, 4)]),
    ("reshape_scalar", lambda x: np.reshape(x, (1, 1)), [()]),
    ("ravel", np.ravel, [(2, 3, 2)]),
    ("ravel_F", lambda x: np.ravel(x, order="F"), [(2, 3, 2)]),
    ("ravel_K_transposed", lambda x: np.ravel(x.T, order="K"), [(3, 4)]),
    ("ravel_K_strided", lambda x: np.ravel(np.transpose(x[::-1, ::2], (1, 0)), order="K"), [(3, 6)]),
    ("ravel_A", lambda x: np.ravel(np.transpose(x), order="A"), [(3, 4)]),
    ("flatten", lambda x: x.flatten(), [(2, 3)]),
    ("transpose", np.transpose, [(2, 3, 4)]),
    ("transpose_axes", lambda x: np.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
    ("transpose_negative_axes", lambda x: np.transpose(x, [-1, 0, -2]), [(2, 3, 4)]),
    ("T", lambda x: x.T, [(2, 3)]),
    ("transpose_method", lambda x: x.transpose(1, 0, 2), [(2, 3, 4)]),
    ("permute_dims", lambda x: np.permute_dims(x, (1, 2, 0)), [(2, 3, 4)]),
    ("swapaxes", lambda x: np.swapaxes(x, 0, 2), [(2, 3, 4)]),
    ("swapaxes_negative", lambda x: x.swapaxes(-1, 0), [(2, 3, 4)]),
    ("moveaxis", lambda x: np.moveaxis(x, 0, -1), [(2, 3, 4)]),
    ("moveaxis_many", lambda x: np.moveaxis(x, [0, 1], [-1, -3]), [(2, 3, 4)]),
    ("matrix_transpose", lambda x: np.matrix_transpose(x), [(2, 3, 4)]),
    ("mT", lambda x: x.mT, [(2, 3, 4)]),
    ("expand_dims_0", lambda x: np.expand_dims(x, 0), [(2, 3)]),
    ("expand_dims_neg", lambda x: np.expand_dims(x, -1), [(2, 3)]),
    ("expand_dims_tuple", lambda x: np.expand_dims(x, (0, 3)), [(2, 3)]),
    ("squeeze_all", np.squeeze, [(1, 3, 1)]),
    ("squeeze_int", lambda x: np.squeeze(x, -1), [(1, 3, 1)]),
    ("squeeze_tuple", lambda x: x.squeeze((0, 2)), [(1, 3, 1)]),
    ("broadcast_to", lambda x: np.broadcast_to(x, (2, 3)), [(3,)]),
    ("broadcast_to_ones", lambda x: np.broadcast_to(x, (4, 2, 5)), [(2, 1)]),
    ("broadcast_arrays", lambda x, y: np.broadcast_arrays(x, y), [(3, 1), (4,)]),
    ("atleast_1d", np.atleast_1d, [()]),
    ("atleast_2d", np.atleast_2d, [(3,)]),
    ("atleast_3d_1d", np.atleast_3d, [(3,)]),
    ("atleast_3d_2d", np.atleast_3d, [(2, 3)]),
    ("atleast_3d_scalar", np.atleast_3d, [()]),
    ("atleast_2d_several", lambda x, y, z: np.atleast_2d(x, y, z), [(), (3,), (2, 2)]),
    ("concatenate_0", lambda x, y: np.concatenate([x, y]), [(2, 3), (4, 3)]),
    ("concatenate_1", lambda x, y: np.concatenate((x, y), axis=1), [(2, 3), (2, 1)]),
    ("concatenate_neg", lambda x, y, z: np.concatenate([x, y, z], -1), [(2, 3), (2, 1), (2, 2)]),
    ("concatenate_None", lambda x, y: np.concatenate([x, y], axis=None), [(2, 3), (4,)]),
    ("concat", lambda x, y: np.concat([x, y]), [(2,), (3,)]),
    ("stack_0", lambda x, y: np.stack([x, y]), [(2, 3), (2, 3)]),
    ("stack_neg", lambda x, y, z: np.stack([x, y, z], axis=-1), [(2, 3), (2, 3), (2, 3)]),
    ("stack_1", lambda x, y: np.stack((x, y), 1), [(2, 3), (2, 3)]),
    ("stack_scalars", lambda x, y: np.stack([x, y]), [(), ()]),
    ("hstack_1d", lambda x, y: np.hstack([x, y]), [(2,), (3,)]),
    ("hstack_2d", lambda x, y: np.hstack([x, y]), [(2, 3), (2, 1)]),
    ("vstack", lambda x, y: np.vstack([x, y]), [(3,), (2, 3)]),
    ("dstack", lambda x, y: np.dstack([x, y]), [(3,), (1, 3)]),
    ("column_stack", lambda x, y: np.column_stack([x, y]), [(3,), (3, 2)]),
    ("append_flat", lambda x, y: np.append(x, y), [(2, 2), (3,)]),
    ("append_axis", lambda x, y: np.append(x, y, axis=0), [(2, 2), (1, 2)]),
    ("split_sections", lambda x: np.split(x, 3), [(6, 2)]),
    ("split_indices", lambda x: np.split(x, [1, 3], axis=1), [(2, 5)]),
    ("split_negative_axis_index", lambda x: np.split(x, [-2], axis=-1), [(2, 5)]),
    ("array_split_uneven", lambda x: np.array_split(x, 3, axis=0), [(7, 2)]),
    ("array_split_indices", lambda x: np.array_split(x, [2, 9]), [(5,)]),
    ("hsplit", lambda x: np.hsplit(x, 2), [(3, 4)]),
    ("vsplit", lambda x: np.vsplit(x, [1]), [(3, 4)]),
    ("dsplit", lambda x: np.dsplit(x, 2), [(2, 2, 4)]),
    ("unstack", lambda x: np.unstack(x, axis=1), [(2, 3)]),
    ("tile_int", lambda x: np.tile(x, 3), [(2,)]),
    ("tile_2d", lambda x: np.tile(x, (2, 1)), [(2, 3)]),
    ("tile_grow", lambda x: np.tile(x, (2, 1, 3)), [(2, 3)]),
    ("tile_short_reps", lambda x: np.tile(x, 2), [(2, 3)]),
    ("tile_scalar", lambda x: np.tile(x, (2, 2)), [()]),
    ("repeat_flat", lambda x: np.repeat(x, 2), [(2, 3)]),
    ("repeat_axis", lambda x: np.repeat(x, 3, axis=1), [(2, 3)]),
    ("repeat_neg_axis", lambda x: x.repeat(2, axis=-2), [(2, 3)]),
    ("repeat_array", lambda x: np.repeat(x, [1, 0, 2], axis=-1), [(2, 3)]),
    ("repeat_array_flat", lambda x: np.repeat(x, [2, 1, 0, 3]), [(2, 2)]),
    ("repeat_one_element_list", lambda x: np.repeat(x, [2], axis=0), [(2, 3)]),
    ("flip_all", np.flip, [(2, 3, 4)]),
    ("flip_0", lambda x: np.flip(x, 0), [(2, 3, 4)]),
    ("flip_tuple", lambda x: np.flip(x, (0, -1)), [(2, 3, 4)]),
    ("fliplr", np.fliplr, [(2, 3)]),
    ("flipud", np.flipud, [(3,)]),
    ("rot90", np.rot90, [(2, 3)]),
    ("rot90_k2", lambda x: np.rot90(x, 2), [(2, 3)]),
    ("rot90_k3_axes", lambda x: np.rot90(x, 3, axes=(1, 2)), [(2, 3, 4)]),
    ("rot90_neg", lambda x: np.rot90(x, -1, axes=(-1, 0)), [(2, 3, 4)]),
    ("roll", lambda x: np.roll(x, 2), [(2, 3)]),
    ("roll_axis", lambda x: np.roll(x, -1, axis=0), [(3, 4)]),
    ("roll_tuple", lambda x: np.roll(x, (1, 2), axis=(0, -1)), [(3, 4)]),
    ("roll_same_axis_twice", lambda x: np.roll(x, (1, 2), axis=(1, 1)), [(3, 4)]),
    ("roll_big", lambda x: np.roll(x, 7, axis=1), [(3, 4)]),
    ("pad_int", lambda x: np.pad(x, 1), [(2, 3)]),
    ("pad_pairs", lambda x: np.pad(x, ((1, 2), (0, 3))), [(2, 3)]),
    ("pad_constant_value", lambda x: np.pad(x, (2, 1), constant_values=2.5), [(3,)]),
    ("pad_constant_traced", lambda x, c: np.pad(x, ((1, 0), (2, 1)), constant_values=c), [(2, 3), ()]),
    ("pad_edge", lambda x: np.pad(x, ((1, 2), (2, 0)), mode="edge"), [(2, 3)]),
    ("pad_wrap_wide", lambda x: np.pad(x, (4, 5), mode="wrap"), [(3,)]),
    ("pad_wrap_2d", lambda x: np.pad(x, 2, mode="wrap"), [(2, 3)]),
    ("pad_reflect", lambda x: np.pad(x, ((2, 1), (3, 3)), mode="reflect"), [(3, 4)]),
    ("pad_reflect_wide", lambda x: np.pad(x, 7, mode="reflect"), [(3,)]),
    ("pad_symmetric", lambda x: np.pad(x, (3, 2), mode="symmetric"), [(2, 3)]),
    ("triu", np.triu, [(4, 4)]),
    ("triu_k", lambda x: np.triu(x, 1), [(3, 5)]),
    ("triu_batch", lambda x: np.triu(x, -1), [(2, 3, 3)]),
    ("triu_1d", lambda x: np.triu(x, 1), [(4,)]),
    ("tril", np.tril, [(4, 4)]),
    ("tril_k", lambda x: np.tril(x, k=-1), [(5, 3)]),
    ("tril_1d", np.tril, [(3,)]),
    ("take_flat", lambda x: np.take(x, [5, 0, 5, 2]), [(2, 3)]),
    ("take_axis", lambda x: np.take(x, [2, 0, 2], axis=1), [(2, 3)]),
    ("take_neg_axis_2d_idx", lambda x: np.take(x, [[1, 0], [1, 1]], axis=-1), [(3, 2)]),
    ("take_scalar", lambda x: np.take(x, 1, axis=0), [(3, 2)]),
    ("take_negative_index", lambda x: x.take([-1, 0]), [(4,)]),
    ("take_wrap", lambda x: np.take(x, [4, -5, 1], axis=0, mode="wrap"), [(3, 2)]),
    ("take_clip", lambda x: np.take(x, [4, -5, 1], mode="clip"), [(3,)]),
    ("take_along_axis", lambda x: np.take_along_axis(x, np.array([[0, 2, 2], [1, 1, 0]]), 1), [(2, 3)]),
    ("take_along_axis_0", lambda x: np.take_along_axis(x, np.array([[1, 0, 1]]), axis=0), [(2, 3)]),
    ("take_along_axis_None", lambda x: np.take_along_axis(x, np.array([5, 0, 0]), None), [(2, 3)]),
    ("real", lambda x: np.real(x) * x.real, [(2, 3)]),
    ("imag", lambda x: x + np.imag(x) + x.imag, [(2, 3)]),
    ("conjugate", lambda x: np.conjugate(x) * np.conj(x) + x.conj(), [(2, 3)]),
]

SORT_CASES = [
    ("sort", np.sort, [(5,)]),
    ("sort_axis0", lambda x: np.sort(x, axis=0), [(3, 4)]),
    ("sort_None", lambda x: np.sort(x, axis=None), [(3, 4)]),
    ("sort_neg_kind", lambda x: np.sort(x, axis=-1, kind="mergesort"), [(3, 4)]),
    ("partition", lambda x: np.partition(x, 2), [(3, 5)]),
    ("partition_axis0", lambda x: np.partition(x, (0, 2), axis=0), [(4, 3)]),
]


def _ids(cases):
    return [c[0] for c in cases]


def _sin_tree(out):
    return tree_map(np.sin, out)


@pytest.mark.parametrize(("name", "fun", "shapes"), CASES, ids=_ids(CASES))
def test_rule_matches_finite_differences(name, fun, shapes):
    args = [_draw(*s) for s in shapes]
    check_derivatives(fun, *args, order=1)
    # Through a nonlinearity, so that the second order exercises the rules' own rules.
    check_derivatives(lambda *a: _sin_tree(fun(*a)), *args, order=2)


@pytest.mark.parametrize(("name", "fun", "shapes"), SORT_CASES, ids=_ids(SORT_CASES))
def test_sort_rules(name, fun, shapes):
    args = [_distinct(*s) for s in shapes]
    check_derivatives(lambda *a: _sin_tree(fun(*a)), *args, order=2)


@pytest.mark.parametrize(("name", "fun", "shapes"), CASES + SORT_CASES, ids=_ids(CASES + SORT_CASES))
def test_traced_value_equals_numpy(name, fun, shapes):
    args = [_distinct(*s) for s in shapes]
    expected = fun(*args)
    got, _ = cr.vjp(fun, *args)
    exp_leaves, got_leaves = tree_leaves(expected), tree_leaves(got)
    assert len(exp_leaves) == len(got_leaves)
    for e, g in zip(exp_leaves, got_leaves):
        assert np.shape(g) == np.shape(e)
        np.testing.assert_array_equal(g, e)


def test_third_order_through_joins_and_gathers():
    x = _draw(3, 4)
    f = lambda a: np.sum(np.concatenate([a, np.flip(a, 0)], 1)[:, [0, 0, 5]] ** 3)
    check_derivatives(f, x, order=3)
    check_derivatives(lambda a: np.sin(np.pad(np.tile(a, (1, 2)), 1, mode="wrap")), x, order=3)


# -- exact counts: how many times each input element reaches the output ---------------------------
def _counts(fun, x):
    return cr.grad(lambda a: np.sum(fun(a)))(x)


def test_repeat_counts():
    x = np.arange(1.0, 5.0)
    np.testing.assert_array_equal(_counts(lambda a: np.repeat(a, [1, 0, 3, 2]), x), [1, 0, 3, 2])
    np.testing.assert_array_equal(_counts(lambda a: np.repeat(a, 3), x), [3, 3, 3, 3])
    xm = np.ones((2, 3))
    np.testing.assert_array_equal(_counts(lambda a: np.repeat(a, [2, 0], axis=0), xm), [[2] * 3, [0] * 3])


def test_tile_counts():
    np.testing.assert_array_equal(_counts(lambda a: np.tile(a, (2, 3)), np.ones(4)), np.full(4, 6.0))


def test_take_duplicate_indices_accumulate():
    x = np.zeros(4)
    np.testing.assert_array_equal(_counts(lambda a: np.take(a, [3, 3, 3, 0]), x), [1, 0, 0, 3])
    # wrap: 5 -> 1 and -3 -> 1 (length 4)
    np.testing.assert_array_equal(_counts(lambda a: np.take(a, [5, -3, 1], mode="wrap"), x), [0, 3, 0, 0])
    np.testing.assert_array_equal(_counts(lambda a: np.take(a, [9, -9], mode="clip"), x), [1, 0, 0, 1])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # [a b c] padded by 2: wrap [b c a b c a b], edge [a a a b c c c],
        # reflect [c b a b c b a], symmetric [b a a b c c b].
        ("wrap", [2, 3, 2]),
        ("edge", [3, 1, 3]),
        ("reflect", [2, 3, 2]),
        ("symmetric", [2, 3, 2]),
        ("constant", [1, 1, 1]),
    ],
)
def test_pad_counts(mode, expected):
    np.testing.assert_array_equal(_counts(lambda a: np.pad(a, 2, mode=mode), np.ones(3)), expected)


def test_pad_traced_constant_gets_the_padded_area():
    # A (2, 3) array padded to (5, 6): 30 - 6 = 24 padded entries.
    f = lambda x, c: np.sum(np.pad(x, ((1, 2), (2, 1)), constant_values=c))
    gx, gc = cr.grad(f, argnums=(0, 1))(np.ones((2, 3)), 0.5)
    assert gc == 24.0
    np.testing.assert_array_equal(gx, np.ones((2, 3)))


def test_triu_1d_counts():
    # np.triu of a length-3 vector is a 3x3 matrix whose row i keeps columns j >= i.
    np.testing.assert_array_equal(_counts(np.triu, np.ones(3)), [1, 2, 3])
    np.testing.assert_array_equal(_counts(np.tril, np.ones(3)), [3, 2, 1])


def test_sort_gradient_follows_the_permutation():
    x = np.array([3.0, 1.0, 2.0])
    w = np.array([10.0, 20.0, 30.0])
    # sorted = [x1, x2, x0], so d/dx sum(w * sorted) = [w2, w0, w1]
    np.testing.assert_array_equal(cr.grad(lambda a: np.sum(w * np.sort(a)))(x), [30.0, 10.0, 20.0])


def test_sort_ties_go_in_original_order():
    x = np.array([1.0, 0.0, 1.0, 1.0])
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    # Stable: sorted = [x1, x0, x2, x3].
    np.testing.assert_array_equal(cr.grad(lambda a: np.sum(w * np.sort(a)))(x), [10.0, 1.0, 100.0, 1000.0])


def test_split_pieces_are_independent():
    g = cr.grad(lambda a: np.sum(np.split(a, [1, 3])[1] * 2.0))(np.ones(5))
    np.testing.assert_array_equal(g, [0, 2, 2, 0, 0])


def test_imag_of_real_is_plain_zeros():
    def f(a):
        im = np.imag(a)
        assert type(im) is np.ndarray
        assert im.dtype == a.dtype
        return np.sum(a) + np.sum(im)

    np.testing.assert_array_equal(cr.grad(f)(np.ones(3, dtype=np.float32)), np.ones(3))


# -- sequences with plain members ----------------------------------------------------------------
def test_joins_with_plain_members():
    c = np.array([[7.0, 8.0, 9.0]])
    check_derivatives(lambda x: np.sin(np.concatenate([c, x, c], axis=0)), _draw(2, 3))
    check_derivatives(lambda x: np.sin(np.stack([c[0], x, c[0]], axis=1)), _draw(3))
    check_derivatives(lambda x: np.sin(np.hstack([1.0, x, [2.0, 3.0]])), _draw(3))
    check_derivatives(lambda x: np.sin(np.vstack([x, [1.0, 2.0, 3.0]])), _draw(3))
    check_derivatives(lambda x: np.sin(np.column_stack([np.arange(3.0), x])), _draw(3))
    check_derivatives(lambda x: np.sin(np.dstack([x, np.ones((2, 2))])), _draw(2, 2))
    check_derivatives(lambda x: np.atleast_2d(x, 1.0)[0] * 2.0, _draw(3))
    g = cr.grad(lambda x: np.sum(np.concatenate([c[0], x, c[0]]) * np.arange(9.0)))(np.zeros(3))
    np.testing.assert_array_equal(g, [3.0, 4.0, 5.0])


def test_atleast_several_returns_tuple_and_plain_stays_plain():
    def f(x):
        a, b = np.atleast_1d(x, 2.0)
        assert type(b) is np.ndarray
        return np.sum(a) * b[0]

    assert cr.grad(f)(np.float64(1.5)) == 2.0


def test_split_with_traced_sections_is_refused():
    with pytest.raises(TracerConversionError):
        cr.grad(lambda x: np.sum(np.split(x, x[:1])[0]))(np.ones(4))


# -- dtype ---------------------------------------------------------------------------------------
FLOAT32_CASES = [
    lambda x: np.reshape(x, (-1,)),
    lambda x: np.concatenate([x, x.T]),
    lambda x: np.stack([x, np.ones((2, 2), np.float32)]),
    lambda x: np.hstack([x, np.zeros((2, 1), np.float32)]),
    lambda x: np.split(x, 2)[1],
    lambda x: np.tile(x, 2),
    lambda x: np.repeat(x, [1, 2], axis=0),
    lambda x: np.flip(x),
    lambda x: np.roll(x, 1),
    lambda x: np.pad(x, 1, constant_values=1.5),
    lambda x: np.pad(x, 1, mode="reflect"),
    lambda x: np.triu(x),
    lambda x: np.sort(x, axis=0),
    lambda x: np.take(x, [0, 0, 3]),
    lambda x: np.moveaxis(x, 0, 1),
    lambda x: np.squeeze(np.expand_dims(x, 1)),
]


@pytest.mark.parametrize("fun", FLOAT32_CASES)
def test_float32_stays_float32(fun):
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    g = cr.grad(lambda a: np.sum(fun(a) ** 2))(x)
    assert g.dtype == np.float32
    out, tangent = cr.jvp(fun, (x,), (np.ones_like(x),))
    assert tree_leaves(out)[0].dtype == np.float32
    assert tree_leaves(tangent)[0].dtype == np.float32


def test_pad_traced_float64_constant_keeps_float32_array():
    x = np.ones(2, dtype=np.float32)
    out, _ = cr.vjp(lambda c: np.pad(x * c, 1, constant_values=c), 2.0)
    assert out.dtype == np.float64  # x * c promotes: a float64 scalar is strong under NEP 50
    gx = cr.grad(lambda a: np.sum(np.pad(a, 1, constant_values=np.float64(1.0)) ** 2))(x)
    assert gx.dtype == np.float32


def test_mixed_precision_concatenate_gives_each_its_dtype():
    x32 = np.ones(2, dtype=np.float32)
    x64 = np.ones(3)
    g32, g64 = cr.grad(lambda a, b: np.sum(np.concatenate([a, b]) ** 2), argnums=(0, 1))(x32, x64)
    assert g32.dtype == np.float32
    assert g64.dtype == np.float64
    np.testing.assert_array_equal(g32, [2.0, 2.0])


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["linear_ramp", "maximum", "mean", "median", "minimum", "empty"])
def test_pad_unsupported_modes_name_the_mode(mode):
    with pytest.raises(UnsupportedOperationError, match=mode):
        cr.grad(lambda x: np.sum(np.pad(x, 1, mode=mode)))(np.ones(3))


def test_pad_odd_reflection_is_refused():
    with pytest.raises(UnsupportedOperationError, match="odd"):
        cr.grad(lambda x: np.sum(np.pad(x, 1, mode="reflect", reflect_type="odd")))(np.ones(3))


def test_pad_traced_array_constant_is_refused():
    with pytest.raises(UnsupportedOperationError, match="constant_values"):
        cr.grad(lambda x: np.sum(np.pad(x, 1, constant_values=(x[0], x[1]))))(np.ones(3))


def test_out_arguments_are_refused():
    buf = np.zeros(6)
    with pytest.raises(InPlaceError):
        cr.grad(lambda x: np.sum(np.concatenate([x, x], out=buf)))(np.ones(3))
    with pytest.raises(InPlaceError):
        cr.grad(lambda x: np.sum(np.take(x, [0, 1], out=buf[:2])))(np.ones(3))


def test_sort_with_order_is_refused():
    with pytest.raises(UnsupportedOperationError, match=r"numpy\.sort"):
        cr.grad(lambda x: np.sum(np.sort(x, order="f")))(np.ones(3))


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: np.squeeze(x, 0),
        lambda x: np.split(x, 4),
        lambda x: np.swapaxes(x, 0, 3),
        lambda x: np.moveaxis(x, 0, 5),
        lambda x: np.fliplr(x[0]),
    ],
)
def test_numpy_errors_are_kept(fun):
    with pytest.raises((ValueError, np.exceptions.AxisError)):
        fun(np.ones((3, 2)))
    with pytest.raises((ValueError, np.exceptions.AxisError)):
        cr.grad(lambda x: np.sum(fun(x)))(np.ones((3, 2)))
