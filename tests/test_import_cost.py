"""``import chainrule`` imports NumPy and nothing heavy; SciPy's rules arrive with SciPy.

Each check runs in a fresh interpreter: in this one, other test modules have
imported SciPy long ago.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from chainrule.rules import import_hooks
from chainrule.rules.import_hooks import after_import

pytest.importorskip("scipy")

# Optional dependencies that cost more to import than chainrule itself (or pull in threads).
HEAVY = ("scipy", "rich", "dask", "distributed", "graphviz", "matplotlib", "sklearn", "numexpr", "pandas")


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_chainrule_imports_no_optional_dependency():
    out = _run(f"""
        import sys
        import chainrule
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    assert out == "[]", f"import chainrule imported {out}"


# Each way a user reaches scipy.special: before chainrule, after it, through another SciPy
# package, through SciPy's lazy submodule attribute, and by `from ... import`.
REACH_SCIPY = {
    "imported before chainrule": ("import scipy.special as sc", "import chainrule as cr"),
    "imported after chainrule": ("import chainrule as cr", "import scipy.special as sc"),
    "through scipy.stats": ("import chainrule as cr", "import scipy.stats; import scipy.special as sc"),
    "as scipy's attribute": ("import chainrule as cr", "import scipy; sc = scipy.special"),
    "from-import": ("import chainrule as cr", "from scipy.special import gammaln, digamma, erf"),
}


@pytest.mark.parametrize("order", sorted(REACH_SCIPY))
def test_scipy_functions_are_differentiable_however_scipy_is_imported(order):
    first, second = REACH_SCIPY[order]
    names = "" if "from scipy" in second else "gammaln, digamma, erf = sc.gammaln, sc.digamma, sc.erf"
    out = _run(f"""
        {first}
        {second}
        {names}
        import numpy as np
        x = 3.5
        print(float(cr.grad(gammaln)(x)) == float(digamma(x)),
              float(cr.jvp(erf, (0.0,), (1.0,))[1]) == float(2 / np.sqrt(np.pi)),
              float(cr.grad(cr.grad(gammaln))(x)) > 0)
    """)
    assert out == "True True True"


def test_a_callback_runs_inside_the_import(tmp_path, monkeypatch):
    # The callback runs before `import` returns, with the module fully executed, and the module
    # keeps its own loader (the wrapper is never visible).
    (tmp_path / "cr_watched_a.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    after_import("cr_watched_a", lambda module: seen.append(module.VALUE))
    assert seen == []
    try:
        import cr_watched_a  # type: ignore[import-not-found]

        assert seen == [42]
        assert type(cr_watched_a.__loader__).__name__ == "SourceFileLoader"
        assert cr_watched_a.__spec__.loader is cr_watched_a.__loader__
        assert "cr_watched_a" not in import_hooks._FINDER.callbacks  # watched once only
        after_import("cr_watched_a", lambda module: seen.append(-module.VALUE))
        assert seen == [42, -42]  # already imported: called at once
    finally:
        sys.modules.pop("cr_watched_a", None)


def test_a_module_that_fails_to_import_keeps_its_callbacks(tmp_path, monkeypatch):
    path = tmp_path / "cr_watched_b.py"
    path.write_text("raise RuntimeError('broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    after_import("cr_watched_b", lambda module: seen.append(module.__name__))
    try:
        with pytest.raises(RuntimeError, match="broken"):
            import cr_watched_b  # type: ignore[import-not-found]
        assert seen == []
        path.write_text("VALUE = 1\n")
        sys.modules.pop("cr_watched_b", None)
        import cr_watched_b  # type: ignore[import-not-found]  # noqa: F401

        assert seen == ["cr_watched_b"]  # the second, successful import runs it
    finally:
        sys.modules.pop("cr_watched_b", None)


def test_an_error_in_a_callback_is_raised_by_the_import(tmp_path, monkeypatch):
    (tmp_path / "cr_watched_c.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def fail(module):
        raise ValueError("rule registration failed")

    after_import("cr_watched_c", fail)
    try:
        with pytest.raises(ValueError, match="rule registration failed"):
            import cr_watched_c  # type: ignore[import-not-found]  # noqa: F401
    finally:
        sys.modules.pop("cr_watched_c", None)
