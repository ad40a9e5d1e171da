"""numpy.linalg.svd, eigh, eigvalsh, qr: rules against finite differences, gauges, degenerate spectra, UPLO.

Structured inputs come from factories: matrices with well-separated singular
values (eigenvalues), so that finite differences of U, V never cross a
near-degeneracy. Exact expected gradients come from matrix calculus, not from
the code under test (Giles 2008; Townsend 2016).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_derivatives, check_rule
from chainrule.errors import ComplexValueError, UnsupportedOperationError

RNG = np.random.default_rng(1)


def _orthogonal(rng, *shape):
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    return q


def _separated(rng, shape, low=1.0, high=3.0):
    """A (stack of) matrices with singular values spread evenly over [low, high], in random order."""
    *batch, m, n = shape
    k = min(m, n)
    s = np.linspace(low, high, k) if k > 1 else np.array([2.0])
    s = np.stack([rng.permutation(s) for _ in range(int(np.prod(batch, dtype=int)))]).reshape(*batch, k)
    u = _orthogonal(rng, *batch, m, k)
    v = _orthogonal(rng, *batch, n, k)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def _symmetric(rng, shape, junk=None, w=None):
    """Symmetric with eigenvalues ``w`` (default: spread over [-2, 2]); the strict triangle
    ``junk`` ('U' or 'L') random."""
    *batch, n, _ = shape
    w = np.linspace(-2.0, 2.0, n) if w is None else np.asarray(w)
    q = _orthogonal(rng, *batch, n, n)
    a = (q * w) @ np.swapaxes(q, -1, -2)
    if junk == "U":
        a = np.tril(a) + np.triu(rng.standard_normal(shape), 1)
    elif junk == "L":
        a = np.triu(a) + np.tril(rng.standard_normal(shape), -1)
    return a


def _signs(vectors):
    """The sign of each column's dot product with a fixed vector: piecewise constant, plain."""
    n = vectors.shape[-2]
    return np.sign(np.sum(vectors * np.linspace(1.0, 2.0, n)[:, None], axis=-2))


def svd_gauge_fixed(x, full_matrices=True, compute_uv=True, hermitian=False):
    """``numpy.linalg.svd`` with each singular pair's sign fixed by ``_signs`` (LAPACK's sign is
    only piecewise continuous, so finite differences of raw U, V can jump)."""
    res = np.linalg.svd(x, full_matrices=full_matrices, compute_uv=compute_uv, hermitian=hermitian)
    if not compute_uv:
        return res
    u, s, vh = res
    k = s.shape[-1]
    d = _signs(u[..., :, :k])
    return u[..., :, :k] * d[..., None, :], s, vh[..., :k, :] * d[..., :, None]


def eigh_gauge_fixed(x, UPLO="L"):
    w, v = np.linalg.eigh(x, UPLO=UPLO)
    return w, v * _signs(v)[..., None, :]


def _factory(make, **kw):
    return lambda rng, shapes: [make(rng, shapes[0], **kw)]


SVD_SHAPES = [(3, 3), (4, 2), (2, 4), (2, 3, 3), (2, 4, 3), (2, 1, 2, 3), (1, 1), (3, 1), (7, 5)]


# -- SVD ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("compute_uv", [True, False])
def test_svd_reduced_check_rule(compute_uv):
    check_rule(
        svd_gauge_fixed,
        nargs=1,
        shapes=SVD_SHAPES,
        kwargs={"full_matrices": False, "compute_uv": compute_uv},
        args_factory=_factory(_separated),
    )


def test_svd_square_full_matrices_is_the_reduced_svd():
    # Square: full_matrices=True changes nothing, so U and Vh are checked raw.
    check_rule(svd_gauge_fixed, nargs=1, shapes=[(3, 3), (2, 2, 2)], args_factory=_factory(_separated))


def _full_gauge_invariants(x):
    """Of a full SVD: projectors onto the complements (basis-free), S, and U_1 D, V_1 D with D the signs."""
    u, s, vh = np.linalg.svd(x, full_matrices=True)
    k = min(x.shape[-2:])
    u2, v2 = u[..., :, k:], np.swapaxes(vh[..., k:, :], -1, -2)
    d = _signs(u[..., :, :k])
    p_u, p_v = u2 @ np.swapaxes(u2, -1, -2), v2 @ np.swapaxes(v2, -1, -2)
    return p_u, p_v, s, u[..., :, :k] * d[..., None, :], vh[..., :k, :] * d[..., :, None]


@pytest.mark.parametrize("shape", [(4, 2), (2, 4), (2, 5, 3), (3, 1)])
def test_svd_full_matrices_gauge_invariant_outputs(shape):
    check_rule(_full_gauge_invariants, nargs=1, shapes=[shape], args_factory=_factory(_separated))


def test_svd_full_matrices_keeps_the_complement_still():
    # The documented choice for the extra columns: U_2^T dU_2 = 0 (no rotation within the complement).
    a = _separated(RNG, (5, 2))
    t = RNG.standard_normal(a.shape)
    (u, _, _), (du, _, _) = cr.jvp(lambda x: tuple(np.linalg.svd(x)), (a,), (t,))
    u2, du2 = u[:, 2:], du[:, 2:]
    np.testing.assert_allclose(u2.T @ du2, 0.0, atol=1e-12)
    # ... and U stays orthogonal to first order.
    np.testing.assert_allclose(u.T @ du + du.T @ u, 0.0, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 4)])
@pytest.mark.parametrize("full", [True, False])
def test_svd_values_and_result_type(shape, full):
    a = RNG.standard_normal(shape)
    traced = {}

    def f(x):
        res = np.linalg.svd(x, full_matrices=full)
        traced["res"] = res
        return res.U.sum() + res.S.sum() + res.Vh.sum()

    cr.grad(f)(a)
    ref = np.linalg.svd(a, full_matrices=full)
    res = traced["res"]
    assert type(res) is type(ref)
    for got, want in zip(res, ref):
        np.testing.assert_allclose(cr.primal(got), want, atol=1e-12)
    s_only = cr.jvp(lambda x: np.linalg.svd(x, compute_uv=False), (a,), (a,))[0]
    np.testing.assert_allclose(s_only, np.linalg.svd(a, compute_uv=False), rtol=1e-13)


def test_svd_gauge_invariant_loss_is_exact():
    # sum(C * (U S Vh)) = sum(C * A) whatever the signs or bases: its gradient is C.
    a, c = _separated(RNG, (4, 3)), RNG.standard_normal((4, 3))

    def loss(x):
        u, s, vh = np.linalg.svd(x, full_matrices=False)
        return np.sum(c * ((u * s) @ vh))

    np.testing.assert_allclose(cr.grad(loss)(a), c, atol=1e-12)
    np.testing.assert_allclose(cr.jvp(loss, (a,), (c,))[1], np.sum(c * c), atol=1e-12)


def test_svd_sign_flips_do_not_change_the_gradient_of_invariant_losses():
    # The projector u_i u_i^T is invariant to the sign NumPy picks; compare against its formula
    # d(u u^T) from the perturbation of a symmetric matrix A A^T (eigenvector derivative).
    a = _separated(RNG, (3, 3))

    def projector(x):
        u = np.linalg.svd(x)[0][:, 0]
        return np.outer(u, u)

    def projector_by_eigh(x):
        v = np.linalg.eigh(x @ x.T)[1][:, -1]  # largest eigenvalue of A A^T: the same direction
        return np.outer(v, v)

    t = RNG.standard_normal(a.shape)
    np.testing.assert_allclose(
        cr.jvp(projector, (a,), (t,))[1], cr.jvp(projector_by_eigh, (a,), (t,))[1], atol=1e-10
    )


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4)])
def test_svd_all_singular_values_tied(shape):
    # A = 2 W with W orthonormal: every singular value is 2, U and V are any bases. Basis-free
    # quantities are differentiable and exact, without NaN: the nuclear norm (gradient U V^T = W)
    # and, for a square A, the polar factor U V^T, whose derivative is (T - W T^T W) / (2 * 2)
    # (Higham, "Functions of Matrices", the Frechet derivative of the polar factor).
    m, n = shape
    k = min(m, n)
    w = _orthogonal(RNG, m, k) @ _orthogonal(RNG, n, k).T
    a = 2.0 * w

    def nuclear(x):
        return np.sum(np.linalg.svd(x, compute_uv=False))

    np.testing.assert_allclose(cr.grad(nuclear)(a), w, atol=1e-12)
    assert np.all(np.isfinite(cr.hessian(nuclear)(a)))
    if m == n:
        t = RNG.standard_normal(shape)
        # The nuclear norm's Hessian is the polar factor's derivative (s-bar = 1 is constant).
        hess_t = np.tensordot(cr.hessian(nuclear)(a), t, axes=2)
        np.testing.assert_allclose(hess_t, (t - w @ t.T @ w) / 4.0, atol=1e-12)

        def polar(x):
            u, _, vh = np.linalg.svd(x)
            return u @ vh

        np.testing.assert_allclose(cr.jvp(polar, (a,), (t,))[1], (t - w @ t.T @ w) / 4.0, atol=1e-12)
        c = RNG.standard_normal(shape)
        g = cr.grad(lambda x: np.sum(c * polar(x)))(a)
        np.testing.assert_allclose(g, (c - w @ c.T @ w) / 4.0, atol=1e-12)


def test_svd_cluster_projector_at_a_tie():
    # Singular values (2, 2, 1): the projector onto the tied pair's left singular space is a
    # smooth function of A (finite differences split the tie, the projector does not care).
    q, r = _orthogonal(RNG, 4, 3), _orthogonal(RNG, 3, 3)
    a = (q * np.array([2.0, 2.0, 1.0])) @ r.T

    def projector(x):
        u = np.linalg.svd(x, full_matrices=False)[0][:, :2]
        return u @ u.T

    check_derivatives(projector, a, order=1, h=1e-4, rtol=1e-5)


def test_svd_degenerate_non_invariant_loss_is_finite():
    # Documented: a loss that depends on the basis of a tied cluster has no derivative; the
    # rules drop the coupling of the tied pair and return finite numbers, never NaN.
    a = np.diag([2.0, 2.0, 1.0])
    g = cr.grad(lambda x: np.sum(np.linalg.svd(x)[0] * np.arange(9.0).reshape(3, 3)))(a)
    assert np.all(np.isfinite(g))


def test_svd_tied_values_weighed_differently_are_refused_in_reverse_mode():
    # U S Vh (= A) and U S^2 U^T at a tie: differentiable, but the derivative needs the
    # divided difference of f across the tie, which the rule cannot see: refused, not wrong.
    w = _orthogonal(RNG, 3, 3)
    a = (w * np.array([2.0, 2.0, 1.0])) @ _orthogonal(RNG, 3, 3).T
    c = RNG.standard_normal((3, 3))

    def reconstruction(x):
        u, s, vh = np.linalg.svd(x)
        return np.sum(c * ((u * s) @ vh))

    def gram(x):
        u, s, _ = np.linalg.svd(x)
        return np.sum(c * ((u * s**2) @ u.T))

    for loss in (reconstruction, gram):
        with pytest.raises(UnsupportedOperationError, match=r"numpy.linalg.svd: .*tied.*a @ a.T"):
            cr.grad(loss)(a)
    # Off the tie the same losses are fine, and equal to their forms written from A.
    b = _separated(RNG, (3, 3))
    np.testing.assert_allclose(cr.grad(reconstruction)(b), c, atol=1e-12)
    np.testing.assert_allclose(cr.grad(gram)(b), cr.grad(lambda x: np.sum(c * (x @ x.T)))(b), atol=1e-10)


def test_svd_rank_deficient_rectangular_is_finite():
    # A zero singular value of a non-square matrix: its vector is undetermined; finite result,
    # and exact for losses that ignore it (the singular values).
    a = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    g = cr.grad(lambda x: np.sum(np.linalg.svd(x, full_matrices=False)[0]))(a)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(cr.grad(lambda x: np.linalg.svd(x, compute_uv=False)[0])(a), a)


def test_svd_hermitian_matches_numpy_and_reads_the_lower_triangle():
    a = _symmetric(RNG, (2, 3, 3), junk="U", w=[-2.5, 0.5, 1.5])  # distinct |w|: singular values
    for got, want in zip(cr.jvp(lambda x: tuple(np.linalg.svd(x, hermitian=True)), (a,), (a,))[0],
                         np.linalg.svd(a, hermitian=True)):  # fmt: skip
        np.testing.assert_allclose(got, want, atol=1e-12)
    check_derivatives(lambda x: svd_gauge_fixed(x, hermitian=True), a, order=2, h=5e-4)
    check_derivatives(lambda x: np.linalg.svd(x, compute_uv=False, hermitian=True), a, order=2, h=5e-4)
    g = cr.grad(lambda x: np.sum(np.linalg.svd(x, hermitian=True)[1]))(a)
    np.testing.assert_array_equal(np.triu(g, 1), 0.0)


def test_svdvals():
    a = _separated(RNG, (2, 4, 3))
    np.testing.assert_allclose(cr.primal(cr.jvp(np.linalg.svdvals, (a,), (a,))[0]), np.linalg.svdvals(a))
    check_derivatives(np.linalg.svdvals, a, order=2, h=5e-4)


def test_svd_float32_gradient_stays_float32():
    a = _separated(RNG, (3, 3)).astype(np.float32)
    g = cr.grad(lambda x: np.sum(np.linalg.svd(x, compute_uv=False)))(a)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.linalg.svd(a)[0] @ np.linalg.svd(a)[2], atol=1e-5)


# -- eigh / eigvalsh ------------------------------------------------------------------------------
EIGH_SHAPES = [(3, 3), (1, 1), (2, 4, 4), (2, 1, 2, 2), (6, 6)]


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("fun", [eigh_gauge_fixed, np.linalg.eigvalsh])
def test_eigh_check_rule_symmetric(fun, uplo):
    check_rule(fun, nargs=1, shapes=EIGH_SHAPES, kwargs={"UPLO": uplo}, args_factory=_factory(_symmetric))


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("fun", [eigh_gauge_fixed, np.linalg.eigvalsh])
def test_eigh_check_rule_unread_triangle_is_random(fun, uplo):
    # NumPy reads one triangle; the other holds random numbers. Finite differences perturb
    # every element, so they check that the unread triangle has exactly no influence.
    junk = "U" if uplo == "L" else "L"
    check_rule(
        fun, nargs=1, shapes=EIGH_SHAPES, kwargs={"UPLO": uplo}, args_factory=_factory(_symmetric, junk=junk)
    )


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradient_lives_on_the_read_triangle(uplo):
    a = RNG.standard_normal((2, 4, 4))
    # sum(w) = trace: gradient I. sum(w^2) = ||S||_F^2 of the symmetric matrix S read from the
    # triangle: 2 a_ii on the diagonal, 4 a_ij on the read strict triangle, 0 on the other.
    g = cr.grad(lambda x: np.sum(np.linalg.eigvalsh(x, UPLO=uplo)))(a)
    np.testing.assert_allclose(g, np.broadcast_to(np.eye(4), a.shape), atol=1e-14)
    tri = np.tril if uplo == "L" else np.triu
    k = -1 if uplo == "L" else 1
    want = 2.0 * a * np.eye(4) + 4.0 * tri(a, k)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(np.linalg.eigvalsh(x, UPLO=uplo) ** 2))(a), want)
    g = cr.grad(lambda x: np.sum(np.linalg.eigh(x, UPLO=uplo)[1] ** 3))(a)
    other = np.triu if uplo == "L" else np.tril
    np.testing.assert_array_equal(other(g, -k), 0.0)


def test_eigh_values_and_result_type():
    a = _symmetric(RNG, (2, 3, 3), junk="U")
    (w, v), _ = cr.jvp(lambda x: tuple(np.linalg.eigh(x)), (a,), (a,))
    ref = np.linalg.eigh(a)
    np.testing.assert_allclose(w, ref.eigenvalues, atol=1e-12)
    np.testing.assert_allclose(v, ref.eigenvectors, atol=1e-12)
    seen = {}
    cr.grad(lambda x: np.sum(seen.setdefault("r", np.linalg.eigh(x)).eigenvalues))(a)
    assert type(seen["r"]) is type(ref)


def test_eigh_degenerate_eigenvalues():
    # Eigenvalues (1, 1, 1, 3): the eigenvectors of the triple are any basis. The projector
    # onto the tied cluster is smooth (checked against finite differences), spectral functions
    # have the gradient f'(S) read back onto the triangle, and nothing is NaN.
    q = _orthogonal(RNG, 4, 4)
    a = (q * np.array([1.0, 1.0, 1.0, 3.0])) @ q.T

    def projector(x):
        v = np.linalg.eigh(x)[1][:, :3]
        return v @ v.T

    check_derivatives(projector, a, order=1, h=1e-4, rtol=1e-5)
    # sum(w^3) = trace(S^3): gradient 3 S^2 (S symmetric), read back onto the lower triangle.
    want = 3.0 * a @ a
    want = np.tril(want) + np.tril(want.T, -1)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(np.linalg.eigvalsh(x) ** 3))(a), want, atol=1e-12)
    c = RNG.standard_normal((4, 4))
    g = cr.grad(lambda x: np.sum(np.linalg.eigh(x)[1] * c))(a)  # basis-dependent: finite only
    assert np.all(np.isfinite(g))
    # Second derivatives through the tie need f'' across it: refused in both Hessian orders.
    spectral = lambda x: np.sum(np.linalg.eigvalsh(x) ** 3)
    for hessian in (cr.hessian, lambda f: cr.jacrev(cr.grad(f))):
        with pytest.raises(UnsupportedOperationError, match=r"numpy.linalg.eigh: a second derivative"):
            hessian(spectral)(a)
    # A linear spectral function (the trace) has a constant cotangent: its Hessian (0) is exact.
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(np.linalg.eigvalsh(x)))(a), 0.0, atol=1e-12)


def test_eigh_matrix_function_at_a_tie_is_refused_in_reverse_mode():
    # V diag(sqrt(w)) V^T (a matrix square root) at the identity: refused, never wrong.
    c = RNG.standard_normal((3, 3))

    def sqrtm(x):
        w, v = np.linalg.eigh(x)
        return np.sum(c * ((v * np.sqrt(w)) @ v.T))

    with pytest.raises(UnsupportedOperationError, match=r"numpy.linalg.eigh: .*V diag\(f\(w\)\) V\^T"):
        cr.grad(sqrtm)(np.eye(3) + 0.0)
    # Symmetric functions of the tied eigenvalues are not refused: d trace(sqrt(S)) = S^{-1/2} / 2.
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(np.sqrt(np.linalg.eigvalsh(x))))(4.0 * np.eye(3)),
                               0.25 * np.eye(3), atol=1e-14)  # fmt: skip


def test_eigh_refuses_bad_uplo_and_non_square():
    with pytest.raises(ValueError, match="UPLO must be 'L' or 'U'"):
        cr.grad(lambda x: np.sum(np.linalg.eigvalsh(x, UPLO="X")))(np.eye(2))
    with pytest.raises(np.linalg.LinAlgError, match=r"eigh.*square"):
        cr.grad(lambda x: np.sum(np.linalg.eigh(x)[0]))(np.ones((2, 3)))


# -- QR -------------------------------------------------------------------------------------------
QR_SHAPES = [(3, 3), (4, 2), (2, 4), (2, 3, 3), (2, 4, 3), (3, 2, 5), (1, 1), (3, 1), (1, 3), (7, 5), (4, 6)]


@pytest.mark.parametrize("mode", ["reduced", "r"])
def test_qr_check_rule(mode):
    check_rule(
        np.linalg.qr, nargs=1, shapes=QR_SHAPES, kwargs={"mode": mode}, args_factory=_factory(_separated)
    )


def test_qr_complete_of_square_and_wide():
    check_rule(
        np.linalg.qr, nargs=1, shapes=[(3, 3), (2, 4), (2, 2, 3)], kwargs={"mode": "complete"},
        args_factory=_factory(_separated),
    )  # fmt: skip


def test_qr_values_and_exact_gradient():
    a = _separated(RNG, (2, 4, 3))
    (q, r), _ = cr.jvp(lambda x: tuple(np.linalg.qr(x)), (a,), (a,))
    ref = np.linalg.qr(a)
    np.testing.assert_allclose(q, ref.Q, atol=1e-12)
    np.testing.assert_allclose(r, ref.R, atol=1e-12)
    # Q R = A for any sign convention: the gradient of sum(C * Q R) is C.
    c = RNG.standard_normal(a.shape)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(c * np.matmul(*np.linalg.qr(x))))(a), c, atol=1e-12)
    # The tangent keeps Q^T Q = I and R upper triangular.
    t = RNG.standard_normal(a.shape)
    (q, r), (dq, dr) = cr.jvp(lambda x: tuple(np.linalg.qr(x)), (a,), (t,))
    qt = np.swapaxes(q, -1, -2)
    np.testing.assert_allclose(qt @ dq + np.swapaxes(dq, -1, -2) @ q, 0.0, atol=1e-12)
    np.testing.assert_array_equal(np.tril(dr, -1), 0.0)


def test_qr_refusals_name_the_mode():
    with pytest.raises(UnsupportedOperationError, match=r"mode='raw'"):
        cr.grad(lambda x: np.sum(np.linalg.qr(x, mode="raw")[0]))(np.eye(3))
    with pytest.raises(UnsupportedOperationError, match=r"mode='complete'.*tall 4x2.*not a differentiable"):
        cr.grad(lambda x: np.sum(np.linalg.qr(x, mode="complete")[0]))(np.ones((4, 2)))
    with pytest.raises(ValueError, match="unrecognized mode 'economy'"):
        cr.grad(lambda x: np.sum(np.linalg.qr(x, mode="economy")))(np.eye(2))


# -- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "call"),
    [("svd", np.linalg.svd), ("qr", np.linalg.qr)],  # complex eigh: tests/test_complex_linalg.py
)
def test_complex_input_refused_by_name(name, call):
    def f(x):
        return np.sum(np.abs(call(x * (1.0 + 1.0j))[0]))

    # The engine refuses the complex intermediate itself (x * (1 + 1j)) before the rule sees it
    # (issue 11: complex values are never cast silently); the rule's refusal is a second guard.
    with pytest.raises(ComplexValueError, match="complex"):
        cr.grad(f)(np.eye(2))


def test_vectors_refused_with_the_shape():
    with pytest.raises(np.linalg.LinAlgError, match="svd: a has 1 dimension"):
        cr.grad(lambda x: np.sum(np.linalg.svd(x)[1]))(np.ones(3))


# -- acceptance: the decomposition cases of HIPS autograd's tests/test_linalg.py -----------------
# The same functions and shapes, as plain NumPy on random inputs, checked at orders 1 and 2 in
# both modes (autograd checks reverse mode only). Raw U, V are compared: NumPy's signs are locally
# constant at these random points.
def _tril_symmetrized(x):
    lower = np.tril(x)
    return (lower + np.swapaxes(lower, -1, -2)) / 2.0


def _psd(*shape):
    m = RNG.standard_normal(shape)
    return m @ np.swapaxes(m, -1, -2)


def _reduced_svd(x):
    return tuple(np.linalg.svd(x, full_matrices=False))


def _randn(*shape):
    return lambda: RNG.standard_normal(shape)


AUTOGRAD_CASES = {
    "eigh_lower": (lambda x: tuple(np.linalg.eigh(_tril_symmetrized(x))), lambda: _psd(6, 6)),
    "eigh_upper": (lambda x: tuple(np.linalg.eigh(_tril_symmetrized(x), "U")), lambda: _psd(6, 6)),
    "eigh_lower_broadcasting": (
        lambda x: tuple(np.linalg.eigh(_tril_symmetrized(x))),
        lambda: _psd(2, 3, 6, 6) + 10.0 * np.eye(6),
    ),
    "eigh_upper_broadcasting": (
        lambda x: tuple(np.linalg.eigh(_tril_symmetrized(x), "U")),
        lambda: _psd(2, 3, 6, 6) + 10.0 * np.eye(6),
    ),
    "svd_wide_2d": (_reduced_svd, _randn(3, 5)),
    "svd_wide_3d": (_reduced_svd, _randn(4, 3, 5)),
    "svd_square_2d": (_reduced_svd, _randn(4, 4)),
    "svd_square_3d": (_reduced_svd, _randn(3, 4, 4)),
    "svd_tall_2d": (_reduced_svd, _randn(5, 3)),
    "svd_tall_3d": (_reduced_svd, _randn(4, 5, 3)),
    "svd_only_s_2d": (lambda x: np.linalg.svd(x, False, False), _randn(5, 3)),
    "svd_only_s_3d": (lambda x: np.linalg.svd(x, False, False), _randn(4, 5, 3)),
}


@pytest.mark.parametrize("case", sorted(AUTOGRAD_CASES))
def test_autograd_acceptance_cases(case):
    fun, make = AUTOGRAD_CASES[case]
    check_derivatives(fun, make(), order=2, h=1e-4, rtol=1e-5)
