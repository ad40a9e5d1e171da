"""The FFT family (issue 13): every function and option by check_rule, real and complex; JAX as oracle.

The transforms are linear, so the finite differences are exact up to rounding
and every order is checked; the transposes of the real transforms (the
doubled bins of ``irfft``) are what could go wrong, and the cases below cover
even and odd lengths, padding and truncation by ``n``/``s``, every ``norm``
and non-default axes.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import ComplexValueError

NORMS = [None, "backward", "ortho", "forward"]
fft = np.fft


def _real(rng, shapes):
    return [rng.uniform(-1, 1, s) for s in shapes]


def _complex(rng, shapes):
    return [rng.uniform(-1, 1, s) + 1j * rng.uniform(-1, 1, s) for s in shapes]


# (function, shapes): complex-to-complex transforms take real and complex inputs.
COMPLEX_INPUT = [
    (lambda a, norm: fft.fft(a, norm=norm), [(4,), (2, 5)]),
    (lambda a, norm: fft.fft(a, n=6, axis=0, norm=norm), [(4,), (3, 2)]),
    (lambda a, norm: fft.fft(a, n=3, norm=norm), [(5,), (2, 4)]),
    (lambda a, norm: fft.ifft(a, norm=norm), [(4,), (2, 5)]),
    (lambda a, norm: fft.ifft(a, n=7, norm=norm), [(4,), (2, 5)]),
    (lambda a, norm: fft.fft2(a, norm=norm), [(3, 4), (2, 2, 3)]),
    (lambda a, norm: fft.fft2(a, s=(2, 5), norm=norm), [(3, 4)]),
    (lambda a, norm: fft.ifft2(a, norm=norm), [(3, 4), (2, 2, 3)]),
    (lambda a, norm: fft.fftn(a, norm=norm), [(3,), (2, 3), (2, 3, 2)]),
    (lambda a, norm: fft.fftn(a, s=(4, 2), axes=(0, 2), norm=norm), [(3, 2, 3)]),
    (lambda a, norm: fft.ifftn(a, axes=(1,), norm=norm), [(2, 3, 2)]),
    (lambda a, norm: fft.ifftn(a, s=(5,), axes=(-1,), norm=norm), [(2, 3)]),
    (lambda a, norm: fft.irfft(a, norm=norm), [(4,), (2, 3)]),
    (lambda a, norm: fft.irfft(a, n=7, norm=norm), [(4,), (2, 3)]),
    (lambda a, norm: fft.irfft(a, n=4, axis=0, norm=norm), [(3,), (5, 2)]),
    (lambda a, norm: fft.irfft(a, n=1, norm=norm), [(3,)]),
    (lambda a, norm: fft.irfft2(a, norm=norm), [(3, 4), (2, 2, 3)]),
    (lambda a, norm: fft.irfft2(a, s=(2, 5), norm=norm), [(3, 4)]),
    (lambda a, norm: fft.irfftn(a, norm=norm), [(3,), (2, 3), (2, 3, 2)]),
    (lambda a, norm: fft.irfftn(a, s=(3, 3), axes=(2, 0), norm=norm), [(2, 2, 4)]),
    (lambda a, norm: fft.hfft(a, norm=norm), [(4,), (2, 3)]),
    (lambda a, norm: fft.hfft(a, n=5, axis=0, norm=norm), [(3,), (4, 2)]),
    (lambda a, norm: fft.fftshift(a), [(4,), (3, 5)]),
    (lambda a, norm: fft.fftshift(a, axes=1), [(3, 5)]),
    (lambda a, norm: fft.ifftshift(a), [(5,), (3, 4)]),
    (lambda a, norm: fft.ifftshift(a, axes=(0,)), [(3, 4)]),
]

# Real-input transforms (NumPy refuses complex input).
REAL_INPUT = [
    (lambda a, norm: fft.rfft(a, norm=norm), [(4,), (5,), (2, 3)]),
    (lambda a, norm: fft.rfft(a, n=6, axis=0, norm=norm), [(4,), (3, 2)]),
    (lambda a, norm: fft.rfft(a, n=3, norm=norm), [(5,), (2, 4)]),
    (lambda a, norm: fft.rfft2(a, norm=norm), [(3, 4), (2, 2, 3)]),
    (lambda a, norm: fft.rfft2(a, s=(4, 3), norm=norm), [(3, 4)]),
    (lambda a, norm: fft.rfftn(a, norm=norm), [(3,), (2, 3), (2, 3, 2)]),
    (lambda a, norm: fft.rfftn(a, axes=(1, 0), norm=norm), [(2, 3, 2)]),
    (lambda a, norm: fft.ihfft(a, norm=norm), [(4,), (5,), (2, 3)]),
    (lambda a, norm: fft.ihfft(a, n=6, axis=0, norm=norm), [(4,), (3, 2)]),
]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(("fun", "shapes"), COMPLEX_INPUT)
def test_transforms_of_complex_and_real_input(fun, shapes, norm):
    for factory, dtype in ((_complex, np.complex128), (_real, np.float64)):
        check_rule(
            lambda a: fun(a, norm), nargs=1, shapes=shapes, args_factory=factory, dtype=dtype, atol=1e-6
        )


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(("fun", "shapes"), REAL_INPUT)
def test_transforms_of_real_input(fun, shapes, norm):
    check_rule(lambda a: fun(a, norm), nargs=1, shapes=shapes, args_factory=_real, atol=1e-6)


def test_values_match_numpy():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
    x = rng.normal(size=(3, 4))
    for f, a in [
        (lambda a: fft.fft(a, n=6, norm="ortho"), z),
        (lambda a: fft.irfftn(a, s=(3, 5), axes=(0, 1)), z),
        (lambda a: fft.hfft(a, n=5, norm="forward"), z),
        (lambda a: fft.ihfft(a, norm="ortho"), x),
        (lambda a: fft.rfft2(a, s=(2, 6)), x),
        (lambda a: fft.fftshift(a, axes=0), z),
    ]:
        value, _ = cr.vjp(f, a)
        np.testing.assert_allclose(value, f(a), rtol=1e-14, atol=1e-14)


def test_transpose_of_irfft_is_weighted_not_a_scaled_rfft():
    # Re(sum(c * irfft(g))) = Re(sum(vjp(c) * g)) for every g: brute-force adjoint of the real Jacobian.
    rng = np.random.default_rng(2)
    for n in (6, 7):
        m = n // 2 + 1
        g = rng.normal(size=m) + 1j * rng.normal(size=m)
        c = rng.normal(size=n)
        (ct,) = cr.vjp(lambda g, n=n: fft.irfft(g, n=n), g)[1](c)
        basis = np.eye(m)
        expected = np.array([c @ fft.irfft(e, n=n) for e in basis]) - 1j * np.array(
            [c @ fft.irfft(1j * e, n=n) for e in basis]
        )
        np.testing.assert_allclose(ct, expected, atol=1e-14)
        # The ratio to the (conjugate) half spectrum of c is the weights 1, 2, ..., 2 (, 1 for even n),
        # not one scale: the doubled bins.
        ratio = ct / np.conj(fft.rfft(c, norm="forward"))
        weights = np.array([1.0] + [2.0] * (m - 1))
        if n % 2 == 0:
            weights[-1] = 1.0
        np.testing.assert_allclose(ratio, weights, rtol=1e-12)


def test_parseval_gradient():
    x = np.array([1.0, 2.0, 0.5, -1.0, 3.0])
    g = cr.grad(lambda x: np.sum(np.abs(fft.fft(x, norm="ortho")) ** 2))(x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-13)
    assert g.dtype == np.float64


def test_errors_name_the_function_and_argument():
    z = np.array([1.0 + 1j, 2.0, 3.0])
    with pytest.raises(ComplexValueError, match=r"numpy\.fft\.rfft: the input must be real"):
        cr.grad(lambda z: np.sum(np.abs(fft.rfft(z))))(z)
    with pytest.raises(ValueError, match="invalid norm"):
        cr.grad(lambda x: np.sum(np.abs(fft.fft(x, norm="both"))))(z.real)
    with pytest.raises(ValueError, match="n must be at least 1"):
        cr.grad(lambda x: np.sum(np.abs(fft.fft(x, n=0))))(z.real)
    with pytest.raises(ValueError, match="same length"):
        cr.grad(lambda x: np.sum(np.abs(fft.fftn(x, s=(2, 3), axes=(0,)))))(np.ones((2, 3)))
    with pytest.raises(TypeError, match="out="):
        cr.grad(lambda x: np.sum(np.abs(fft.fft(x, out=np.empty(3, complex)))))(z.real)


# -- oracle: JAX, where installed ------------------------------------------------------------------
def test_derivatives_agree_with_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    rng = np.random.default_rng(3)
    z = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
    x = rng.normal(size=(3, 4))
    pairs = [
        (lambda a, m: m.fft.fft(a, n=6, norm="ortho"), z),
        (lambda a, m: m.fft.ifft(a, n=3, axis=0), z),
        (lambda a, m: m.fft.rfft(a, n=7, norm="forward"), x),
        (lambda a, m: m.fft.irfft(a, n=5), z),
        (lambda a, m: m.fft.irfft(a, n=6, axis=0, norm="ortho"), z),
        (lambda a, m: m.fft.hfft(a, n=6), z),
        (lambda a, m: m.fft.ihfft(a, norm="ortho"), x),
        (lambda a, m: m.fft.fft2(a, s=(4, 3)), z),
        (lambda a, m: m.fft.rfft2(a), x),
        (lambda a, m: m.fft.irfft2(a, s=(2, 5), norm="forward"), z),
        (lambda a, m: m.fft.irfftn(a), z),
        (lambda a, m: m.fft.fftshift(m.fft.ifftn(a, norm="ortho"), axes=1), z),
        (lambda a, m: m.fft.ifftshift(m.fft.fft(a)), x),
    ]
    for f, a in pairs:
        out = f(a, np)
        u = rng.normal(size=out.shape) + (1j * rng.normal(size=out.shape) if np.iscomplexobj(out) else 0)
        t = rng.normal(size=a.shape) + (1j * rng.normal(size=a.shape) if np.iscomplexobj(a) else 0)
        ours = cr.vjp(lambda a, f=f: f(a, np), a)[1](u)[0]
        theirs = jax.vjp(lambda a, f=f: f(a, jnp), jnp.asarray(a))[1](jnp.asarray(u))[0]
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-11, atol=1e-12)
        ours = cr.jvp(lambda a, f=f: f(a, np), (a,), (t,))[1]
        theirs = jax.jvp(lambda a, f=f: f(a, jnp), (jnp.asarray(a),), (jnp.asarray(t),))[1]
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-11, atol=1e-12)
    # grad of a real loss of complex input
    loss_np = lambda z: np.sum(np.abs(np.fft.rfft(np.fft.irfft(z, n=5) ** 2)))
    loss_jax = lambda z: jnp.sum(jnp.abs(jnp.fft.rfft(jnp.fft.irfft(z, n=5) ** 2)))
    np.testing.assert_allclose(
        cr.grad(loss_np)(z), np.asarray(jax.grad(loss_jax)(jnp.asarray(z))), rtol=1e-11
    )


@pytest.mark.parametrize(
    ("fun", "dtype"),
    [
        (lambda z: np.sum(fft.irfft(z) ** 2), np.complex64),
        (lambda z: np.sum(fft.hfft(z, n=5)), np.complex64),
        (lambda z: np.sum(np.abs(fft.fft2(z)) ** 2), np.complex64),
        (lambda x: np.sum(np.abs(fft.rfftn(x)) ** 2), np.float32),
    ],
)
def test_single_precision_is_kept(fun, dtype):
    a = (np.arange(6.0).reshape(2, 3) + (1j if np.dtype(dtype).kind == "c" else 0)).astype(dtype)
    assert cr.grad(fun)(a).dtype == dtype
