"""Complex numbers: every rule declared complex-capable, checked in complex directions (issue 12).

``check_rule(..., dtype=np.complex128)`` draws complex inputs and compares
``Re(sum(u * J v))`` by each mode with finite differences along complex
directions ``v``, at orders 1 and 2 in every combination of modes. The last
test makes the table complete: a primitive declared ``supports_complex``
without a case here fails it.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_derivatives, check_rule
from chainrule.engine import RULED_PRIMITIVES, UFUNC_PRIMITIVES
from chainrule.errors import ComplexValueError, UnsupportedOperationError


def _well_conditioned(rng, shapes):
    """Complex matrices away from singular (a multiple of the identity added); vectors as drawn."""
    out = []
    for s in shapes:
        z = rng.uniform(-1, 1, s) + 1j * rng.uniform(-1, 1, s)
        if len(s) >= 2 and s[-1] == s[-2]:
            z = z + 3.0 * np.eye(s[-1])
        out.append(z)
    return out


ELEMENTWISE = [
    np.add, np.subtract, np.multiply, np.true_divide, np.negative, np.positive,
    np.square, np.reciprocal, np.sqrt, np.power, np.exp, np.exp2, np.expm1,
    np.log, np.log2, np.log10, np.log1p, np.sin, np.cos, np.tan, np.arcsin, np.arccos,
    np.arctan, np.sinh, np.cosh, np.tanh, np.arcsinh, np.arccosh, np.arctanh,
    np.conjugate, np.absolute,
]  # fmt: skip

# (primitive name(s) covered, function, check_rule options)
CASES = [
    (("numpy.real",), np.real, {"nargs": 1}),
    (("numpy.imag",), np.imag, {"nargs": 1}),
    (("numpy.angle",), np.angle, {"nargs": 1}),
    (("numpy.angle",), lambda z: np.angle(z, deg=True), {"nargs": 1}),
    (("getitem",), lambda z: z[..., ::2], {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (("getitem", "scatter_add"), lambda z: z[[0, 0, 2]], {"nargs": 1, "shapes": [(4,)]}),
    (("chainrule.at.add",), lambda z, w: cr.at(z)[[0, 0]].add(w), {"nargs": 2, "shapes": [((4,), (2,))]}),
    (("chainrule.at.set",), lambda z, w: cr.at(z)[[0, 1]].set(w), {"nargs": 2, "shapes": [((4,), (2,))]}),
    (("ndarray.astype",), lambda z: z.astype(np.complex128), {"nargs": 1}),
    (("numpy.reshape",), lambda z: np.reshape(z, (-1,)), {"nargs": 1}),
    (("numpy.transpose",), np.transpose, {"nargs": 1}),
    (("numpy.broadcast_to",), lambda z: np.broadcast_to(z, (2, *np.shape(z))), {"nargs": 1}),
    (("numpy.concatenate",), lambda z, w: np.concatenate([z, w]), {"nargs": 2, "shapes": [((3,), (2,))]}),
    (("numpy.stack",), lambda z, w: np.stack([z, w]), {"nargs": 2, "shapes": [((3,), (3,))]}),
    (("numpy.flip",), np.flip, {"nargs": 1}),
    (("numpy.roll",), lambda z: np.roll(z, 1), {"nargs": 1}),
    (("numpy.pad",), lambda z: np.pad(z, 1), {"nargs": 1, "shapes": [(3,), (2, 2)]}),
    (("numpy.diagonal",), np.diagonal, {"nargs": 1, "shapes": [(3, 3), (2, 3)]}),
    (("diag_embed",), np.diag, {"nargs": 1, "shapes": [(3,)]}),
    (("numpy.tril",), np.tril, {"nargs": 1, "shapes": [(3, 3)]}),
    (("numpy.triu",), np.triu, {"nargs": 1, "shapes": [(3, 3)]}),
    (("numpy.where",), lambda z, w: np.where(np.array([True, False, True]), z, w), {"nargs": 2, "shapes": [((3,), (3,))]}),  # noqa: E501
    (("numpy.sum",), lambda z: np.sum(z, axis=-1, keepdims=True), {"nargs": 1}),
    (("numpy.mean",), lambda z: np.mean(z, axis=0), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (("numpy.prod",), lambda z: np.prod(z, axis=-1), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (("numpy.cumsum", "shift", "include_initial"), lambda z: np.cumsum(z, axis=-1), {"nargs": 1, "shapes": [(4,), (2, 3)]}),  # noqa: E501
    (("numpy.cumprod",), lambda z: np.cumprod(z, axis=-1), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (("numpy.matmul",), np.matmul, {"nargs": 2, "shapes": [((2, 3), (3, 4)), ((3,), (3,)), ((2, 2, 3), (3,))]}),  # noqa: E501
    (("numpy.einsum",), lambda a, b: np.einsum("ij,jk->ik", a, b), {"nargs": 2, "shapes": [((2, 3), (3, 4))]}),  # noqa: E501
    (("numpy.einsum",), np.dot, {"nargs": 2, "shapes": [((2, 3), (3, 4))]}),
    (("numpy.einsum",), np.outer, {"nargs": 2, "shapes": [((2,), (3,))]}),
    (("numpy.einsum",), np.trace, {"nargs": 1, "shapes": [(3, 3)]}),
    (("numpy.linalg.inv",), np.linalg.inv, {"nargs": 1, "shapes": [(3, 3), (2, 3, 3)], "args_factory": _well_conditioned}),  # noqa: E501
    (("numpy.linalg.solve",), np.linalg.solve, {"nargs": 2, "shapes": [((3, 3), (3, 2)), ((3, 3), (3,))], "args_factory": _well_conditioned}),  # noqa: E501
    # norms, slogdet, Cholesky (tests/test_complex_linalg.py checks every option)
    (("numpy.linalg.norm",), np.linalg.norm, {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (("numpy.linalg.slogdet",), lambda a: np.linalg.slogdet(a)[1], {"nargs": 1, "shapes": [(3, 3)], "args_factory": _well_conditioned}),  # noqa: E501
    (("slogdet_sign",), lambda a: np.linalg.slogdet(a)[0], {"nargs": 1, "shapes": [(3, 3)], "args_factory": _well_conditioned}),  # noqa: E501
    (("numpy.linalg.cholesky",), lambda a: np.linalg.cholesky(a @ np.conj(a.T) + 3 * np.eye(3)), {"nargs": 1, "shapes": [(3, 3)]}),  # noqa: E501
    (("numpy.linalg.eigh",), np.linalg.eigvalsh, {"nargs": 1, "shapes": [(3, 3)], "args_factory": lambda rng, s: [_well_conditioned(rng, s)[0] @ np.conj(_well_conditioned(rng, s)[0].T)]}),  # noqa: E501
    (("numpy.linalg.pinv",), np.linalg.pinv, {"nargs": 1, "shapes": [(3, 2)]}),
    (("numpy.linalg.svdvals (complex)",), np.linalg.svdvals, {"nargs": 1, "shapes": [(3, 2)], "orders": (1,)}),  # noqa: E501
    (("numpy.linalg.eig",), np.linalg.eigvals, {"nargs": 1, "shapes": [(3, 3)], "args_factory": _well_conditioned}),  # noqa: E501
    # the other families (tests/test_complex_sweep.py checks their options)
    (("numpy.var",), np.var, {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (("numpy.std",), lambda z: np.std(z, axis=0), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (("numpy.convolve",), lambda z: np.convolve(z, z[:2]), {"nargs": 1, "shapes": [(4,)]}),
    # the FFT family (tests/test_fft.py checks every function and option)
    (("numpy.fft.fftn",), lambda z: np.fft.fft(z, n=5), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (("numpy.fft.ifftn",), np.fft.ifft2, {"nargs": 1, "shapes": [(2, 3)]}),
    (("numpy.fft.irfft",), lambda z: np.fft.irfft(z, n=6, norm="ortho"), {"nargs": 1, "shapes": [(4,), (2, 3)]}),  # noqa: E501
    (("numpy.fft.rfft",), lambda z: np.fft.rfft(np.real(z) * np.imag(z)), {"nargs": 1, "shapes": [(4,), (2, 5)]}),  # noqa: E501
    (("numpy.linalg.det",), np.linalg.det, {"nargs": 1, "shapes": [(3, 3), (2, 3, 3)], "args_factory": _well_conditioned}),  # noqa: E501
]  # fmt: skip


try:  # chainrule.scipy's holomorphic primitives (SciPy is optional); their own tests check more
    from chainrule.scipy import linalg as scipy_linalg
    from chainrule.scipy import signal as scipy_signal
except ImportError:  # pragma: no cover
    pass
else:
    _square = {"nargs": 1, "shapes": [(3, 3)], "args_factory": _well_conditioned, "rtol": 1e-5}
    CASES += [
        (("scipy.linalg.expm",), scipy_linalg.expm, _square),
        (("scipy.linalg.logm",), scipy_linalg.logm, _square),
        (("scipy.linalg.sqrtm", "scipy.linalg.solve_sylvester"), scipy_linalg.sqrtm, _square),
        (("scipy.linalg.solve_triangular",), lambda a, b: scipy_linalg.solve_triangular(a, b, lower=True),
         {"nargs": 2, "shapes": [((3, 3), (3, 2))], "args_factory": _well_conditioned}),
        (("scipy.signal.convolve",), lambda a, v: scipy_signal.convolve(a, v, mode="same"),
         {"nargs": 2, "shapes": [((5,), (3,)), ((3, 4), (2, 2))]}),
    ]  # fmt: skip

try:  # SciPy is optional: its holomorphic ufuncs are declared complex-capable where installed
    import scipy.special as sc
except ImportError:  # pragma: no cover
    sc = None
if sc is not None:
    CASES += [
        ((f"scipy.special.{f.__name__}",), f, {"nargs": 1, "domain": (0.3, 1.5)})
        for f in (sc.erf, sc.erfc, sc.erfi, sc.erfcx, sc.dawsn, sc.ndtr, sc.log_ndtr, sc.expm1, sc.log1p)
    ]
    # First order only: their rules call digamma, which has no complex derivative rule.
    CASES += [
        ((f"scipy.special.{f.__name__}",), f, {"nargs": 1, "domain": (0.3, 1.5), "orders": (1,)})
        for f in (sc.loggamma, sc.gamma)
    ]


@pytest.mark.parametrize("fun", ELEMENTWISE, ids=lambda f: f.__name__)
def test_elementwise_rule_in_complex_directions(fun):
    # away from branch cuts and the poles of log, sqrt, arctanh...: real and imaginary parts in (0.3, 2)
    check_rule(fun, domain=(0.3, 2.0), dtype=np.complex128)


@pytest.mark.parametrize(
    ("names", "fun", "options"), CASES, ids=lambda p: p[0] if isinstance(p, tuple) else ""
)
def test_rule_in_complex_directions(names, fun, options):
    check_rule(fun, dtype=np.complex128, **options)


def test_every_complex_capable_primitive_has_a_case():
    declared = {p.name for p in RULED_PRIMITIVES if p.supports_complex}
    declared |= {p.name for p in UFUNC_PRIMITIVES.values() if p.supports_complex}
    covered = {name for names, _, _ in CASES for name in names}
    covered |= {UFUNC_PRIMITIVES[f].name for f in ELEMENTWISE}
    assert declared - covered == set(), "declared complex-capable without a test case"


# -- real inputs meeting complex values ----------------------------------------------------------
@pytest.mark.parametrize(
    "fun",
    [
        lambda x: x * (1.0 + 2.0j),
        lambda x: np.abs(np.exp(1j * x)) + np.real(x * (2.0 - 1.0j)) ** 2,
        lambda x: np.angle(x + 0.5j),
        lambda x: (
            x.astype(np.complex128) @ np.array([1j, 2.0, -1j])[: np.shape(x)[-1]] if np.ndim(x) else x * 1j
        ),
    ],
)
def test_real_input_complex_intermediate(fun):
    check_rule(fun, nargs=1, shapes=[(), (3,), (2, 3)], domain=(0.3, 2.0))


def test_mixed_real_and_complex_arguments():
    def factory(rng, shapes):
        return [
            rng.uniform(-1, 1, shapes[0]),
            rng.uniform(-1, 1, shapes[1]) + 1j * rng.uniform(-1, 1, shapes[1]),
        ]

    check_rule(np.multiply, args_factory=factory, shapes=[((3,), (3,)), ((2, 3), (3,))], dtype=np.complex128)
    x = np.array([0.3, -1.2])
    z = np.array([1.0 + 2.0j, -0.5j])
    check_derivatives(lambda x, z: np.abs(x * z) + np.real(z), x, z)


def test_issue_example_abs_of_complex_multiple():
    # issue 11/12: d/dx sum |(1+2j) x| = |1+2j| sign(x) = sqrt(5) for x > 0 (was -1.34: the imaginary part dropped)  # noqa: E501
    g = cr.grad(lambda x: np.sum(np.abs((1 + 2j) * x)))(np.array([0.3, 1.2]))
    np.testing.assert_allclose(g, np.sqrt(5.0) * np.ones(2), rtol=1e-14)
    assert g.dtype == np.float64


# -- the conventions at the API ------------------------------------------------------------------
def test_grad_of_real_function_of_complex_input_is_df_dx_minus_i_df_dy():
    # f(z) = |z|^2 = x^2 + y^2: df/dx - i df/dy = 2x - 2iy = 2 conj(z)
    z = np.array([3.0 + 4.0j, -1.0 + 0.5j])
    np.testing.assert_allclose(cr.grad(lambda z: np.sum(np.abs(z) ** 2))(z), 2 * np.conj(z), rtol=1e-14)
    # f = Re(z) * Im(z) = x y: y - i x
    np.testing.assert_allclose(cr.grad(lambda z: np.sum(np.real(z) * np.imag(z)))(z), z.imag - 1j * z.real)


def test_holomorphic_grad_is_the_complex_derivative():
    z = 0.3 + 0.7j
    assert np.isclose(cr.grad(np.sin, holomorphic=True)(z), np.cos(z), rtol=1e-15)
    assert np.isclose(
        cr.grad(lambda z: z**3 / (1 + z), holomorphic=True)(z), (3 * z**2 * (1 + z) - z**3) / (1 + z) ** 2
    )


def test_complex_output_without_holomorphic_is_refused_with_the_fix():
    with pytest.raises(ComplexValueError, match="holomorphic=True"):
        cr.grad(np.sin)(0.3 + 0.7j)


def test_holomorphic_needs_complex_inputs_and_outputs():
    with pytest.raises(ComplexValueError, match="complex inputs"):
        cr.grad(lambda x: x * 1j, holomorphic=True)(0.5)
    with pytest.raises(ComplexValueError, match="complex scalar"):
        cr.grad(lambda z: np.abs(z), holomorphic=True)(0.5j)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_dtype_is_kept(dtype):
    z = np.array([1.0 + 1.0j, 2.0 - 0.5j], dtype=dtype)
    assert cr.grad(lambda z: np.sum(np.abs(z * z)))(z).dtype == dtype
    assert cr.grad(lambda x: np.sum(np.abs(x * (1 + 1j))))(z.real).dtype == z.real.dtype


def test_vjp_and_jvp_take_complex_directions():
    z = np.array([0.5 + 1.0j, -0.3 + 0.2j])
    _, vjp_fn = cr.vjp(np.exp, z)
    u = np.array([1.0 - 2.0j, 0.5j])
    (ct,) = vjp_fn(u)
    np.testing.assert_allclose(ct, u * np.exp(z))  # g * f'(z), no conjugate
    t = np.array([0.1 + 0.3j, -1.0j])
    _, tangent = cr.jvp(np.exp, (z,), (t,))
    np.testing.assert_allclose(tangent, np.exp(z) * t)


def test_complex_cotangent_for_a_real_output_is_refused():
    _, vjp_fn = cr.vjp(np.sin, np.array([0.5, 1.0]))
    with pytest.raises(ComplexValueError, match="real"):
        vjp_fn(np.array([1.0 + 1j, 0.0]))
    with pytest.raises(ComplexValueError, match="real"):
        cr.jvp(np.sin, (np.array([0.5]),), (np.array([1j]),))


# -- refusals: what has no complex rule says so ------------------------------------------------------
@pytest.mark.parametrize(
    ("fun", "name"),
    [
        (lambda z: np.sum(np.maximum(z, 0)), "numpy.maximum"),
        (lambda z: np.median(z), "numpy.median"),
        (lambda z: np.sum(np.abs(np.sign(z))), "numpy.sign"),
        (lambda z: np.sum(np.linalg.norm(np.outer(z, z), 2)), "norm"),
        (lambda z: np.abs(np.sum(np.tanh(z) * np.clip(z, 0, 1))), "clip"),
    ],
)
def test_functions_without_complex_rules_refuse_by_name(fun, name):
    with pytest.raises((ComplexValueError, UnsupportedOperationError), match=name.replace(".", r"\.")):
        cr.grad(fun)(np.array([0.5 + 1.0j, -0.3 + 0.2j]))


def test_casting_complex_to_real_is_refused():
    with pytest.raises(ComplexValueError, match="imaginary part"):
        cr.grad(lambda z: np.sum(z.astype(np.float64)))(np.array([1.0 + 1.0j]))


# -- oracle: JAX, where installed ---------------------------------------------------------------
# JAX runs in a child process: importing it here starts its threads, and the fork-based tests
# (process pools) of the same pytest session would then fork a multithreaded process.
_JAX_CASES = """
import json, sys
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
z = jnp.asarray(np.array([0.5 + 1.0j, -0.3 + 0.2j, 1.1 - 0.4j]))
x = jnp.asarray(np.array([0.3, -1.2, 0.8]))
m = jnp.asarray(np.array([[2.0 + 1j, 0.3], [0.1j, 1.5 - 0.5j]]))
u = jnp.asarray(np.array([1.0, -2.0, 0.5]))
t = jnp.asarray(np.array([0.1 + 0.3j, -1.0j, 0.5]))
f = lambda z: jnp.abs(z) * jnp.real(z)
out = [
    jax.grad(lambda z: jnp.sum(jnp.abs(z) ** 3))(z),
    jax.grad(lambda z: jnp.sum(jnp.angle(z * z)))(z),
    jax.grad(lambda z: jnp.real(jnp.sum(jnp.exp(z) * jnp.conj(z))))(z),
    jax.grad(lambda z: jnp.sum(jnp.imag(jnp.log(z)) ** 2))(z),
    jax.grad(lambda x: jnp.sum(jnp.abs(jnp.exp(1j * x) + 0.5)))(x),
    jax.grad(lambda z: jnp.sum(jnp.sin(z) * z), holomorphic=True)(z),
    jax.grad(lambda a: jnp.abs(jnp.linalg.det(a)))(m),
    jax.vjp(f, z)[1](u)[0],
    jax.jvp(f, (z,), (t,))[1],
]
json.dump([[np.ravel(np.real(o)).tolist(), np.ravel(np.imag(o)).tolist()] for o in out], sys.stdout)
"""


def test_conventions_agree_with_jax():
    pytest.importorskip("jax")
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _JAX_CASES], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    theirs = [np.array(re) + 1j * np.array(im) for re, im in json.loads(run.stdout)]
    z = np.array([0.5 + 1.0j, -0.3 + 0.2j, 1.1 - 0.4j])
    x = np.array([0.3, -1.2, 0.8])
    m = np.array([[2.0 + 1j, 0.3], [0.1j, 1.5 - 0.5j]])
    u = np.array([1.0, -2.0, 0.5])
    t = np.array([0.1 + 0.3j, -1.0j, 0.5])
    f = lambda z: np.abs(z) * np.real(z)
    ours = [
        cr.grad(lambda z: np.sum(np.abs(z) ** 3))(z),
        cr.grad(lambda z: np.sum(np.angle(z * z)))(z),
        cr.grad(lambda z: np.real(np.sum(np.exp(z) * np.conj(z))))(z),
        cr.grad(lambda z: np.sum(np.imag(np.log(z)) ** 2))(z),
        cr.grad(lambda x: np.sum(np.abs(np.exp(1j * x) + 0.5)))(x),
        cr.grad(lambda z: np.sum(np.sin(z) * z), holomorphic=True)(z),
        cr.grad(lambda a: np.abs(np.linalg.det(a)))(m),
        cr.vjp(f, z)[1](u)[0],
        cr.jvp(f, (z,), (t,))[1],
    ]
    for k, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(np.ravel(a), b, rtol=1e-12, atol=1e-14, err_msg=f"case {k}")


# -- Jacobians and Hessians ------------------------------------------------------------------------
def test_holomorphic_jacobians_and_hessian():
    z = np.array([0.3 + 0.2j, 1.0 - 1.0j])
    for jac in (cr.jacfwd, cr.jacrev, cr.jacobian):
        np.testing.assert_allclose(jac(np.sin, holomorphic=True)(z), np.diag(np.cos(z)), rtol=1e-14)
    for mode in ("fwd-rev", "rev-rev"):
        h = cr.hessian(lambda z: np.sum(z**3), mode=mode, holomorphic=True)(z)
        np.testing.assert_allclose(h, np.diag(6 * z), rtol=1e-14)


def test_jacobians_refuse_what_would_leave_a_direction_out():
    z = np.array([0.3 + 0.2j, 1.0 - 1.0j])
    with pytest.raises(ComplexValueError, match="jacfwd needs real inputs"):
        cr.jacfwd(np.abs)(z)
    with pytest.raises(ComplexValueError, match="jacrev needs real outputs"):
        cr.jacrev(np.sin)(z)
    with pytest.raises(ComplexValueError, match="holomorphic=True\\) needs complex inputs"):
        cr.jacrev(lambda x: x * 1j, holomorphic=True)(np.ones(2))
    # a real-valued function of complex inputs: each row is grad's convention
    np.testing.assert_allclose(cr.jacrev(lambda z: np.abs(z) ** 2)(z), np.diag(2 * np.conj(z)), rtol=1e-14)


# -- check_grad on complex inputs: both directions --------------------------------------------------
def test_check_grad_checks_complex_inputs_in_both_directions():
    z = np.array([0.3 + 0.2j, 1.0 - 1.0j])
    assert cr.check_grad(lambda z: np.sum(np.abs(z) ** 2 * np.real(z)), z).verdict == "pass"
    assert cr.check_grad(lambda z: np.exp(z) * z, z, modes=("rev", "fwd"), order=2).verdict == "pass"
    assert cr.check_grad(lambda x: np.exp(1j * x), np.array([0.3, 0.5])).verdict == "pass"


def test_check_grad_catches_a_conjugated_complex_rule():
    # A classic mistake: the reverse rule of a holomorphic function written with conj(f'(z)).
    wrong = cr.Primitive("wrong_complex_sin", np.sin)
    cr.defvjp(wrong, lambda ans, z: lambda g: g * np.conj(np.cos(z)))
    cr.defjvp(wrong, lambda t, ans, z: t * np.cos(z))
    cr.defcomplex(wrong)
    z = np.array([0.3 + 0.7j, -1.0 + 0.4j])
    report = cr.check_grad(lambda z: np.sum(np.abs(wrong(z)) ** 2), z, raise_on_failure=False)
    assert report.verdict == "FAIL"
    text = str(report)
    assert "argument 0.imag[" in text and "argument 0.real[" in text  # the parts are named
    assert "culprit: the reverse rule of wrong_complex_sin" in text  # localized in complex directions
    with pytest.raises(AssertionError, match="wrong_complex_sin"):
        check_rule(wrong, nargs=1, dtype=np.complex128)
