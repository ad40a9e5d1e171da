"""chainrule.scipy.signal against SciPy's values and finite differences (orders 1-2, both modes)."""

import numpy as np
import pytest

ss = pytest.importorskip("scipy.signal")

import chainrule as cr  # noqa: E402
from chainrule.check import check_derivatives  # noqa: E402
from chainrule.scipy import signal as S  # noqa: E402

SHAPES = [((5,), (3,)), ((3,), (5,)), ((4, 3), (2, 2)), ((2, 3), (3, 4)), ((4,), (4,))]


@pytest.mark.parametrize("name", ["convolve", "correlate", "fftconvolve"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_against_scipy_and_finite_differences(name, mode, shapes):
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    ours, theirs = getattr(S, name), getattr(ss, name)
    valid_possible = all(x >= y for x, y in zip(*shapes)) or all(x <= y for x, y in zip(*shapes))
    if mode == "valid" and not valid_possible:
        with pytest.raises(ValueError, match="valid"):
            ours(a, v, mode=mode)
        return
    assert np.allclose(ours(a, v, mode=mode), theirs(a, v, mode=mode), atol=1e-12)
    check_derivatives(lambda a, v: ours(a, v, mode=mode), a, v)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_methods_agree(method):
    rng = np.random.default_rng(1)
    a, v = rng.standard_normal(6), rng.standard_normal(3)
    assert np.allclose(S.convolve(a, v, method=method), ss.convolve(a, v, method=method))
    check_derivatives(lambda a, v: S.correlate(a, v, mode="same", method=method), a, v)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_fftconvolve_axes_broadcast(mode):
    rng = np.random.default_rng(2)
    a, v = rng.standard_normal((3, 6)), rng.standard_normal((1, 3))
    assert np.allclose(S.fftconvolve(a, v, mode=mode, axes=1), ss.fftconvolve(a, v, mode=mode, axes=1))
    check_derivatives(lambda a, v: S.fftconvolve(a, v, mode=mode, axes=-1), a, v)


def test_convolution_with_a_delta_is_a_shift():
    # d/da sum(w * convolve(a, delta_k)) = w shifted back by k: an exact, hand-checkable gradient.
    w = np.arange(6.0)
    delta = np.array([0.0, 1.0, 0.0])
    g = cr.grad(lambda a: np.sum(w * S.convolve(a, delta)))(np.zeros(4))
    assert g.tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("name", ["convolve", "correlate", "fftconvolve"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_complex_inputs(name, mode):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5,)) + 1j * rng.standard_normal((5,))
    v = rng.standard_normal((3,)) + 1j * rng.standard_normal((3,))
    ours, theirs = getattr(S, name), getattr(ss, name)
    assert np.allclose(ours(a, v, mode=mode), theirs(a, v, mode=mode))
    check_derivatives(lambda a, v: ours(a, v, mode=mode), a, v)
    # a real signal and a complex kernel: the real argument gets the real part of its cotangent
    check_derivatives(lambda a, v: ours(a, v, mode=mode), a.real, v)


def test_errors():
    with pytest.raises(ValueError, match="mode must be"):
        S.convolve(np.ones(3), np.ones(2), mode="wrap")
    with pytest.raises(ValueError, match="same dimensionality"):
        S.convolve(np.ones(3), np.ones((2, 2)))
