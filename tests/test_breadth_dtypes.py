"""The new rules give NumPy's result dtype: float32 inputs stay float32 where NumPy keeps them,
and become float64 where NumPy promotes (vander, geomspace, bincount); gradients keep the input's."""

import numpy as np
import pytest

import chainrule as cr

X = np.random.default_rng(0).uniform(0.5, 2.0, size=(3, 4)).astype(np.float32)

CASES = {
    "diff": np.diff,
    "ediff1d": np.ediff1d,
    "gradient": lambda a: np.gradient(a, axis=1),
    "gradient_coordinates": lambda a: np.gradient(a, np.arange(4.0), axis=1),
    "cross": lambda a: np.cross(a[:, :3], a[:, 1:]),
    "convolve": lambda a: np.convolve(a[0], a[1]),
    "correlate": lambda a: np.correlate(a[0], a[1], "same"),
    "median": np.median,
    "quantile": lambda a: np.quantile(a, [0.3, 0.8], axis=0),
    "quantile_lower": lambda a: np.quantile(a, 0.3, method="lower"),
    "nanmedian": np.nanmedian,
    "nanmax": np.nanmax,
    "nanprod": np.nanprod,
    "nanstd": np.nanstd,
    "nanvar": lambda a: np.nanvar(a, axis=0),
    "nancumsum": np.nancumsum,
    "nancumprod": np.nancumprod,
    "nan_to_num": np.nan_to_num,
    "linspace": lambda a: np.linspace(a[0, 0], a[0, 1], 3),
    "logspace": lambda a: np.logspace(a[0, 0], a[0, 1], 3),
    "geomspace": lambda a: np.geomspace(a[0, 0], a[0, 1], 3),
    "full_like": lambda a: np.full_like(a, a[0, 0]),
    "polyval": lambda a: np.polyval(a[0], a[1]),
    "vander": lambda a: np.vander(a[0]),
    "interp": lambda a: np.interp(a[0], np.arange(3.0), a[1, :3]),
    "i0": np.i0,
    "unique": np.unique,
    "bincount": lambda a: np.bincount([0, 1, 1, 2], weights=a[0]),
    "histogram_weights": lambda a: np.histogram(a, weights=a)[0],
    "histogram_edges": lambda a: np.histogram(a)[1],
    "logaddexp_reduce": lambda a: np.logaddexp.reduce(a, axis=0),
    "polyfit": lambda a: np.polyfit(np.arange(4.0), a[0], 1),
}


@pytest.mark.parametrize("name", list(CASES))
def test_float32_dtypes_follow_numpy(name):
    f = CASES[name]
    ref = f(X)
    got = cr.vjp(f, X)[0]
    assert np.result_type(got) == np.result_type(ref)
    np.testing.assert_allclose(got, ref, rtol=2e-6)
    assert cr.grad(lambda a: np.sum(f(a)))(X).dtype == np.float32
