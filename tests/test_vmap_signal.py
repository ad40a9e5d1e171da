"""vmap of the FFT family, convolve/correlate, eig of real matrices, complex svdvals/lstsq: batched.

Each batched result is compared with a Python loop over the examples of the
same function (NumPy's own results for the values; chainrule's per-example
derivatives, themselves checked by finite differences in test_fft.py,
test_differences.py and test_complex_linalg.py, for the derivatives).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check.vmapcheck import check_vmap
from chainrule.engine.batching import rule_kind
from chainrule.errors import UnsupportedOperationError
from chainrule.rules import batching_signal, decompositions, differences, fft

RNG = np.random.default_rng(154)


def _cplx(shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _examples(shapes, count=3, complex_=False):
    draw = _cplx if complex_ else RNG.standard_normal
    return [tuple(draw(s) for s in shapes) for _ in range(count)]


def _loop(f, *stacked):
    return np.stack([np.asarray(f(*args)) for args in zip(*stacked)])


# -- the FFT family: every function, with options, batched by shifting its axes -------------------
FFT_CASES = [
    ("fft", np.fft.fft, (6,), False),
    ("fft n axis", lambda x: np.fft.fft(x, n=5, axis=0, norm="ortho"), (4, 3), True),
    ("ifft", lambda x: np.fft.ifft(x, norm="forward"), (5,), True),
    ("fft2", np.fft.fft2, (3, 4), True),
    ("ifft2 s", lambda x: np.fft.ifft2(x, s=(2, 5)), (3, 4), False),
    ("fftn axes", lambda x: np.fft.fftn(x, axes=(0, 2)), (2, 3, 4), True),
    ("ifftn", np.fft.ifftn, (2, 3), True),
    ("rfft", np.fft.rfft, (7,), False),
    ("rfft n", lambda x: np.fft.rfft(x, n=6, axis=0), (5, 2), False),
    ("irfft", np.fft.irfft, (5,), True),
    ("irfft odd", lambda x: np.fft.irfft(x, n=7, norm="ortho"), (4,), True),
    ("rfft2", np.fft.rfft2, (3, 4), False),
    ("irfft2", np.fft.irfft2, (3, 3), True),
    ("rfftn", lambda x: np.fft.rfftn(x, axes=(0,)), (4, 3), False),
    ("irfftn", lambda x: np.fft.irfftn(x, s=(2, 6), axes=(0, 1)), (2, 4), True),
    ("hfft", np.fft.hfft, (4,), True),
    ("ihfft", np.fft.ihfft, (6,), False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "shape", "complex_"), FFT_CASES, ids=[c[0] for c in FFT_CASES])
def test_fft_family_batches_by_axis(name, fun, shape, complex_):
    # Values, in_axes=-1, vmap(grad) and grad(vmap) against the loop.
    check_vmap(fun, _examples([shape], complex_=complex_), rtol=1e-10)


@pytest.mark.parametrize("prim", [fft.fftn_p, fft.ifftn_p, fft.rfft_p, fft.irfft_p], ids=lambda p: p.name)
def test_fft_primitives_have_axis_rules(prim):
    assert rule_kind(prim) == "axis"


def test_fft_runs_once_for_the_whole_batch(monkeypatch):
    calls = []
    impl = fft.fftn_p.impl

    def counting(x, axes, norm):
        calls.append(np.shape(x))
        return impl(x, axes, norm)

    monkeypatch.setattr(fft.fftn_p, "impl", counting)
    xs = RNG.standard_normal((8, 5))
    got = cr.vmap(np.fft.fft)(xs)
    np.testing.assert_allclose(got, np.fft.fft(xs, axis=-1), rtol=1e-12)
    assert calls == [(8, 5)]


def test_fft_in_axes_out_axes_and_an_unbatched_argument():
    xs, w = RNG.standard_normal((4, 6)), RNG.standard_normal(6)

    def f(x, w):
        return np.abs(np.fft.rfft(x * w)) ** 2

    want = _loop(lambda x: f(x, w), xs)
    np.testing.assert_allclose(cr.vmap(f, in_axes=(1, None), out_axes=1)(xs.T, w), want.T, rtol=1e-12)
    ws = RNG.standard_normal((4, 6))
    x0 = xs[0]
    np.testing.assert_allclose(
        cr.vmap(f, in_axes=(None, 0))(x0, ws), _loop(lambda w: f(x0, w), ws), rtol=1e-12
    )


def test_fft_nested_vmap_and_second_order():
    xs = RNG.standard_normal((2, 3, 5))

    def power(x):
        return np.sum(np.abs(np.fft.fft(x * x)) ** 2)

    nested = cr.vmap(cr.vmap(power))(xs)
    np.testing.assert_allclose(
        nested, np.vectorize(lambda i, j: power(xs[i, j]))(*np.indices((2, 3))), rtol=1e-12
    )
    hess = cr.vmap(cr.hessian(power))(xs[0])
    np.testing.assert_allclose(hess, _loop(cr.hessian(power), xs[0]), rtol=1e-10, atol=1e-10)
    grads = cr.vmap(cr.vmap(cr.grad(power)), in_axes=1)(xs)
    np.testing.assert_allclose(
        np.swapaxes(grads, 0, 1), _loop(lambda x: _loop(cr.grad(power), x), xs), rtol=1e-12
    )


# -- convolve and correlate --------------------------------------------------------------------
CONV_CASES = [
    ("convolve short kernel", np.convolve, [(9,), (3,)], False),
    ("convolve kernel first", np.convolve, [(2,), (8,)], False),
    ("convolve same", lambda a, v: np.convolve(a, v, "same"), [(6,), (4,)], True),
    ("convolve valid long", lambda a, v: np.convolve(a, v, "valid"), [(45,), (40,)], False),  # > WINDOW_LIMIT
    ("correlate valid", np.correlate, [(7,), (3,)], True),
    ("correlate same longer v", lambda a, v: np.correlate(a, v, "same"), [(3,), (6,)], True),
    ("correlate full", lambda a, v: np.correlate(a, v, "full"), [(5,), (5,)], False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "shapes", "complex_"), CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_convolve_correlate_batch(name, fun, shapes, complex_):
    # Both batched (windows or, past WINDOW_LIMIT, the loop), the first batched along its last
    # axis with the kernel shared (one convolution of the examples laid end to end); grad(vmap)
    # takes the windows by an index gather (an older trace records the call).
    check_vmap(fun, _examples(shapes, complex_=complex_), rtol=1e-10)


@pytest.mark.parametrize("shared", [0, 1])
def test_convolve_with_a_shared_argument_is_one_call(monkeypatch, shared):
    calls = []
    impl = differences.convolve_full_p.impl

    def counting(a, v):
        calls.append((np.shape(a), np.shape(v)))
        return impl(a, v)

    monkeypatch.setattr(differences.convolve_full_p, "impl", counting)
    signals, kernel = RNG.standard_normal((16, 10)), RNG.standard_normal(4)
    in_axes = (None, 0) if shared == 0 else (0, None)
    args = (kernel, signals) if shared == 0 else (signals, kernel)
    got = cr.vmap(np.convolve, in_axes=in_axes)(*args)
    want = _loop(lambda s: np.convolve(*((kernel, s) if shared == 0 else (s, kernel))), signals)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
    assert len(calls) == 1


def test_convolve_both_batched_windows_not_loop(monkeypatch):
    calls = []
    monkeypatch.setattr(
        differences.convolve_full_p, "impl", lambda a, v: calls.append(1) or np.convolve(a, v)
    )
    a, v = RNG.standard_normal((16, 20)), RNG.standard_normal((16, batching_signal.WINDOW_LIMIT))
    np.testing.assert_allclose(cr.vmap(np.convolve)(a, v), _loop(np.convolve, a, v), rtol=1e-12, atol=1e-13)
    assert calls == []  # the window product, no numpy.convolve per example
    long_a, long_v = RNG.standard_normal((3, 40)), RNG.standard_normal((3, batching_signal.WINDOW_LIMIT + 1))
    np.testing.assert_allclose(
        cr.vmap(np.convolve)(long_a, long_v), _loop(np.convolve, long_a, long_v), rtol=1e-12
    )
    assert len(calls) == 3  # two long arguments: numpy.convolve per example is faster
    assert rule_kind(differences.convolve_full_p) == "convolution"


def test_convolve_out_axes_nested_and_second_order():
    a, v = RNG.standard_normal((3, 6)), RNG.standard_normal((4, 3))
    # every signal against every kernel: a 3 x 4 table of convolutions, the batch axes moved
    table = cr.vmap(cr.vmap(np.convolve, in_axes=(None, 0)), in_axes=(0, None), out_axes=1)(a, v)
    want = np.stack([np.stack([np.convolve(x, k) for x in a]) for k in v])
    assert table.shape == (4, 3, 8)  # the inner batch (kernels) first, the outer one at out_axes=1
    np.testing.assert_allclose(table, want, rtol=1e-12)

    def energy(x, k):
        return np.sum(np.correlate(x * x, k, "same") ** 2)

    hess = cr.vmap(cr.hessian(energy), in_axes=(0, 0))(a[:, :3], v[:3])
    np.testing.assert_allclose(hess, _loop(cr.hessian(energy), a[:, :3], v[:3]), rtol=1e-10, atol=1e-10)
    jac = cr.vmap(cr.jacfwd(lambda x, k: np.convolve(x, k)), in_axes=(None, 0))(a[0], v)
    np.testing.assert_allclose(jac, _loop(lambda k: cr.jacfwd(np.convolve)(a[0], k), v), rtol=1e-12)


# -- eig of real matrices, singular values and lstsq of complex matrices -----------------------
def test_eig_of_real_matrices_decides_for_the_whole_batch():
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]]) + 0.1
    symmetric = np.array([[2.0, 1.0], [1.0, 3.0]])
    mixed, real = np.stack([symmetric, rotation]), np.stack([symmetric, 2 * symmetric])
    got = cr.vmap(np.linalg.eigvals)(mixed)
    # as stacking the loop's results (one real, one complex: complex) and as NumPy on the stack
    want = np.stack([np.linalg.eigvals(m) for m in mixed])
    assert got.dtype == want.dtype == np.linalg.eigvals(mixed).dtype == np.complex128
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert cr.vmap(np.linalg.eigvals)(real).dtype == np.float64
    loss = lambda m: np.sum(np.abs(np.linalg.eigvals(m)) ** 2)
    np.testing.assert_allclose(cr.vmap(cr.grad(loss))(mixed), _loop(cr.grad(loss), mixed), rtol=1e-10)
    assert rule_kind(decompositions.eig_p) == "leading axes"


def test_eig_batched_checked_against_the_loop():
    check_vmap(lambda a: np.abs(np.linalg.eig(a)[1]) ** 2, _examples([(3, 3)]), rtol=1e-8)
    check_vmap(np.linalg.eigvals, _examples([(3, 3)], complex_=True), rtol=1e-8)


def test_complex_singular_values_and_lstsq_batch_first_order():
    check_vmap(np.linalg.svdvals, _examples([(3, 4)], complex_=True), rtol=1e-9)
    check_vmap(lambda a, b: np.linalg.lstsq(a, b)[0], _examples([(4, 3), (4,)], complex_=True), rtol=1e-9)
    assert rule_kind(decompositions.complex_svdvals_p) == "leading axes"


def test_complex_singular_values_second_order_under_vmap_is_refused():
    a = _examples([(3, 3)], complex_=True)[0][0]
    stacked = np.stack([a, 2 * a])
    loss = cr.grad(lambda a: np.sum(np.linalg.svdvals(a)))
    with pytest.raises(UnsupportedOperationError, match="first derivatives only"):
        cr.vmap(lambda a: cr.jvp(loss, (a,), (np.ones_like(a),))[1])(stacked)


# -- chainrule.scipy.signal: the N-D convolution -----------------------------------------------
SCIPY_CASES = [
    ("convolve", "convolve", {}, [(6,), (3,)]),
    ("convolve same direct 2-D", "convolve", {"mode": "same", "method": "direct"}, [(4, 5), (2, 3)]),
    ("correlate valid", "correlate", {"mode": "valid"}, [(5, 5), (3, 2)]),
    ("convolve fft", "convolve", {"method": "fft"}, [(6,), (4,)]),
    ("fftconvolve axes", "fftconvolve", {"mode": "same", "axes": 1}, [(3, 6), (3, 3)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "options", "shapes"), SCIPY_CASES, ids=[c[0] for c in SCIPY_CASES])
def test_scipy_convolution_batches(name, fun, options, shapes):
    signal = pytest.importorskip("chainrule.scipy.signal", reason="chainrule.scipy needs SciPy")
    f = getattr(signal, fun)
    check_vmap(lambda a, v: f(a, v, **options), _examples(shapes), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("method", ["direct", "auto"])
def test_scipy_convolve_with_a_shared_kernel_is_one_call(monkeypatch, method):
    signal = pytest.importorskip("chainrule.scipy.signal", reason="chainrule.scipy needs SciPy")
    images, kernel = RNG.standard_normal((5, 6, 7)), RNG.standard_normal((3, 3))
    want = _loop(lambda x: signal.convolve(x, kernel, mode="same", method=method), images)
    calls = []
    impl = signal.conv_p.impl
    monkeypatch.setattr(signal.conv_p, "impl", lambda *args: calls.append(args[2:]) or impl(*args))
    got = cr.vmap(lambda x: signal.convolve(x, kernel, mode="same", method=method))(images)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    # one call, the batch axis convolved with the kernel's length-1 axis, SciPy's choice of
    # method for one example ('auto' resolved as for a single 6x7 image)
    assert calls == [((0, 1, 2), "direct")]
