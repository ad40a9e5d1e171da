"""vmap equals a Python loop over the examples, for the rule tables of the other test files.

Every test that calls ``chainrule.check.check_rule`` already checks vmap (values,
``vmap(grad)``, ``grad(vmap)``) for its cases; this file drives the tables that
are checked without it (shapes, reductions, products, indexing, decompositions)
through the same helper, :func:`chainrule.check.vmapcheck.check_vmap`.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import at
from chainrule.check.vmapcheck import check_vmap
from chainrule.engine.batching import rule_kind
from test_decompositions import EIGH_SHAPES, QR_SHAPES, SVD_SHAPES
from test_indexing import INDICES, UPDATE_INDICES
from test_linalg import DIAG_CASES, DOT_SHAPES, EINSUM_CASES, MATMUL_SHAPES
from test_reductions import REDUCTIONS, SHAPE_AXIS
from test_shape import CASES, SORT_CASES

RNG = np.random.default_rng(15)


def _examples(shapes, count=3, draw=None):
    draw = draw or (lambda s: RNG.standard_normal(s))
    return [tuple(draw(s) for s in shapes) for _ in range(count)]


def _distinct(shape):
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.5 + RNG.uniform(-0.1, 0.1, n)).reshape(shape)


@pytest.mark.parametrize(
    ("name", "fun", "shapes"), CASES + SORT_CASES, ids=[c[0] for c in CASES + SORT_CASES]
)
def test_shape_table(name, fun, shapes):
    check_vmap(fun, _examples(shapes, draw=_distinct))


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize(("shape", "axis"), SHAPE_AXIS, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_table(name, shape, axis, keepdims):
    f, _ = REDUCTIONS[name]
    check_vmap(lambda a: f(a, axis, keepdims), _examples([shape], draw=_distinct))


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES, ids=str)
def test_matmul_table(sa, sb):
    check_vmap(np.matmul, _examples([sa, sb]))


@pytest.mark.parametrize(("sa", "sb"), DOT_SHAPES, ids=str)
def test_dot_table(sa, sb):
    check_vmap(np.dot, _examples([sa, sb]))


@pytest.mark.parametrize(("subscripts", "shapes"), EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_table(subscripts, shapes):
    check_vmap(lambda *xs: np.einsum(subscripts, *xs), _examples(shapes))


@pytest.mark.parametrize(("fun", "shape"), DIAG_CASES)
def test_diagonal_table(fun, shape):
    check_vmap(fun, _examples([shape]))


@pytest.mark.parametrize(("name", "index"), INDICES, ids=[c[0] for c in INDICES])
def test_getitem_table(name, index):
    check_vmap(lambda a: a[index], _examples([(3, 4, 5)]))


@pytest.mark.parametrize("op", ["set", "add", "multiply"])
@pytest.mark.parametrize(("name", "index", "vshape"), UPDATE_INDICES, ids=[c[0] for c in UPDATE_INDICES])
def test_update_table(op, name, index, vshape):
    check_vmap(lambda a, b: getattr(at(a)[index], op)(b), _examples([(3, 4), vshape]))


def _spd(shape):
    a = RNG.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize("shape", SVD_SHAPES, ids=str)
def test_svd_table(shape):
    # The singular values and the products U S and S Vh: the factors' signs are arbitrary,
    # but LAPACK picks them the same way for a matrix alone and in a stack.
    check_vmap(lambda a: np.linalg.svd(a, compute_uv=False), _examples([shape]), rtol=1e-8)
    check_vmap(lambda a: np.linalg.svd(a, full_matrices=False).U, _examples([shape]), derivatives=False)


@pytest.mark.parametrize("shape", EIGH_SHAPES, ids=str)
def test_eigh_table(shape):
    check_vmap(lambda a: np.linalg.eigvalsh(a), _examples([shape], draw=_spd), rtol=1e-8)


@pytest.mark.parametrize("shape", QR_SHAPES, ids=str)
def test_qr_table(shape):
    check_vmap(lambda a: np.linalg.qr(a).R, _examples([shape]), rtol=1e-8)


@pytest.mark.parametrize(
    "fun",
    [np.linalg.inv, np.linalg.det, lambda a: np.linalg.slogdet(a)[1], np.linalg.cholesky, np.linalg.pinv,
     lambda a: np.linalg.norm(a, 2, axis=(-2, -1)), lambda a: np.linalg.norm(a, "nuc", axis=(-2, -1)),
     lambda a: np.linalg.norm(a, axis=-1),
     lambda a: np.linalg.solve(a, a[..., :1] + 1.0), np.triu, lambda a: np.tril(a, -1)],
    ids=["inv", "det", "slogdet", "cholesky", "pinv", "norm2", "nuc", "vector_norm", "solve", "triu", "tril"],
)  # fmt: skip
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)], ids=str)
def test_linalg_table(fun, shape):
    check_vmap(fun, _examples([shape], draw=_spd), rtol=1e-8)


def test_every_ruled_primitive_has_a_batching_kind():
    # The coverage column: a kind for each primitive, and the loop only where it is named.
    from chainrule.engine import RULED_PRIMITIVES

    kinds = {p.name: rule_kind(p) for p in RULED_PRIMITIVES}
    assert set(kinds.values()) <= {"elementwise", "axis", "leading axes", "joining", "products", "indexing",
                                   "shape", "convolution", "samples", "samples, channels", "loop",
                                   "traced"}  # fmt: skip
    assert kinds["numpy.sum"] == "axis" and kinds["numpy.sin"] == "elementwise"
    assert kinds["numpy.matmul"] == "products" and kinds["numpy.linalg.inv"] == "leading axes"


def test_the_loop_fallback_is_correct_and_used():
    # A primitive with no batching rule runs once per example; the values still match a loop.
    calls = []

    def impl(x):
        calls.append(np.shape(x))
        return np.cumsum(x[::-1])

    prim = cr.Primitive("vmap_test_reverse_cumsum", impl)
    xs = RNG.standard_normal((4, 5))
    got = cr.vmap(prim)(xs)
    np.testing.assert_allclose(got, np.stack([np.cumsum(x[::-1]) for x in xs]))
    assert calls == [(5,)] * 4  # one call per example, never the stacked data
    assert rule_kind(prim) == "loop"
