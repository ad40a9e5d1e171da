"""docs/coverage.md names only what a user can write: public functions, never internal primitives."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manifest():
    path = ROOT / "scripts" / "coverage_manifest.py"
    spec = importlib.util.spec_from_file_location("coverage_manifest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resolve(name: str) -> object:
    """The object a dotted public name refers to (``ndarray.astype`` is ``numpy.ndarray.astype``)."""
    parts = name.split(".")
    if parts[0] == "ndarray":
        parts = ["numpy", *parts]
    obj: object = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def test_every_name_in_the_table_is_public_and_resolves():
    text = _manifest().render()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) > 150
    names = set()
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        names.add(cells[0].strip("`"))
        names.update(re.findall(r"([A-Za-z_][\w.]*): ", cells[2]))  # "numpy.sum: 0; ndarray.astype: 0"
    for name in sorted(names):
        assert not any(part.startswith("_") for part in name.split(".")), name
        assert name.startswith(("numpy.", "scipy.", "ndarray.")), name
        _resolve(name)  # raises if it is not a public attribute


def test_internal_helpers_are_hidden_or_shown_by_their_public_name():
    text = _manifest().render()
    assert "ufunc '" not in text
    assert "_zeta" not in text
    assert re.search(r"(?<![.\w])astype:", text) is None  # only as ndarray.astype
    assert "`x.astype(dtype)` between float dtypes (`ndarray.astype`)" in text
    for internal in ("include_initial", "diag_embed", "`getitem`", "`scatter_add`"):
        assert internal not in text


def test_private_ufunc_rows_use_the_public_function():
    pytest.importorskip("scipy")
    import scipy.special as sc

    manifest = _manifest()
    zeta_rows = [r for r in manifest.rows() if r[0] == "scipy.special.zeta"]
    assert len(zeta_rows) == 1
    assert zeta_rows[0][2] == "1"  # d/dq only; s has no rule
    assert sc.zeta(2.0, 1.0) == pytest.approx(np.pi**2 / 6)


def test_public_name_rules():
    public_name = _manifest().public_name
    assert public_name("numpy.sum") == "numpy.sum"
    assert public_name("astype") == "ndarray.astype"
    assert public_name("scipy.special._ufuncs._zeta") is None
    assert public_name("include_initial") is None


def test_checked_in_file_is_current():
    assert (ROOT / "docs" / "coverage.md").read_text() == _manifest().render()
