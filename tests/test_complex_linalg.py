"""Complex linear algebra (issues 12 and 13): products built from matmul/einsum, vdot, matrix_power,
tensorsolve/tensorinv, norms, slogdet and Cholesky, checked in complex directions, with JAX as oracle.

``check_rule(..., dtype=np.complex128)`` compares ``Re(sum(u * J v))`` by each
mode with finite differences along complex directions, orders 1 and 2.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import ComplexValueError, UnsupportedOperationError

ROOT = Path(__file__).resolve().parent.parent


def _cplx(rng, s):
    return rng.uniform(-1, 1, s) + 1j * rng.uniform(-1, 1, s)


def _well_conditioned(rng, shapes):
    out = []
    for s in shapes:
        z = _cplx(rng, s)
        if len(s) >= 2 and s[-1] == s[-2]:
            z = z + 3.0 * np.eye(s[-1])
        out.append(z)
    return out


def _hermitian(z):
    return 0.5 * (z + np.conj(np.swapaxes(z, -1, -2)))


def _hermitian_pd(rng, shapes):
    out = []
    for s in shapes:
        z = _cplx(rng, s)
        out.append(z @ np.conj(np.swapaxes(z, -1, -2)) + s[-1] * np.eye(s[-1]))
    return out


def _hermitian_spread(rng, shapes):
    """Hermitian matrices with eigenvalues kept apart (a spread diagonal added)."""
    out = []
    for s in shapes:
        z = _cplx(rng, s)
        out.append(z + np.conj(np.swapaxes(z, -1, -2)) + np.diag(2.0 * np.arange(s[-1])))
    return out


def _spectral_function(uplo):
    """V diag(exp(w)) V^H: invariant under a phase of each eigenvector (the gauge)."""

    def fun(a):
        w, v = np.linalg.eigh(a, UPLO=uplo)
        return (v * np.exp(w)[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))

    return fun


def _spread(rng, shapes):
    """Complex matrices with eigenvalues kept apart (a spread diagonal added)."""
    return [_cplx(rng, s) + np.diag(np.arange(s[-1]) * 1.0) for s in shapes]


def _real_spread(rng, shapes):
    return [rng.uniform(-1, 1, s) + np.diag(np.arange(s[-1]) * 1.0) for s in shapes]


def _rotation_like(rng, shapes):
    """Real 2x2 matrices with a complex-conjugate pair of eigenvalues."""
    return [np.array([[0.3, -1.0], [1.2, 0.1]]) + rng.uniform(-0.1, 0.1, s) for s in shapes]


def _eig_function(a):
    """V diag(exp(w)) V^-1 = expm(a): independent of the eigenvectors' scale and phase."""
    w, v = np.linalg.eig(a)
    return (v * np.exp(w)[..., None, :]) @ np.linalg.inv(v)


# (public name, function, check_rule options): the composites are listed in
# scripts/coverage_manifest.py's COMPLEX_COMPOSITES, and the test below keeps the two in step.
COMPOSITES = [
    ("numpy.tensordot", lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 1])), {"shapes": [((2, 3), (3, 2))]}),  # noqa: E501
    ("numpy.tensordot", lambda a, b: np.tensordot(a, b, axes=1), {"shapes": [((2, 3), (3, 2, 2))]}),
    ("numpy.linalg.tensordot", lambda a, b: np.linalg.tensordot(a, b, axes=1), {"shapes": [((2, 3), (3,))]}),
    ("numpy.inner", np.inner, {"shapes": [((3,), (3,)), ((2, 3), (4, 3))]}),
    ("numpy.kron", np.kron, {"shapes": [((2,), (3,)), ((2, 2), (3, 1))]}),
    ("numpy.vdot", np.vdot, {"shapes": [((3,), (3,)), ((2, 2), (4,))]}),
    ("numpy.linalg.multi_dot", lambda a, b, c: np.linalg.multi_dot([a, b, c]),
     {"nargs": 3, "shapes": [((3,), (3, 2), (2, 4)), ((2, 3), (3, 3), (3,))]}),
    ("numpy.linalg.matrix_power", lambda a: np.linalg.matrix_power(a, 5),
     {"nargs": 1, "shapes": [(2, 2), (2, 3, 3)], "args_factory": _well_conditioned}),
    ("numpy.linalg.matrix_power", lambda a: np.linalg.matrix_power(a, -2),
     {"nargs": 1, "shapes": [(3, 3)], "args_factory": _well_conditioned}),
    ("numpy.linalg.tensorsolve", np.linalg.tensorsolve,
     {"nargs": 2, "shapes": [((6, 2, 3), (6,))],
      "args_factory": lambda rng, s: [_cplx(rng, s[0]) + 3 * np.eye(6).reshape(6, 2, 3), _cplx(rng, s[1])]}),
    ("numpy.linalg.tensorinv", lambda a: np.linalg.tensorinv(a, ind=1),
     {"nargs": 1, "shapes": [(4, 2, 2)],
      "args_factory": lambda rng, s: [_cplx(rng, s[0]) + 3 * np.eye(4).reshape(4, 2, 2)]}),
]  # fmt: skip

PRIMITIVES = [
    (("numpy.linalg.norm",), np.linalg.norm, {"shapes": [(4,), (2, 3)]}),
    (("numpy.linalg.norm",), lambda z: np.linalg.norm(z, 1, axis=-1), {"shapes": [(4,), (2, 3)]}),
    (("numpy.linalg.norm",), lambda z: np.linalg.norm(z, 3, axis=0), {"shapes": [(4,), (2, 3)]}),
    (("numpy.linalg.norm",), lambda z: np.linalg.norm(z, np.inf), {"shapes": [(4,)]}),
    (("numpy.linalg.norm",), lambda z: np.linalg.norm(z, -np.inf), {"shapes": [(4,)]}),
    (("numpy.linalg.norm",), lambda z: np.linalg.norm(z, "fro", axis=(0, 1)), {"shapes": [(2, 3), (2, 4)]}),
    (("numpy.linalg.norm",), lambda z: np.linalg.norm(z, 1), {"shapes": [(3, 3)]}),
    (("numpy.linalg.norm",), lambda z: np.linalg.vector_norm(z, ord=2.5, axis=1), {"shapes": [(2, 3)]}),
    (("numpy.linalg.slogdet",), lambda a: np.linalg.slogdet(a)[1],
     {"shapes": [(3, 3), (2, 2, 2)], "args_factory": _well_conditioned}),
    (("slogdet_sign",), lambda a: np.linalg.slogdet(a)[0],
     {"shapes": [(3, 3), (2, 2, 2)], "args_factory": _well_conditioned}),
    (("numpy.linalg.cholesky",), lambda a: np.linalg.cholesky(_hermitian(a)),
     {"shapes": [(3, 3), (2, 2, 2)], "args_factory": _hermitian_pd}),
    (("numpy.linalg.cholesky",), lambda a: np.linalg.cholesky(_hermitian(a), upper=True),
     {"shapes": [(3, 3)], "args_factory": _hermitian_pd}),
    (("numpy.linalg.eigh",), lambda a: np.linalg.eigvalsh(a),
     {"shapes": [(3, 3), (2, 2, 2)], "args_factory": _hermitian_spread}),
    (("numpy.linalg.eigh",), lambda a: np.linalg.eigvalsh(a, UPLO="U"),
     {"shapes": [(3, 3)], "args_factory": _hermitian_spread}),
    (("numpy.linalg.eigh",), lambda a: np.abs(np.linalg.eigh(a)[1]) ** 2,
     {"shapes": [(3, 3), (2, 2, 2)], "args_factory": _hermitian_spread}),
    (("numpy.linalg.eigh",), _spectral_function("L"), {"shapes": [(3, 3)], "args_factory": _hermitian_spread}),  # noqa: E501
    (("numpy.linalg.eigh",), _spectral_function("U"), {"shapes": [(3, 3)], "args_factory": _hermitian_spread}),  # noqa: E501
    (("numpy.linalg.pinv",), np.linalg.pinv, {"shapes": [(3, 2), (2, 3), (2, 3, 3)]}),
    (("numpy.linalg.pinv",), lambda a: np.linalg.pinv(_hermitian(a), hermitian=True),
     {"shapes": [(3, 3)], "args_factory": _hermitian_pd}),
    (("numpy.linalg.eig",), np.linalg.eigvals, {"shapes": [(3, 3), (2, 2, 2)], "args_factory": _spread}),
    (("numpy.linalg.eig",), lambda a: np.abs(np.linalg.eig(a)[1]) ** 2,
     {"shapes": [(3, 3), (2, 2, 2)], "args_factory": _spread}),
    (("numpy.linalg.eig",), _eig_function, {"shapes": [(3, 3)], "args_factory": _spread}),
]  # fmt: skip

# eig of real matrices: real results where every eigenvalue is real (as NumPy), else complex.
REAL_EIG = [
    (np.linalg.eigvals, _real_spread),
    (lambda a: np.linalg.eig(a)[1], _real_spread),
    (np.linalg.eigvals, _rotation_like),
    (lambda a: np.abs(np.linalg.eig(a)[1]) ** 2, _rotation_like),
    (_eig_function, _rotation_like),
]


@pytest.mark.parametrize(("fun", "factory"), REAL_EIG)
def test_eig_of_real_matrices(fun, factory):
    # (under vmap too: eig of a real matrix decides once for the whole batch whether its results
    # are real, as NumPy does for a stack and as stacking the loop's results does)
    check_rule(
        fun,
        nargs=1,
        shapes=[(2, 2)] if factory is _rotation_like else [(3, 3), (2, 2, 2)],
        args_factory=factory,
    )


def test_singular_values_of_complex_matrices_first_order():
    # (under vmap too: the first-order rule's singular vectors are computed on the batch)
    check_rule(np.linalg.svdvals, nargs=1, shapes=[(3, 2), (2, 3, 3)], dtype=np.complex128, orders=(1,))
    check_rule(
        lambda a: np.linalg.svd(a, compute_uv=False),
        nargs=1,
        shapes=[(3, 3)],
        dtype=np.complex128,
        orders=(1,),
    )
    a = _cplx(np.random.default_rng(10), (3, 3))
    with pytest.raises(UnsupportedOperationError, match="first derivatives only"):
        cr.jvp(cr.grad(lambda a: np.sum(np.linalg.svdvals(a))), (a,), (np.ones_like(a),))


@pytest.mark.parametrize("part", [0, 1, 3])
def test_lstsq_of_complex_values(part):
    # the solution (pinv(a) @ b), the residuals (real: squared 2-norms), the singular values;
    # first order only: the singular values' rule has no second derivative for complex a
    check_rule(
        lambda a, b: np.linalg.lstsq(a, b)[part],
        nargs=2,
        dtype=np.complex128,
        shapes=[((4, 2), (4,)), ((4, 2), (4, 3))],
        orders=(1,),
    )


def test_lstsq_second_order_of_complex_values_is_refused_with_the_alternative():
    rng = np.random.default_rng(11)
    a, b = _cplx(rng, (4, 2)), _cplx(rng, (4,))
    loss = cr.grad(lambda a: np.sum(np.abs(np.linalg.lstsq(a, b)[0]) ** 2))
    with pytest.raises(UnsupportedOperationError, match="first derivatives only"):
        cr.jvp(loss, (a,), (np.ones_like(a),))
    # pinv(a) @ b, the same solution, has second derivatives
    check_rule(lambda a, b: np.linalg.pinv(a) @ b, nargs=2, dtype=np.complex128, shapes=[((4, 2), (4,))])


def test_lstsq_of_complex_values_matches_numpy():
    rng = np.random.default_rng(9)
    a, b = _cplx(rng, (4, 2)), _cplx(rng, (4,))
    ours = cr.vjp(lambda a: np.linalg.lstsq(a, b), a)[0]
    for got, want in zip(ours, np.linalg.lstsq(a, b)):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_eig_values_and_dtypes_match_numpy():
    rng = np.random.default_rng(7)
    for a in (_real_spread(rng, [(3, 3)])[0], _rotation_like(rng, [(2, 2)])[0], _spread(rng, [(3, 3)])[0]):
        w, v = cr.vjp(lambda a: np.linalg.eig(a), a)[0]
        w0, v0 = np.linalg.eig(a)
        assert w.dtype == w0.dtype and v.dtype == v0.dtype
        np.testing.assert_allclose(w, w0, rtol=1e-14)
        np.testing.assert_allclose(v, v0, rtol=1e-14)


def test_eig_at_a_repeated_eigenvalue_refuses_what_it_cannot_give():
    a = np.array([[2.0, 0.0, 0.3], [0.0, 2.0, 0.1], [0.0, 0.0, 5.0]])
    # sum(w) is a symmetric function of the tie: exact (the trace's gradient, the identity).
    grad = cr.grad(lambda a: np.real(np.sum(np.linalg.eigvals(a))))(a)
    np.testing.assert_allclose(grad, np.eye(3), atol=1e-14)
    # The vectors of the tie weighed by their different values (as V diag(w)): refused in reverse mode.
    with pytest.raises(UnsupportedOperationError, match="tied"):
        cr.grad(lambda a: (lambda w, v: np.real(np.sum(v[0] * w)))(*np.linalg.eig(a)))(a)


@pytest.mark.parametrize(("name", "fun", "options"), COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composite_in_complex_directions(name, fun, options):
    options = {"nargs": 2, **options}
    check_rule(fun, dtype=np.complex128, **options)


@pytest.mark.parametrize(("names", "fun", "options"), PRIMITIVES, ids=[c[0][0] for c in PRIMITIVES])
def test_primitive_in_complex_directions(names, fun, options):
    check_rule(fun, nargs=1, dtype=np.complex128, **options)


def test_every_declared_composite_has_a_case():
    path = ROOT / "scripts" / "coverage_manifest.py"
    spec = importlib.util.spec_from_file_location("coverage_manifest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert {name for name, _, _ in COMPOSITES} <= set(module.COMPLEX_COMPOSITES)


def test_vdot_conjugates_its_first_argument():
    a = np.array([1.0 + 2.0j, -0.5j])
    b = np.array([0.3 - 1.0j, 2.0 + 0.5j])
    # Re(vdot(a, b)) = Re(a conj(b)) = x Re(b) + y Im(b) for a = x + iy: JAX's gradient
    # df/dx - i df/dy is conj(b) (it would be b if vdot did not conjugate a).
    g = cr.grad(lambda a: np.real(np.vdot(a, b)))(a)
    np.testing.assert_allclose(g, np.conj(b), rtol=1e-15)
    assert np.vdot(a, b) == cr.vjp(lambda a: np.vdot(a, b), a)[0]


def test_eigh_of_a_complex_hermitian_matrix_reads_one_triangle():
    h = _hermitian_spread(np.random.default_rng(6), [(3, 3)])[0]
    g = cr.grad(lambda a: np.linalg.eigvalsh(a)[-1])(h)
    v = np.linalg.eigh(h)[1][:, -1]
    # dw = v^H dA v over the Hermitian matrix read from the lower triangle: the upper gets 0.
    # Entry (i, j), i > j, stands at (i, j) and conjugated at (j, i): dw = 2 Re(conj(v_i) v_j da_ij),
    # whose gradient df/dx - i df/dy is 2 conj(v_i) v_j; the diagonal is read by its real part.
    full = np.outer(np.conj(v), v)
    expected = np.tril(2 * full, -1) + np.diag(np.real(np.diag(full)))
    np.testing.assert_allclose(g, expected, atol=1e-12)
    assert np.all(np.triu(g, 1) == 0)


def test_slogdet_sign_of_a_complex_matrix_is_a_smooth_phase():
    rng = np.random.default_rng(4)
    a = _well_conditioned(rng, [(3, 3)])[0]
    # sign(det(a e^{i t})) = sign(det a) e^{3 i t}: d/dt at 0 is 3i sign.
    sign, logdet = np.linalg.slogdet(a)
    _, tangent = cr.jvp(lambda t: np.linalg.slogdet(a * np.exp(1j * t))[0], (0.0,), (1.0,))
    np.testing.assert_allclose(tangent, 3j * sign, rtol=1e-13)
    value, _ = cr.vjp(lambda a: np.linalg.slogdet(a)[1], a)
    assert value == logdet


def test_still_refused_by_name():
    z = np.array([[2.0 + 1.0j, 0.3], [0.1j, 1.5 - 0.5j]])
    for fun, name in [
        (lambda z: np.linalg.norm(z, 2), "numpy.linalg.norm"),
        (lambda z: np.linalg.norm(z, "nuc"), "numpy.linalg.norm"),
        (lambda z: np.sum(np.abs(np.linalg.pinv(z, rcond=0.9))), "numpy.linalg.pinv"),
        (lambda z: np.sum(np.abs(np.linalg.svd(z)[1])), "numpy.linalg.svd"),
        (lambda z: np.sum(np.abs(np.linalg.qr(z)[1])), "numpy.linalg.qr"),
        (lambda z: np.linalg.cond(z), "numpy.linalg.cond"),
    ]:
        with pytest.raises((ComplexValueError, UnsupportedOperationError), match=name.replace(".", r"\.")):
            cr.grad(fun)(z)


# -- oracle: JAX, where installed ------------------------------------------------------------------
def test_linalg_gradients_agree_with_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    rng = np.random.default_rng(5)
    a = _well_conditioned(rng, [(3, 3)])[0]
    h = _hermitian_pd(rng, [(3, 3)])[0]
    v = _cplx(rng, (3,))
    cases = [
        (lambda a, m: m.abs(m.vdot(a, m.ones(9) * 1j + a.ravel())), a),
        (lambda a, m: m.abs(m.sum(m.linalg.matrix_power(a, 3))), a),
        (lambda a, m: m.linalg.norm(a), a),
        (lambda a, m: m.linalg.norm(a.ravel(), 3), a),
        (lambda a, m: m.linalg.norm(a, 1), a),
        (lambda a, m: m.linalg.slogdet(a)[1], a),
        (lambda a, m: m.real(m.linalg.slogdet(a)[0] * (1 + 2j)), a),
        (lambda a, m: m.sum(m.abs(m.linalg.cholesky(h + 0.1 * (a + m.conj(a.T))))), a),
        (lambda a, m: m.abs(m.sum(m.kron(a, a[:2]) ** 2)), a),
        (lambda a, m: m.abs(m.sum(m.tensordot(a, v, axes=1))), a),
        # JAX's eigh reads (a + a^H) / 2, NumPy's one triangle: the same on a Hermitian argument.
        (lambda a, m: m.sum(m.linalg.eigvalsh(h + a + m.conj(a.T)) ** 3), a),
        (lambda a, m: m.sum(m.abs(m.linalg.eigh(h + a + m.conj(a.T))[1][:, 1]) ** 4), a),
        (lambda a, m: m.sum(m.abs(m.linalg.eigvals(a)) ** 3), a),
        (lambda a, m: m.sum(m.abs(m.linalg.pinv(a[:, :2])) ** 2), a),
        (lambda a, m: m.sum(m.linalg.lstsq(a[:, :2], v)[1]), a),
        (lambda a, m: m.sum(m.linalg.svd(a, compute_uv=False) ** 2), a),
    ]
    for f, x in cases:
        ours = cr.grad(lambda x, f=f: f(x, np))(x)
        theirs = np.asarray(jax.grad(lambda x, f=f: f(x, jnp))(jnp.asarray(x)))
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    # eigenvectors (phase-invariant loss): JAX asks for an explicit opt-in
    ours = cr.grad(lambda a: np.sum(np.abs(np.linalg.eig(a)[1][1]) ** 2))(a)

    def loss_jax(a):
        _, v = jax.lax.linalg.eig(a, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
        return jnp.sum(jnp.abs(v[1]) ** 2)

    np.testing.assert_allclose(ours, np.asarray(jax.grad(loss_jax)(jnp.asarray(a))), rtol=1e-10, atol=1e-12)
