"""Complex values through the other rule families (issue 12): reductions, differences, polynomials, indexing.

Each function checked with ``check_rule(..., dtype=np.complex128)``: orders 1
and 2 in every mode combination against finite differences along complex
directions (JAX's convention, ``docs/complex.md``).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule
from chainrule.errors import ComplexValueError

ROOT = Path(__file__).resolve().parent.parent

# (public name for docs/coverage.md's COMPLEX_COMPOSITES, or None for a primitive; function; options)
CASES = [
    (None, lambda z: np.var(z), {"nargs": 1}),
    (None, lambda z: np.var(z, axis=0, ddof=1), {"nargs": 1, "shapes": [(3,), (3, 2)]}),
    (None, lambda z: np.std(z, axis=-1, keepdims=True), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    (None, lambda z: np.convolve(z[:3], z[1:]), {"nargs": 1, "shapes": [(5,)]}),
    (None, lambda a, v: np.convolve(a, v, mode="same"), {"nargs": 2, "shapes": [((5,), (3,))]}),
    ("numpy.correlate", np.correlate, {"nargs": 2, "shapes": [((5,), (3,)), ((2,), (4,))]}),
    ("numpy.correlate", lambda a, v: np.correlate(a, v, mode="full"), {"nargs": 2, "shapes": [((4,), (3,))]}),
    ("numpy.diff", lambda z: np.diff(z, n=2, axis=0), {"nargs": 1, "shapes": [(4,), (4, 2)]}),
    ("numpy.diff", lambda z: np.diff(z, prepend=z[..., :1]), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    ("numpy.gradient", lambda z: np.gradient(z), {"nargs": 1, "shapes": [(4,)]}),
    ("numpy.gradient", lambda z: np.gradient(z, 0.5, axis=1, edge_order=2), {"nargs": 1, "shapes": [(2, 4)]}),
    ("numpy.trapezoid", lambda z: np.trapezoid(z, dx=0.3), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    ("numpy.cross", np.cross, {"nargs": 2, "shapes": [((3,), (3,)), ((2, 3), (3,))]}),
    ("numpy.polyval", np.polyval, {"nargs": 2, "shapes": [((3,), (4,)), ((1,), ())]}),
    ("numpy.vander", lambda z: np.vander(z, 4), {"nargs": 1, "shapes": [(3,)]}),
    ("numpy.vander", lambda z: np.vander(z, increasing=True), {"nargs": 1, "shapes": [(3,)]}),
]

# Functions built from complex-capable primitives (gathers, slices, sums), whose NumPy
# semantics do not change for complex values: checked here, listed as complex-capable in
# docs/coverage.md. sort/partition order complex values lexicographically (a gather).
CASES += [
    ("numpy.take", lambda z: np.take(z, [0, 2, 2], axis=-1), {"nargs": 1, "shapes": [(3,), (2, 3)]}),
    ("numpy.take_along_axis", lambda z: np.take_along_axis(z, np.array([[0, 2], [1, 1]]), axis=1),
     {"nargs": 1, "shapes": [(2, 3)]}),
    ("numpy.sort", lambda z: np.sort(z, axis=-1), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    ("numpy.partition", lambda z: np.partition(z, 1), {"nargs": 1, "shapes": [(4,)]}),
    ("numpy.split", lambda z: np.split(z, 2)[1], {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    ("numpy.array_split", lambda z: np.array_split(z, 2, axis=-1)[0], {"nargs": 1, "shapes": [(3,), (2, 3)]}),
    ("numpy.hsplit", lambda z: np.hsplit(z, 2)[0], {"nargs": 1, "shapes": [(4,)]}),
    ("numpy.vsplit", lambda z: np.vsplit(z, 2)[1], {"nargs": 1, "shapes": [(2, 3)]}),
    ("numpy.dsplit", lambda z: np.dsplit(z, 2)[1], {"nargs": 1, "shapes": [(1, 2, 2)]}),
    ("numpy.unstack", lambda z: np.unstack(z)[1], {"nargs": 1, "shapes": [(2, 3)]}),
    ("numpy.average", lambda z: np.average(z, axis=0, weights=[1.0, 3.0]), {"nargs": 1, "shapes": [(2, 3)]}),
    ("numpy.broadcast_arrays", lambda z: np.broadcast_arrays(z, np.ones((2, 3)))[0],
     {"nargs": 1, "shapes": [(3,)]}),
    ("numpy.copy", np.copy, {"nargs": 1, "shapes": [(3,)]}),
    ("numpy.dot", np.dot, {"nargs": 2, "shapes": [((3,), (3,)), ((2, 3), (3,))]}),
    ("numpy.outer", np.outer, {"nargs": 2, "shapes": [((2,), (3,))]}),
    ("numpy.linalg.outer", np.linalg.outer, {"nargs": 2, "shapes": [((2,), (3,))]}),
    ("numpy.linalg.matmul", np.linalg.matmul, {"nargs": 2, "shapes": [((2, 3), (3,))]}),
    ("numpy.linalg.vecdot", np.linalg.vecdot, {"nargs": 2, "shapes": [((3,), (3,)), ((2, 3), (3,))]}),
    ("numpy.ediff1d", lambda z: np.ediff1d(z, to_begin=z[:1]), {"nargs": 1, "shapes": [(4,)]}),
    ("numpy.meshgrid", lambda a, b: np.meshgrid(a, b)[1], {"nargs": 2, "shapes": [((2,), (3,))]}),
    ("numpy.nancumsum", lambda z: np.nancumsum(z, axis=0), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    ("numpy.nancumprod", lambda z: np.nancumprod(z), {"nargs": 1, "shapes": [(4,)]}),
    ("numpy.nanprod", lambda z: np.nanprod(z, axis=-1), {"nargs": 1, "shapes": [(4,), (2, 3)]}),
    ("numpy.rollaxis", lambda z: np.rollaxis(z, 1), {"nargs": 1, "shapes": [(2, 3)]}),
    ("numpy.select", lambda z: np.select([np.array([True, False, True])], [z], default=0.5j),
     {"nargs": 1, "shapes": [(3,)]}),
    ("numpy.piecewise", lambda z: np.piecewise(z, [np.array([True, False, True])], [np.square, np.negative]),
     {"nargs": 1, "shapes": [(3,)]}),
    ("numpy.linspace", lambda a, b: np.linspace(a, b, 4), {"nargs": 2, "shapes": [((), ()), ((2,), (2,))]}),
    ("numpy.linspace", lambda a, b: np.linspace(a, b, 3, endpoint=False, axis=-1),
     {"nargs": 2, "shapes": [((2,), ())]}),
    ("numpy.logspace", lambda a, b: np.logspace(a, b, 3, base=2.0), {"nargs": 2, "shapes": [((), ())]}),
    ("numpy.full_like", lambda z: np.full_like(z, z[0]), {"nargs": 1, "shapes": [(3,)]}),
    ("numpy.nanvar", lambda z: np.nanvar(z, axis=0), {"nargs": 1, "shapes": [(3,), (3, 2)]}),
    ("numpy.nanstd", lambda z: np.nanstd(z, ddof=1), {"nargs": 1, "shapes": [(3,), (3, 2)]}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "options"), CASES)
def test_in_complex_directions(name, fun, options):
    check_rule(fun, dtype=np.complex128, **options)


def test_every_declared_composite_has_a_case():
    path = ROOT / "scripts" / "coverage_manifest.py"
    spec = importlib.util.spec_from_file_location("coverage_manifest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    here = {name for name, _, _ in CASES if name}
    assert here <= set(module.COMPLEX_COMPOSITES)
    # and every composite said to support complex values has a case in one of the test files
    elsewhere = {"numpy.fft.fftshift", "numpy.fft.ifftshift"}  # tests/test_fft.py
    linalg = ("numpy.linalg.", "numpy.tensordot", "numpy.inner", "numpy.kron", "numpy.vdot")
    elsewhere |= {n for n in module.COMPLEX_COMPOSITES if n.startswith(linalg)}  # test_complex_linalg.py
    assert set(module.COMPLEX_COMPOSITES) - here - elsewhere == set()


def test_var_of_complex_values_is_real_with_gradient_conj_form():
    z = np.array([1.0 + 2.0j, -0.5j, 0.3 + 0.1j])
    value, vjp = cr.vjp(np.var, z)
    assert value.dtype == np.float64
    # var = mean |z - m|^2: JAX's gradient df/dx - i df/dy is 2 conj(z - m) / n.
    np.testing.assert_allclose(vjp(1.0)[0], 2 * np.conj(z - z.mean()) / 3, rtol=1e-14)


def test_correlate_conjugates_its_second_argument():
    a = np.array([1.0 + 1.0j, 2.0, -1.0j])
    v = np.array([0.5j, 1.0 - 1.0j])
    value, _ = cr.vjp(lambda a: np.correlate(a, v), a)
    np.testing.assert_allclose(value, np.correlate(a, v), rtol=1e-15)


def test_sweep_agrees_with_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    rng = np.random.default_rng(8)
    z = rng.normal(size=5) + 1j * rng.normal(size=5)
    cases = [
        lambda z, m: m.std(z) + m.var(z[1:], ddof=1),
        lambda z, m: m.sum(m.abs(m.correlate(z, z[:3] * 1j, mode="full")) ** 2),
        lambda z, m: m.sum(m.abs(m.diff(z, n=2)) ** 2),
        lambda z, m: m.abs(m.polyval(z[:3], z[4])),
    ]
    for f in cases:
        ours = cr.grad(lambda z, f=f: f(z, np))(z)
        theirs = np.asarray(jax.grad(lambda z, f=f: f(z, jnp))(jnp.asarray(z)))
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_loggamma_second_derivative_of_complex_is_refused_by_name():
    sc = pytest.importorskip("scipy.special")
    with pytest.raises(ComplexValueError, match=r"scipy\.special\.psi"):
        cr.hessian(lambda z: sc.loggamma(z), holomorphic=True)(np.array(1.0 + 1.0j))


def test_special_functions_agree_with_jax():
    sc = pytest.importorskip("scipy.special")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jsp = jax.scipy.special
    z = np.array([0.5 + 0.3j, 1.2 - 0.4j])
    for ours_f, theirs_f in [(sc.erf, jsp.erf), (sc.expm1, jax.numpy.expm1), (sc.gamma, jsp.gamma)]:
        try:
            theirs = np.asarray(jax.grad(lambda z, f=theirs_f: jax.numpy.sum(jax.numpy.abs(f(z)) ** 2))(z))
        except (TypeError, NotImplementedError, ValueError):
            continue  # JAX lacks a complex version of this one
        ours = cr.grad(lambda z, f=ours_f: np.sum(np.abs(f(z)) ** 2))(z)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_vecdot_conjugates_its_first_argument():
    a = np.array([1.0 + 1.0j, 2.0])
    b = np.array([1.0j, 1.0])
    value, _ = cr.vjp(lambda a: np.linalg.vecdot(a, b), a)
    assert value == np.linalg.vecdot(a, b) == 3.0 + 1.0j


def test_nanvar_of_complex_values_skips_nans_and_is_real():
    z = np.array([1.0 + 2.0j, np.nan, 0.3 - 0.1j, -0.5j])
    value, vjp = cr.vjp(np.nanvar, z)
    assert value.dtype == np.float64
    np.testing.assert_allclose(value, np.nanvar(z), rtol=1e-14)
    kept = z[~np.isnan(z)]
    expected = np.zeros(4, complex)
    expected[~np.isnan(z)] = 2 * np.conj(kept - kept.mean()) / 3
    np.testing.assert_allclose(vjp(1.0)[0], expected, rtol=1e-14)


def test_complex_fill_of_a_real_array_is_refused():
    with pytest.raises(ComplexValueError, match="imaginary part"):
        cr.grad(lambda z: np.sum(np.abs(np.full_like(np.real(z), z[0]))))(np.array([1.0 + 1.0j, 2.0]))
