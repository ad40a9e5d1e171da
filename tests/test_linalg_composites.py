"""numpy.linalg pinv, lstsq, matrix_power, multi_dot, tensorsolve, tensorinv, cond.

Checked with check_rule (orders 1 and 2, every mix of modes, against
chainrule.numerical) on structured inputs, plus exact values against NumPy and
the edge cases each documents (rank, negative powers, 1-D ends, refusals).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_derivatives, check_rule
from chainrule.errors import InPlaceError

RNG = np.random.default_rng(2)


def _orthogonal(rng, *shape):
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    return q


def _separated(rng, shape):
    """Singular values spread over [1, 3]: well conditioned, distinct (cond's 2-norm is smooth)."""
    *batch, m, n = shape
    k = min(m, n)
    s = np.linspace(1.0, 3.0, k) if k > 1 else np.array([2.0])
    return (_orthogonal(rng, *batch, m, k) * s) @ np.swapaxes(_orthogonal(rng, *batch, n, k), -1, -2)


def _well_conditioned(rng, shape):
    n = shape[-1]
    return 0.3 * rng.standard_normal(shape) + n * np.eye(n)


def _one(make):
    return lambda rng, shapes: [make(rng, shapes[0])]


# -- pinv -----------------------------------------------------------------------------------------
def test_pinv_check_rule():
    check_rule(np.linalg.pinv, nargs=1, shapes=[(3, 3), (4, 2), (2, 4), (2, 3, 4), (2, 1, 3, 2)],
               args_factory=_one(_separated))  # fmt: skip


def test_pinv_matches_numpy_and_its_defining_identities():
    a = _separated(RNG, (2, 4, 3))
    p, dp = cr.jvp(np.linalg.pinv, (a,), (a,))
    np.testing.assert_allclose(p, np.linalg.pinv(a), atol=1e-12)
    # pinv(A) is homogeneous of degree -1: its derivative along A itself is -pinv(A).
    np.testing.assert_allclose(dp, -np.linalg.pinv(a), atol=1e-12)
    # For full column rank pinv(A) = (A^T A)^{-1} A^T: compare with that composition.
    t = RNG.standard_normal(a.shape)
    want = cr.jvp(lambda x: np.linalg.inv(np.swapaxes(x, -1, -2) @ x) @ np.swapaxes(x, -1, -2), (a,), (t,))[1]
    np.testing.assert_allclose(cr.jvp(np.linalg.pinv, (a,), (t,))[1], want, atol=1e-10)


def test_pinv_rank_deficient_constant_rank():
    # Golub-Pereyra holds where the rank is locally constant: along A = B C with inner size 2
    # every perturbation keeps rank 2, and finite differences agree.
    b, c = RNG.standard_normal((4, 2)), RNG.standard_normal((2, 3))
    check_derivatives(lambda x, y: np.linalg.pinv(x @ y, rcond=1e-10), b, c, order=2, h=5e-4)
    check_derivatives(lambda x, y: np.linalg.pinv(x @ y, rtol=1e-10), b, c, order=1, h=5e-4)


def test_pinv_truncating_nonzero_singular_values():
    # A large rcond drops singular values that are not zero: pinv is the truncated
    # V_r S_r^{-1} U_r^T, whose derivative couples kept and dropped singular vectors
    # (Golub-Pereyra, which treats the dropped values as 0, is off by terms of their size).
    a = _separated(RNG, (3, 4, 3))  # singular values 1, 2, 3
    rcond = np.array([1e-15, 0.5, 0.9])  # keeps 3, 2 and 1 of them
    fun = lambda x: np.linalg.pinv(x, rcond=rcond)
    np.testing.assert_allclose(cr.jvp(fun, (a,), (a,))[0], np.linalg.pinv(a, rcond=rcond), atol=1e-12)
    check_derivatives(fun, a, order=2, h=5e-4)
    b = RNG.standard_normal(4)
    sol = lambda x, y: np.linalg.lstsq(x, y, rcond=0.5)[0]
    np.testing.assert_allclose(sol(a[0], b), np.linalg.lstsq(a[0], b, rcond=0.5)[0], atol=1e-12)
    check_derivatives(sol, a[0], b, order=2, h=5e-4)


def test_pinv_hermitian_reads_the_lower_triangle():
    s = _well_conditioned(RNG, (3, 3))
    a = np.tril(s + s.T) + np.triu(RNG.standard_normal((3, 3)), 1)  # junk above the diagonal
    np.testing.assert_allclose(cr.jvp(lambda x: np.linalg.pinv(x, hermitian=True), (a,), (a,))[0],
                               np.linalg.pinv(a, hermitian=True), atol=1e-12)  # fmt: skip
    check_derivatives(lambda x: np.linalg.pinv(x, hermitian=True), a, order=2, h=5e-4)
    g = cr.grad(lambda x: np.sum(np.linalg.pinv(x, hermitian=True) ** 2))(a)
    np.testing.assert_array_equal(np.triu(g, 1), 0.0)


def test_pinv_refuses_rcond_and_rtol_together():
    with pytest.raises(ValueError, match="rtol"):
        cr.grad(lambda x: np.sum(np.linalg.pinv(x, rcond=1e-3, rtol=1e-3)))(np.eye(2))


# -- lstsq ----------------------------------------------------------------------------------------
LSTSQ_SHAPES = [((5, 3), (5,)), ((5, 3), (5, 2)), ((3, 5), (3,)), ((3, 3), (3, 2)), ((4, 1), (4, 1))]


@pytest.mark.parametrize(("sa", "sb"), LSTSQ_SHAPES, ids=str)
def test_lstsq_outputs_match_numpy(sa, sb):
    a, b = _separated(RNG, sa), RNG.standard_normal(sb)
    got = cr.jvp(lambda x, y: np.linalg.lstsq(x, y), (a, b), (a, b))[0]
    want = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(got[0], want[0], atol=1e-12)
    assert got[1].shape == want[1].shape
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10)
    assert got[2] == want[2]
    assert isinstance(got[2], np.integer)
    np.testing.assert_allclose(got[3], want[3], rtol=1e-12)


def _lstsq_differentiable(x, y):
    sol, res, _, s = np.linalg.lstsq(x, y)
    return sol, res, s


def test_lstsq_check_rule():
    def factory(rng, shapes):
        return [_separated(rng, shapes[0]), rng.standard_normal(shapes[1])]

    check_rule(_lstsq_differentiable, nargs=2, shapes=LSTSQ_SHAPES, args_factory=factory)


def test_lstsq_solution_gradient_matches_normal_equations():
    a, b = _separated(RNG, (6, 3)), RNG.standard_normal(6)
    normal = lambda x, y: np.linalg.solve(x.T @ x, x.T @ y)
    for argnum in (0, 1):
        want = cr.grad(lambda x, y: np.sum(normal(x, y) ** 2), argnums=argnum)(a, b)
        got = cr.grad(lambda x, y: np.sum(np.linalg.lstsq(x, y)[0] ** 2), argnums=argnum)(a, b)
        np.testing.assert_allclose(got, want, atol=1e-10)


def test_lstsq_rank_deficient_is_minimum_norm():
    a = RNG.standard_normal((5, 2)) @ RNG.standard_normal((2, 3))  # rank 2
    b = RNG.standard_normal(5)
    sol, res, rank, _ = cr.jvp(lambda x: np.linalg.lstsq(x, b), (a,), (a,))[0]
    want = np.linalg.lstsq(a, b)
    assert rank == want[2] == 2
    assert res.shape == (0,)
    np.testing.assert_allclose(sol, want[0], atol=1e-10)
    c = RNG.standard_normal((2, 3))
    check_derivatives(lambda x, y: np.linalg.lstsq(x @ y, b, rcond=1e-10)[0], a[:, :2], c, order=1, h=5e-4)


# -- matrix_power ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, -1, -2, -5])
def test_matrix_power_check_rule(n):
    def factory(rng, shapes):
        return [_well_conditioned(rng, shapes[0]) / shapes[0][-1]]  # near the identity: moderate powers

    check_rule(
        np.linalg.matrix_power, nargs=1, shapes=[(3, 3), (2, 2, 2)], kwargs={"n": n}, args_factory=factory
    )


def test_matrix_power_values_zero_power_and_errors():
    a = _well_conditioned(RNG, (2, 3, 3))
    for n in (0, 1, 6, -3):
        np.testing.assert_allclose(
            cr.jvp(lambda x, n=n: np.linalg.matrix_power(x, n), (a,), (a,))[0],
            np.linalg.matrix_power(a, n),
            rtol=1e-12,
        )
    # a^0 = I whatever a is: zero derivative.
    np.testing.assert_array_equal(cr.grad(lambda x: np.sum(np.linalg.matrix_power(x, 0)))(a), 0.0)
    # d tr(A^n) = n (A^{n-1})^T (Giles 2008).
    g = cr.grad(lambda x: np.trace(np.linalg.matrix_power(x, 5)))(a[0])
    np.testing.assert_allclose(g, 5.0 * np.linalg.matrix_power(a[0], 4).T, rtol=1e-12)
    with pytest.raises(TypeError, match="exponent must be an integer"):
        cr.grad(lambda x: np.sum(np.linalg.matrix_power(x, 1.5)))(a)
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        cr.grad(lambda x: np.sum(np.linalg.matrix_power(x, 2)))(np.ones((2, 3)))


# -- multi_dot ------------------------------------------------------------------------------------
MULTI_DOT = [
    [(3,), (3, 4), (4,)], [(2, 3), (3, 4), (4, 5), (5, 2)], [(3, 2), (2,)], [(4,), (4, 2)],
    [(4,), (4, 2), (2, 6), (6, 3)], [(10, 2), (2, 8), (8, 3), (3, 1)], [(2, 2), (2, 2)],
]  # fmt: skip


@pytest.mark.parametrize("shapes", MULTI_DOT, ids=str)
def test_multi_dot(shapes):
    args = [RNG.standard_normal(s) for s in shapes]
    fun = lambda *xs: np.linalg.multi_dot(list(xs))
    np.testing.assert_allclose(
        cr.jvp(fun, tuple(args), tuple(args))[0], np.linalg.multi_dot(args), rtol=1e-12
    )
    check_rule(fun, nargs=len(shapes), shapes=[tuple(shapes)])


def test_multi_dot_mixed_plain_and_traced_and_refusals():
    a, b, c = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    g = cr.grad(lambda y: np.sum(np.linalg.multi_dot([a, y, c])))(b)
    np.testing.assert_allclose(g, a.sum(0)[:, None] * c.sum(1)[None, :], rtol=1e-12)
    with pytest.raises(InPlaceError, match="multi_dot"):
        cr.grad(lambda y: np.sum(np.linalg.multi_dot([a, y, c], out=np.empty((2, 2)))))(b)
    with pytest.raises(ValueError, match="at least two"):
        cr.grad(lambda y: np.sum(np.linalg.multi_dot([y])))(b)
    with pytest.raises(np.linalg.LinAlgError, match="must be 2-D"):
        cr.grad(lambda y: np.sum(np.linalg.multi_dot([a, y[None], c])))(b)


# -- tensorsolve / tensorinv ----------------------------------------------------------------------
def _tensor_factory(shape_a):
    def factory(rng, shapes):
        size = int(np.prod(shapes[1]))
        return [_well_conditioned(rng, (size, size)).reshape(shapes[0]), rng.standard_normal(shapes[1])]

    return factory


@pytest.mark.parametrize(
    ("sa", "sb"), [((2, 3, 6), (2, 3)), ((2, 3, 2, 3), (2, 3)), ((4, 2, 2), (4,))], ids=str
)
def test_tensorsolve(sa, sb):
    check_rule(np.linalg.tensorsolve, nargs=2, shapes=[(sa, sb)], args_factory=_tensor_factory(sa))
    a, b = _tensor_factory(sa)(RNG, (sa, sb))
    np.testing.assert_allclose(cr.jvp(np.linalg.tensorsolve, (a, b), (a, b))[0], np.linalg.tensorsolve(a, b),
                               rtol=1e-12)  # fmt: skip


def test_tensorsolve_axes():
    a = _well_conditioned(RNG, (6, 6)).reshape(2, 3, 2, 3)
    b = RNG.standard_normal((2, 3))
    fun = lambda x, y: np.linalg.tensorsolve(x, y, axes=(0, 1))
    np.testing.assert_allclose(cr.jvp(fun, (a, b), (a, b))[0], np.linalg.tensorsolve(a, b, axes=(0, 1)))
    check_derivatives(fun, a, b, order=2, h=5e-4)


@pytest.mark.parametrize(("shape", "ind"), [((2, 3, 6), 2), ((6, 2, 3), 1), ((2, 2, 4), 2)])
def test_tensorinv(shape, ind):
    def factory(rng, shapes):
        size = int(np.prod(shape[:ind]))
        return [_well_conditioned(rng, (size, size)).reshape(shape)]

    check_rule(np.linalg.tensorinv, nargs=1, shapes=[shape], kwargs={"ind": ind}, args_factory=factory)
    (a,) = factory(RNG, None)
    np.testing.assert_allclose(cr.jvp(lambda x: np.linalg.tensorinv(x, ind=ind), (a,), (a,))[0],
                               np.linalg.tensorinv(a, ind=ind), rtol=1e-12)  # fmt: skip


# -- cond -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"])
def test_cond(p):
    check_rule(
        np.linalg.cond, nargs=1, shapes=[(3, 3), (2, 3, 3)], kwargs={"p": p}, args_factory=_one(_separated)
    )
    a = _separated(RNG, (2, 3, 3))
    np.testing.assert_allclose(cr.jvp(lambda x: np.linalg.cond(x, p), (a,), (a,))[0], np.linalg.cond(a, p))


def test_cond_rectangular_and_scale_invariance():
    a = _separated(RNG, (4, 2))
    check_derivatives(np.linalg.cond, a, order=2, h=5e-4)
    # cond(c A) = cond(A): the derivative along A itself is 0.
    np.testing.assert_allclose(cr.jvp(np.linalg.cond, (a,), (a,))[1], 0.0, atol=1e-12)
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        cr.grad(lambda x: np.linalg.cond(x, 1))(a)


def test_matrix_rank_is_a_plain_integer():
    a = RNG.standard_normal((4, 2)) @ RNG.standard_normal((2, 3))
    seen = []
    cr.grad(lambda x: (seen.append(np.linalg.matrix_rank(x)), np.sum(x))[1])(a)
    assert seen == [2]
    assert not isinstance(seen[0], cr.Tracer)
