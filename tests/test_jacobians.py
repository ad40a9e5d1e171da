"""Forward mode, Jacobians, Hessians and Hessian-vector products."""

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(7)


def _fd_jacobian(f, x, h=1e-6):
    x = np.asarray(x, float)
    out = np.asarray(f(x))
    jac = np.zeros(out.shape + x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        jac[(..., *i)] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)
    return jac


FUNCTIONS = [
    lambda x: np.sin(x) * x[::-1],
    lambda x: np.exp(-x * x) + np.tanh(x)[0],
    lambda x: x[:, None] * x[None, :],
    lambda x: np.sum(x**3) * x,
]


@pytest.mark.parametrize("f", FUNCTIONS)
@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd, cr.jacobian])
def test_jacobians_match_finite_differences(f, jac):
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(jac(f)(x), _fd_jacobian(f, x), rtol=1e-6, atol=1e-8)


def test_jacobian_shapes_follow_output_then_input():
    x = RNG.standard_normal((2, 3))
    f = lambda x: np.tanh(x).T
    for jac in (cr.jacrev, cr.jacfwd):
        assert jac(f)(x).shape == (3, 2, 2, 3)


def test_jacobian_over_pytrees_and_argnums():
    p = {"a": RNG.standard_normal(2), "b": RNG.standard_normal(3)}
    f = lambda p, s: (p["a"][:, None] * p["b"][None, :] * s).ravel()
    for jac in (cr.jacrev, cr.jacfwd):
        j = jac(f, argnums=(0, 1))(p, 2.0)
        assert j[0]["a"].shape == (6, 2) and j[0]["b"].shape == (6, 3) and j[1].shape == (6,)
        np.testing.assert_allclose(
            j[0]["a"], _fd_jacobian(lambda a: f({"a": a, "b": p["b"]}, 2.0), p["a"]), rtol=1e-6
        )


def test_jvp_and_vjp_are_transposes_on_random_compositions():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((4, 3))
        f = lambda x, w=w: np.tanh(x @ w) * np.exp(-np.abs(x @ w)) + np.sum(x**2)
        x, v = rng.standard_normal((2, 5, 4))
        u = rng.standard_normal((5, 3))
        _, t = cr.jvp(f, (x,), (v,))
        (ct,) = cr.vjp(f, x)[1](u)
        assert np.sum(u * t) == pytest.approx(np.sum(ct * v), rel=1e-11)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_hessian_is_symmetric_and_matches_fd_of_gradient():
    x = RNG.standard_normal(6)
    h = cr.hessian(rosenbrock)(x)
    np.testing.assert_allclose(h, h.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h, _fd_jacobian(cr.grad(rosenbrock), x), rtol=1e-6, atol=1e-6)


def test_hvp_equals_hessian_times_vector():
    x, v = RNG.standard_normal((2, 7))
    np.testing.assert_allclose(cr.hvp(rosenbrock, (x,), (v,)), cr.hessian(rosenbrock)(x) @ v, rtol=1e-12)


def test_hvp_does_not_form_the_hessian():
    # At n = 200000 a Hessian would need 320 GB; the hvp is two gradient passes.
    x = np.full(200_000, 0.5)
    v = np.ones_like(x)
    hv = cr.hvp(rosenbrock, (x,), (v,))
    assert hv.shape == x.shape and np.all(np.isfinite(hv))


@pytest.mark.parametrize(
    ("f", "third"),
    [
        (lambda x: np.sin(x), lambda x: -np.cos(x)),
        (lambda x: np.exp(2.0 * x), lambda x: 8.0 * np.exp(2.0 * x)),
        (lambda x: x**4, lambda x: 24.0 * x),
        (lambda x: np.log(x), lambda x: 2.0 / x**3),
        (lambda x: np.tanh(x), lambda x: -2.0 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2)),
    ],
)
def test_third_derivatives_in_every_mix_of_modes(f, third):
    x = 0.7
    d_rev = lambda g: cr.grad(g)
    d_fwd = lambda g: lambda x: cr.jvp(g, (x,), (1.0,))[1]
    for mix in [(d_rev,) * 3, (d_fwd,) * 3, (d_rev, d_fwd, d_rev), (d_fwd, d_rev, d_fwd)]:
        g = f
        for d in mix:
            g = d(g)
        assert float(g(x)) == pytest.approx(third(x), rel=1e-10)


def test_stop_gradient_blocks_every_level():
    f = lambda x: x**2 * cr.stop_gradient(x**2)
    assert float(cr.grad(f)(3.0)) == pytest.approx(2 * 3.0 * 9.0)
    assert float(cr.grad(cr.grad(f))(3.0)) == pytest.approx(2 * 9.0)


def test_hessian_modes_agree_and_bad_mode_is_named():
    x = RNG.standard_normal(5)
    np.testing.assert_allclose(
        cr.hessian(rosenbrock, mode="rev-rev")(x), cr.hessian(rosenbrock)(x), rtol=1e-12, atol=1e-12
    )
    with pytest.raises(ValueError, match="rev-rev"):
        cr.hessian(rosenbrock, mode="fwd")
