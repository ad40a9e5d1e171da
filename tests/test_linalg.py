"""Linear algebra rules against finite differences (orders 1 and 2), plus exact edge cases."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_derivatives
from chainrule.errors import InPlaceError, UnsupportedOperationError

RNG = np.random.default_rng(0)


def _randn(*shape):
    return RNG.standard_normal(shape)


def _away_from_zero(*shape):
    """Entries with |x| in [0.3, 2], so finite differences never straddle the kink of |x|."""
    return RNG.choice([-1.0, 1.0], size=shape) * RNG.uniform(0.3, 2.0, size=shape)


def _well_conditioned(*shape):
    """A random (stack of) matrices close to a multiple of the identity."""
    n = shape[-1]
    return 0.5 * _randn(*shape) + n * np.eye(n)


def _spd(*shape):
    b = _randn(*shape)
    return b @ np.swapaxes(b, -1, -2) + shape[-1] * np.eye(shape[-1])


def _sym(a):
    return (a + np.swapaxes(a, -1, -2)) / 2.0


# -- products ------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3, 4), (4, 2)), ((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 2)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]  # fmt: skip


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES, ids=str)
def test_matmul(sa, sb):
    check_derivatives(np.matmul, _randn(*sa), _randn(*sb), order=2)
    check_derivatives(lambda a, b: a @ b, _randn(*sa), _randn(*sb), order=2)


DOT_SHAPES = [
    ((), ()), ((), (3, 2)), ((3,), ()), ((4,), (4,)), ((3, 4), (4, 2)), ((3, 4), (4,)),
    ((4,), (4, 3)), ((2, 3, 4), (4,)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 3)),
    ((2, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 5)),
]  # fmt: skip


@pytest.mark.parametrize(("sa", "sb"), DOT_SHAPES, ids=str)
def test_dot(sa, sb):
    a, b = _randn(*sa), _randn(*sb)
    np.testing.assert_allclose(cr.primal(np.dot(a, b)), np.dot(a, b))
    check_derivatives(np.dot, a, b, order=2)
    check_derivatives(lambda x, y: x.dot(y), a, b, order=2)


@pytest.mark.parametrize(
    ("fun", "sa", "sb"),
    [
        (np.inner, (4,), (4,)), (np.inner, (3, 4), (4,)), (np.inner, (2, 3, 4), (5, 4)),
        (np.inner, (), (2, 3)), (np.outer, (3,), (4,)), (np.outer, (2, 3), (2, 2)),
        (np.vdot, (6,), (6,)), (np.vdot, (2, 3), (3, 2)), (np.kron, (2, 3), (3, 2)),
        (np.kron, (3,), (2, 2)), (np.kron, (2, 1, 2), (2, 3)),
        (np.tensordot, (2, 3, 4), (3, 4, 5)),
        (lambda a, b: np.tensordot(a, b, axes=1), (2, 3), (3, 4)),
        (lambda a, b: np.tensordot(a, b, axes=0), (2, 3), (2,)),
        (lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])), (2, 3, 4), (4, 5, 2)),
        (lambda a, b: np.tensordot(a, b, axes=(-1, 0)), (2, 3), (3, 4)),
    ],
    ids=lambda p: getattr(p, "__name__", str(p)),
)  # fmt: skip
def test_products(fun, sa, sb):
    a, b = _randn(*sa), _randn(*sb)
    np.testing.assert_allclose(cr.primal(fun(a, b)), fun(a, b))
    check_derivatives(fun, a, b, order=2)


# -- einsum ------------------------------------------------------------------
EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("i,i->", [(4,)] * 2),
    ("i,i", [(4,)] * 2),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("iii->i", [(3, 3, 3)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,ij->ij", [(1, 4), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("i...->...", [(3, 2, 4)]),
    ("ijk,j->", [(2, 3, 4), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 2)]),
    ("i,j,k->ijk", [(2,), (3,), (2,)]),
    ("bA,Ab", [(2, 3), (3, 2)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ii,ij->j", [(3, 3), (3, 4)]),
    ("ab,bc->", [(2, 3), (3, 4)]),
    (",i->i", [(), (3,)]),
]


@pytest.mark.parametrize(("subscripts", "shapes"), EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
@pytest.mark.parametrize("optimize", [False, True])
def test_einsum(subscripts, shapes, optimize):
    args = [_randn(*s) for s in shapes]

    def f(*xs):
        return np.einsum(subscripts, *xs, optimize=optimize)

    np.testing.assert_allclose(cr.primal(f(*args)), np.einsum(subscripts, *args), atol=1e-12)
    check_derivatives(f, *args, order=2)


def test_einsum_sublist_form():
    a, b = _randn(2, 3), _randn(3, 4)
    check_derivatives(lambda x, y: np.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b, order=2)
    check_derivatives(lambda x, y: np.einsum(x, [0, Ellipsis], y, [Ellipsis]), a, _randn(3), order=2)


def test_einsum_diagonal_cotangent_is_exact():
    # d/dA sum_i A_ii w_i = diag(w): the cotangent lands on the diagonal only.
    w = np.array([1.0, 2.0, 3.0])
    g = cr.grad(lambda a: np.einsum("ii->i", a) @ w)(_randn(3, 3))
    np.testing.assert_array_equal(g, np.diag(w))
    # A label only one operand carries is summed inside it: its cotangent broadcasts.
    g = cr.grad(lambda a, b: np.einsum("ij,j->", a, b), argnums=1)(np.ones((4, 3)), _randn(3))
    np.testing.assert_array_equal(g, np.full(3, 4.0))


def test_einsum_refuses_out_and_mismatched_subscripts():
    a = _randn(3, 3)
    with pytest.raises(InPlaceError):
        cr.grad(lambda x: np.sum(np.einsum("ij->ij", x, out=np.empty((3, 3)))))(a)
    with pytest.raises(ValueError, match="ellipsis"):
        cr.grad(lambda x: np.sum(np.einsum("...ii->i", x)))(_randn(2, 3, 3))


# -- diagonals -------------------------------------------------------------------
DIAG_CASES = [
    (lambda a: np.trace(a), (3, 3)), (lambda a: np.trace(a, 1), (3, 4)),
    (lambda a: np.trace(a, -1), (4, 3)), (lambda a: np.trace(a, 0, 0, 2), (3, 2, 3)),
    (lambda a: np.trace(a, -1, 2, 0), (3, 2, 4)), (lambda a: a.trace(), (3, 3)),
    (lambda a: np.diagonal(a), (3, 4)), (lambda a: np.diagonal(a, 2), (3, 4)),
    (lambda a: np.diagonal(a, -1, 1, 2), (2, 3, 4)), (lambda a: np.diagonal(a, 0, -1, 0), (3, 2, 4)),
    (lambda a: a.diagonal(1), (3, 3)), (lambda a: np.diag(a), (3,)), (lambda a: np.diag(a, 2), (3,)),
    (lambda a: np.diag(a, -1), (3,)), (lambda a: np.diag(a), (3, 4)), (lambda a: np.diag(a, -2), (4, 3)),
    (lambda a: np.linalg.diagonal(a, offset=1), (2, 3, 3)), (lambda a: np.linalg.trace(a), (2, 3, 3)),
    (lambda a: np.diag(np.diag(a)), (3, 3)),
]  # fmt: skip


@pytest.mark.parametrize(("fun", "shape"), DIAG_CASES)
def test_diagonals(fun, shape):
    a = _randn(*shape)
    np.testing.assert_allclose(cr.primal(fun(a)), fun(a))
    check_derivatives(fun, a, order=2)


def test_trace_gradient_is_identity():
    np.testing.assert_array_equal(cr.grad(np.trace)(_randn(3, 3)), np.eye(3))
    np.testing.assert_array_equal(cr.grad(lambda a: np.trace(a, 1))(_randn(2, 3)), np.eye(2, 3, 1))


# -- norms ---------------------------------------------------------------------
VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 3, 1.5, 0.5, -2]


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
@pytest.mark.parametrize(
    ("shape", "axis", "keepdims"),
    [((5,), None, False), ((5,), 0, True), ((3, 4), 1, False), ((3, 4), 0, True), ((2, 3, 4), -1, False)],
    ids=str,
)
def test_vector_norm(ord, shape, axis, keepdims):
    x = _away_from_zero(*shape)

    def f(a):
        return np.linalg.norm(a, ord, axis, keepdims)

    np.testing.assert_allclose(cr.primal(f(x)), f(x))
    check_derivatives(f, x, order=2)


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf], ids=str)
@pytest.mark.parametrize(
    ("shape", "axis", "keepdims"),
    [((3, 4), None, False), ((4, 3), None, True), ((3, 3), None, False), ((2, 3, 4), (1, 2), False),
     ((3, 2, 4), (2, 0), True), ((4, 2, 3), (0, 2), False)],
    ids=str,
)  # fmt: skip
def test_matrix_norm(ord, shape, axis, keepdims):
    x = _away_from_zero(*shape)

    def f(a):
        return np.linalg.norm(a, ord, axis, keepdims)

    np.testing.assert_allclose(cr.primal(f(x)), f(x))
    check_derivatives(f, x, order=2)


def test_norm_of_whole_array_and_array_api_norms():
    x = _away_from_zero(2, 3, 4)
    check_derivatives(np.linalg.norm, x, order=2)
    check_derivatives(lambda a: np.linalg.norm(a, keepdims=True), x, order=2)
    check_derivatives(lambda a: np.linalg.norm(a), np.array(-1.5), order=2)
    check_derivatives(lambda a: np.linalg.vector_norm(a, axis=(0, 2), ord=3), x, order=2)
    check_derivatives(lambda a: np.linalg.vector_norm(a, ord=np.inf, keepdims=True), x, order=2)
    check_derivatives(lambda a: np.linalg.matrix_norm(a, ord="nuc"), x, order=2)
    check_derivatives(lambda a: np.linalg.matrix_norm(a, keepdims=True), x, order=2)


# (Negative finite orders are left out: NumPy itself divides by zero there.)
@pytest.mark.parametrize("ord", [o for o in VECTOR_ORDS if o is None or o > 0 or o == -np.inf], ids=str)
def test_vector_norm_at_zero_has_zero_gradient_and_finite_second_order(ord):
    z = np.zeros(4)
    g = cr.grad(lambda a: np.linalg.norm(a, ord))(z)
    np.testing.assert_array_equal(g, np.zeros(4))
    # Second order: a zero cotangent (and a zero point) must not give NaN.
    h = cr.grad(lambda a: np.sum(cr.grad(lambda b: np.linalg.norm(b, ord))(a)))(z)
    assert np.all(np.isfinite(h))
    h = cr.grad(lambda a: np.sum(cr.grad(lambda b: 0.0 * np.linalg.norm(b, ord))(a)))(z)
    np.testing.assert_array_equal(h, np.zeros(4))
    _, t = cr.jvp(cr.grad(lambda b: np.linalg.norm(b, ord)), (z,), (np.ones(4),))
    assert np.all(np.isfinite(t))


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf], ids=str)
def test_matrix_norm_at_zero_has_zero_gradient(ord):
    z = np.zeros((3, 4))
    np.testing.assert_array_equal(cr.grad(lambda a: np.linalg.norm(a, ord))(z), np.zeros((3, 4)))
    h = cr.grad(lambda a: np.sum(cr.grad(lambda b: 0.0 * np.linalg.norm(b, ord))(a)))(z)
    np.testing.assert_array_equal(h, np.zeros((3, 4)))


def test_norm_subgradients_are_the_documented_ones():
    x = np.array([3.0, -3.0, 1.0, 0.0])
    grad = lambda o: cr.grad(lambda a: np.linalg.norm(a, o))(x)
    # 2-norm sqrt(19): x / ||x||.
    np.testing.assert_allclose(grad(None), x / math.sqrt(19.0))
    # 1-norm: sign, with 0 at the zero element.
    np.testing.assert_array_equal(grad(1), [1.0, -1.0, 1.0, 0.0])
    # inf-norm: |3| and |-3| tie for the max: half each, with its sign.
    np.testing.assert_array_equal(grad(np.inf), [0.5, -0.5, 0.0, 0.0])
    # -inf-norm: the smallest |x| is the 0 element, whose sign is 0.
    np.testing.assert_array_equal(grad(-np.inf), [0.0, 0.0, 0.0, 0.0])
    # 3-norm: sign(x) |x|^2 / ||x||^2 with ||x||^3 = 55.
    n = 55.0 ** (1.0 / 3.0)
    np.testing.assert_allclose(grad(3), [9.0 / n**2, -9.0 / n**2, 1.0 / n**2, 0.0])
    # nuclear norm of diag(3, 1): gradient U V^T = identity; 2-norm: e1 e1^T.
    d = np.diag([3.0, 1.0])
    np.testing.assert_allclose(cr.grad(lambda a: np.linalg.norm(a, "nuc"))(d), np.eye(2), atol=1e-15)
    np.testing.assert_allclose(
        cr.grad(lambda a: np.linalg.norm(a, 2))(d), [[1.0, 0.0], [0.0, 0.0]], atol=1e-15
    )
    # matrix 1-norm: max column |sum|; column 0 wins with |2| + |-3|.
    m = np.array([[2.0, 1.0], [-3.0, 1.0]])
    np.testing.assert_array_equal(cr.grad(lambda a: np.linalg.norm(a, 1))(m), [[1.0, 0.0], [-1.0, 0.0]])


def test_norm_ord_zero_is_piecewise_constant_and_spectral_third_order_is_refused():
    x = np.array([1.0, 0.0, 2.0])
    assert cr.primal(np.linalg.norm(x, 0)) == 2.0
    f = lambda b: np.linalg.norm(b, "nuc")
    with pytest.raises(UnsupportedOperationError, match="second order"):
        cr.grad(lambda a: np.sum(cr.grad(lambda b: np.sum(cr.grad(f)(b)))(a)))(_randn(3, 3))


# -- numpy.linalg solvers ----------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 3, 3), (2, 1, 4, 4)], ids=str)
def test_inv_det_slogdet(shape):
    a = _well_conditioned(*shape)
    check_derivatives(np.linalg.inv, a, order=2)
    check_derivatives(np.linalg.det, a, order=2)
    check_derivatives(lambda x: np.linalg.slogdet(x).logabsdet, a, order=2)
    check_derivatives(lambda x: np.linalg.slogdet(-x)[1], a, order=2)


@pytest.mark.parametrize(
    ("sa", "sb"),
    [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (2, 3, 2)), ((2, 3, 3), (3, 1)),
     ((3, 3), (2, 3, 2)), ((1, 3, 3), (2, 3, 4))],
    ids=str,
)  # fmt: skip
def test_solve(sa, sb):
    a, b = _well_conditioned(*sa), _randn(*sb)
    np.testing.assert_allclose(cr.primal(np.linalg.solve(a, b)), np.linalg.solve(a, b))
    check_derivatives(np.linalg.solve, a, b, order=2)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (4, 4), (2, 3, 3)], ids=str)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, upper):
    a = _spd(*shape)
    np.testing.assert_allclose(
        cr.primal(np.linalg.cholesky(a, upper=upper)), np.linalg.cholesky(a, upper=upper)
    )
    check_derivatives(lambda x: np.linalg.cholesky(_sym(x), upper=upper), a, order=2)


def test_exact_matrix_gradients():
    # d det / dA for a 2x2 [[a, b], [c, d]] is [[d, -c], [-b, a]].
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    np.testing.assert_allclose(cr.grad(np.linalg.det)(a), [[3.0, -0.5], [-1.0, 2.0]])
    # log|det| of diag(2, -4) has gradient diag(1/2, -1/4); its sign carries none.
    res = np.linalg.slogdet(np.diag([2.0, -4.0]))
    g = cr.grad(lambda x: np.linalg.slogdet(x)[1])(np.diag([2.0, -4.0]))
    np.testing.assert_allclose(g, np.diag([0.5, -0.25]))
    assert res.sign == -1.0
    # inverse of a diagonal: d(1/x)/dx = -1/x^2 on the diagonal.
    g = cr.grad(lambda x: np.trace(np.linalg.inv(x)))(np.diag([2.0, 4.0]))
    np.testing.assert_allclose(g, np.diag([-0.25, -0.0625]))
    # cholesky of diag(4, 9) = diag(2, 3); d sqrt(x) = 1 / (2 sqrt(x)).
    g = cr.grad(lambda x: np.trace(np.linalg.cholesky(x)))(np.diag([4.0, 9.0]))
    np.testing.assert_allclose(g, np.diag([0.25, 1.0 / 6.0]))


def test_slogdet_returns_numpy_result_type_with_plain_sign():
    a = _well_conditioned(2, 3, 3)

    def f(x):
        res = np.linalg.slogdet(x)
        assert type(res) is type(np.linalg.slogdet(a))
        assert type(res.sign) is np.ndarray
        return res.logabsdet

    check_derivatives(f, a, order=1)


# -- dtypes and refusals -------------------------------------------------------
F32_CASES = [
    lambda a: a @ a, lambda a: np.dot(a, a[0]), lambda a: np.einsum("ij,jk->ik", a, a),
    lambda a: np.einsum("ii->i", a), lambda a: np.einsum("ii", a), lambda a: np.trace(a),
    lambda a: np.diag(np.diag(a)), lambda a: np.kron(a, a), lambda a: np.outer(a, a),
    lambda a: np.tensordot(a, a), lambda a: np.linalg.inv(a), lambda a: np.linalg.det(a),
    lambda a: np.linalg.slogdet(a)[1], lambda a: np.linalg.solve(a, a[0]),
    lambda a: np.linalg.cholesky(a @ a.T), lambda a: np.linalg.norm(a),
    lambda a: np.linalg.norm(a, np.inf, axis=0), lambda a: np.linalg.norm(a, 3, axis=1),
    lambda a: np.linalg.norm(a, "nuc"), lambda a: np.linalg.norm(a, 2),
]  # fmt: skip


@pytest.mark.parametrize("fun", F32_CASES)
def test_float32_in_float32_out(fun):
    a = (_randn(3, 3) + 3.0 * np.eye(3)).astype(np.float32)
    value, g = cr.value_and_grad(lambda x: np.sum(fun(x)))(a)
    assert value.dtype == np.float32
    assert g.dtype == np.float32
    _, t = cr.jvp(lambda x: np.sum(fun(x)), (a,), (np.ones_like(a),))
    assert t.dtype == np.float32


@pytest.mark.parametrize(
    "fun",
    [
        lambda a: np.dot(a, a, out=np.empty((2, 2))),
        lambda a: np.outer(a, a, out=np.empty((4, 4))),
        lambda a: np.trace(a, out=np.empty(())),
    ],
)
def test_out_is_refused(fun):
    with pytest.raises(InPlaceError):
        cr.grad(lambda x: np.sum(fun(x)))(_randn(2, 2))
