"""chainrule.scipy.linalg against SciPy's values and finite differences (orders 1-2, both modes)."""

import numpy as np
import pytest

sla = pytest.importorskip("scipy.linalg")

import chainrule as cr  # noqa: E402
from chainrule.check import check_derivatives, check_rule  # noqa: E402
from chainrule.scipy import linalg as L  # noqa: E402


def _well(rng, shape):
    n = shape[-1]
    return 0.4 * rng.standard_normal(shape) + 2.0 * np.eye(n)


def _spd(rng, shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize(
    ("ours", "theirs", "factory", "shapes"),
    [
        (L.expm, sla.expm, lambda r, s: 0.5 * r.standard_normal(s[0]), [((3, 3),), ((2, 2, 2),)]),
        (L.logm, sla.logm, lambda r, s: _spd(r, s[0]), [((3, 3),)]),
        (L.sqrtm, sla.sqrtm, lambda r, s: _spd(r, s[0]), [((3, 3),)]),
        (L.det, sla.det, lambda r, s: _well(r, s[0]), [((3, 3),), ((2, 2, 2),)]),
        (L.inv, sla.inv, lambda r, s: _well(r, s[0]), [((3, 3),)]),
    ],
    ids=lambda f: getattr(f, "__name__", ""),
)
def test_matrix_functions(ours, theirs, factory, shapes):
    rng = np.random.default_rng(1)
    for (shape,) in shapes:
        a = factory(rng, (shape,))
        assert np.allclose(ours(a), theirs(a), rtol=1e-10, atol=1e-12)
    check_rule(ours, shapes=shapes, nargs=1, args_factory=lambda r, s: (factory(r, s),), rtol=1e-5)


def test_expm_of_a_nilpotent_matrix_by_hand():
    # expm(t N) = I + t N for N^2 = 0, so d/dt expm(t N) = N.
    n = np.array([[0.0, 3.0], [0.0, 0.0]])
    assert np.allclose(cr.jacfwd(lambda t: L.expm(t * n))(0.7), n)


def test_expm_frechet_matches_scipy():
    rng = np.random.default_rng(2)
    a, e = rng.standard_normal((2, 4, 4))
    _, tangent = cr.jvp(L.expm, (a,), (e,))
    assert np.allclose(tangent, sla.expm_frechet(a, e, compute_expm=False))


def test_solve_sylvester():
    rng = np.random.default_rng(3)
    a, b, q = _well(rng, (3, 3)), _well(rng, (2, 2)), rng.standard_normal((3, 2))
    assert np.allclose(L.solve_sylvester(a, b, q), sla.solve_sylvester(a, b, q))
    check_derivatives(L.solve_sylvester, a, b, q, rtol=1e-5)


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("trans", [0, 1, "C"])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("bshape", [(3,), (3, 2)])
def test_solve_triangular(lower, trans, unit, bshape):
    rng = np.random.default_rng(4)
    a, b = _well(rng, (3, 3)), rng.standard_normal(bshape)
    kw = dict(lower=lower, trans=trans, unit_diagonal=unit)
    assert np.allclose(L.solve_triangular(a, b, **kw), sla.solve_triangular(a, b, **kw))
    # a full (not triangular) a: the other triangle must get a zero gradient, as SciPy never reads it
    check_derivatives(lambda a, b: L.solve_triangular(a, b, **kw), a, b, rtol=1e-5)


@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_and_solve(lower):
    rng = np.random.default_rng(5)
    a, b = _spd(rng, (3, 3)), rng.standard_normal((3, 2))
    c, low = L.cho_factor(a, lower=lower)
    theirs = sla.cho_factor(a, lower=lower)
    mask = np.tril(np.ones((3, 3))) if lower else np.triu(np.ones((3, 3)))
    assert low == lower and np.allclose(c, theirs[0] * mask)
    assert np.allclose(L.cho_solve((c, low), b), sla.cho_solve(theirs, b))
    # not symmetric: SciPy reads one triangle, so must the derivative
    a_asym = a + np.triu(rng.standard_normal((3, 3)), 1) * (0 if lower else 1)
    check_derivatives(lambda a, b: L.cho_solve(L.cho_factor(a, lower=lower), b), a_asym, b, rtol=1e-5)
    check_derivatives(lambda a: L.cho_factor(a, lower=lower)[0], a, rtol=1e-5)


def test_lu_factor_and_solve_with_pivoting():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((4, 4))
    a[0, 0] = 1e-3  # forces a row swap
    lu, piv = L.lu_factor(a)
    theirs = sla.lu_factor(a)
    assert np.allclose(lu, theirs[0]) and np.array_equal(piv, theirs[1]) and piv[0] != 0
    b = rng.standard_normal((4, 2))
    for trans in (0, 1):
        assert np.allclose(L.lu_solve((lu, piv), b, trans=trans), sla.lu_solve(theirs, b, trans=trans))
        check_derivatives(lambda a, b, tr=trans: L.lu_solve(L.lu_factor(a), b, trans=tr), a, b, rtol=1e-5)
    check_derivatives(lambda a: L.lu_factor(a)[0], a, rtol=1e-5)


def test_solve_banded():
    rng = np.random.default_rng(7)
    ab = rng.standard_normal((4, 5))
    ab[1] += 5.0  # diagonal row for (l, u) = (2, 1)
    b = rng.standard_normal(5)
    assert np.allclose(L.solve_banded((2, 1), ab, b), sla.solve_banded((2, 1), ab, b))
    traced = cr.jvp(lambda b: L.solve_banded((2, 1), ab, b), (b,), (b,))[0]
    assert np.allclose(traced, sla.solve_banded((2, 1), ab, b))
    check_derivatives(lambda ab, b: L.solve_banded((2, 1), ab, b), ab, b, rtol=1e-5)
    # the corners of ab that SciPy never reads get no gradient
    g = cr.grad(lambda ab: np.sum(L.solve_banded((2, 1), ab, b)))(ab)
    assert g[0, 0] == 0 and g[3, -1] == 0 and g[2, -1] == 0


def _complex(rng, shape):
    return 0.4 * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) + 2.0 * np.eye(
        shape[-2], shape[-1]
    )


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(L.expm, sla.expm), (L.logm, sla.logm), (L.sqrtm, sla.sqrtm)],
    ids=["expm", "logm", "sqrtm"],
)
def test_holomorphic_matrix_functions_in_complex_directions(ours, theirs):
    rng = np.random.default_rng(9)
    a = _complex(rng, (3, 3))
    assert np.allclose(ours(a), theirs(a))
    check_rule(ours, nargs=1, shapes=[(3, 3)], dtype=np.complex128, rtol=1e-5,
               args_factory=lambda r, s: (_complex(r, s[0]),))  # fmt: skip
    # the convention: the reverse rule of a holomorphic f is the transpose of its forward rule, no conjugate
    e, g = rng.standard_normal((2, 3, 3)) + 1j
    _, tangent = cr.jvp(ours, (a,), (e,))
    (cotangent,) = cr.vjp(ours, a)[1](g)
    assert np.isclose(np.sum(g * tangent), np.sum(cotangent * e))


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_complex_solve_triangular_and_sylvester(trans):
    rng = np.random.default_rng(10)
    a, b = _complex(rng, (3, 3)), _complex(rng, (3, 2))
    assert np.allclose(L.solve_triangular(a, b, trans=trans), sla.solve_triangular(a, b, trans=trans))
    check_derivatives(lambda a, b: L.solve_triangular(a, b, trans=trans, lower=True), a, b, rtol=1e-5)
    q = _complex(rng, (3, 2))
    c = _complex(rng, (2, 2))
    assert np.allclose(L.solve_sylvester(a, c, q), sla.solve_sylvester(a, c, q))
    check_derivatives(L.solve_sylvester, a, c, q, rtol=1e-5)


def test_refusals_name_the_function():
    with pytest.raises(cr.ComplexValueError, match="lu_factor: .*complex arguments"):
        L.lu_factor(np.eye(2) * 1j)
    with pytest.raises(ValueError, match="logm: the result of this real matrix is complex"):
        L.logm(-np.eye(2))
    with pytest.raises(ValueError, match="solve_triangular: trans"):
        L.solve_triangular(np.eye(2), np.ones(2), trans="X")
    with pytest.raises(ValueError, match="square"):
        L.expm(np.ones((2, 3)))


def test_batched_solve_triangular():
    rng = np.random.default_rng(8)
    a, b = _well(rng, (2, 3, 3)), rng.standard_normal((2, 3, 2))
    assert np.allclose(L.solve_triangular(a, b, lower=True), sla.solve_triangular(a, b, lower=True))
    check_derivatives(lambda a, b: L.solve_triangular(a, b, lower=True, trans=1), a, b, rtol=1e-5)
