"""vmap of chainrule.scipy.linalg's matrix functions: one SciPy call on the stacked examples.

Compared with a Python loop over the examples (values, and chainrule's
per-example derivatives, checked by finite differences in test_scipy_linalg.py).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check.vmapcheck import check_vmap
from chainrule.engine.batching import rule_kind

sl = pytest.importorskip("chainrule.scipy.linalg", reason="chainrule.scipy needs SciPy")
matrix_functions = pytest.importorskip("chainrule.scipy.linalg.matrix_functions")
triangular = pytest.importorskip("chainrule.scipy.linalg.triangular")

RNG = np.random.default_rng(157)


def _spd(n):
    a = RNG.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


CASES = [
    ("expm", sl.expm, lambda: (0.5 * RNG.standard_normal((3, 3)),)),
    ("logm", sl.logm, lambda: (_spd(3),)),
    ("sqrtm", sl.sqrtm, lambda: (_spd(3),)),
    ("solve_sylvester", sl.solve_sylvester, lambda: (_spd(3), _spd(2), RNG.standard_normal((3, 2)))),
]


@pytest.mark.parametrize(("name", "fun", "draw"), CASES, ids=[c[0] for c in CASES])
def test_matrix_functions_batch(name, fun, draw):
    check_vmap(fun, [draw() for _ in range(3)], rtol=1e-7, atol=1e-10)


def test_expm_runs_once_for_the_batch(monkeypatch):
    xs = 0.3 * RNG.standard_normal((5, 3, 3))
    want = np.stack([sl.expm(x) for x in xs])
    calls = []
    impl = matrix_functions.expm_p.impl
    monkeypatch.setattr(matrix_functions.expm_p, "impl", lambda a: calls.append(np.shape(a)) or impl(a))
    np.testing.assert_allclose(cr.vmap(sl.expm)(xs), want, rtol=1e-12)
    assert calls == [(5, 3, 3)]
    assert rule_kind(matrix_functions.expm_p) == "leading axes"
    # the per-example Hessian of a loss through expm, against the loop
    loss = lambda a: np.sum(sl.expm(a) ** 2)
    got = cr.vmap(cr.hessian(loss))(xs[:2])
    np.testing.assert_allclose(got, np.stack([cr.hessian(loss)(x) for x in xs[:2]]), rtol=1e-9)


def test_a_shared_argument_is_repeated():
    a, b = _spd(3), _spd(2)
    qs = RNG.standard_normal((4, 3, 2))
    got = cr.vmap(sl.solve_sylvester, in_axes=(None, None, 0))(a, b, qs)
    np.testing.assert_allclose(got, np.stack([sl.solve_sylvester(a, b, q) for q in qs]), rtol=1e-12)


def test_lu_factor_and_lu_solve_under_vmap_are_refused_with_the_alternative():
    a = np.stack([_spd(3), _spd(3)])
    with pytest.raises(cr.UnsupportedOperationError, match="pivots.*numpy.linalg.solve"):
        cr.vmap(lambda m: sl.lu_factor(m)[0])(a)
    lu_piv = sl.lu_factor(a[0])
    with pytest.raises(cr.UnsupportedOperationError, match="lu_solve under chainrule.vmap"):
        cr.vmap(lambda b: sl.lu_solve((b * lu_piv[0], lu_piv[1]), np.ones(3)))(np.ones((2, 1)))
    with pytest.raises(cr.UnsupportedOperationError, match="lu_factor under chainrule.vmap"):
        cr.grad(lambda m: np.sum(cr.vmap(lambda x: sl.lu_factor(x)[0])(m)))(a)
    # without vmap: unchanged
    np.testing.assert_allclose(sl.lu_solve(lu_piv, np.ones(3)), np.linalg.solve(a[0], np.ones(3)), rtol=1e-12)


def _lower(n):
    return np.tril(RNG.standard_normal((n, n))) + 3 * np.eye(n)


@pytest.mark.parametrize("rhs", [(3,), (3, 2)], ids=["vector", "matrix"])
@pytest.mark.parametrize(
    "options",
    [{"lower": True}, {"lower": False, "trans": 1}, {"lower": True, "unit_diagonal": True}],
    ids=str,
)
def test_solve_triangular_batches(rhs, options):
    def draw():
        a = _lower(3)
        return (a if options["lower"] else a.T, RNG.standard_normal(rhs))

    check_vmap(lambda a, b: sl.solve_triangular(a, b, **options), [draw() for _ in range(3)], rtol=1e-9)


def test_solve_triangular_is_one_call_when_scipy_solves_stacks(monkeypatch):
    a, bs = _lower(4), RNG.standard_normal((6, 4))
    want = np.stack([sl.solve_triangular(a, b, lower=True) for b in bs])
    calls = []
    impl = triangular.solve_triangular_p.impl
    monkeypatch.setattr(triangular.solve_triangular_p, "impl", lambda *args: calls.append(1) or impl(*args))
    got = cr.vmap(lambda b: sl.solve_triangular(a, b, lower=True))(bs)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert len(calls) == (1 if triangular._SCIPY_STACKS else 6)
    # cho_solve is two triangular solves: batched too
    c = sl.cho_factor(a @ a.T)
    np.testing.assert_allclose(
        cr.vmap(lambda b: sl.cho_solve(c, b))(bs), np.stack([sl.cho_solve(c, b) for b in bs]), rtol=1e-10
    )
