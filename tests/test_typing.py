"""``mypy --strict src/chainrule`` is clean on the whole package (pyproject.toml [tool.mypy]; CI runs it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STRICT = ["src/chainrule"]


def test_the_strict_list_is_the_configured_one():
    config = (ROOT / "pyproject.toml").read_text()
    section = config.split("[tool.mypy]", 1)[1].split("\n[", 1)[0]
    files = re.findall(r'"(src/[^"]+)"', section.split("files = [", 1)[1].split("]", 1)[0])
    assert files == STRICT
    assert "strict = true" in section
    for path in STRICT:
        assert (ROOT / path).exists(), path


def test_mypy_strict_is_clean(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), *STRICT],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


USER_CODE = """
import numpy as np
import chainrule as cr
import chainrule.explain as explain_module
import chainrule.jit as jit_module
from chainrule.jit import Jitted

staged: Jitted = cr.jit(lambda x: np.sum(x * x))
explanation: cr.Explanation = cr.explain(lambda x: np.sin(x) * x, 2.0)
table: str = explanation.table()
module_function = jit_module.jit
reveal_type(explain_module)
reveal_type(cr.optim.adam)
"""


def test_user_code_calling_cr_jit_and_cr_explain_type_checks(tmp_path):
    """cr.jit and cr.explain are callable modules at run time; type checkers see the functions."""
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    user = tmp_path / "user.py"
    user.write_text(USER_CODE)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(user)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "error" not in proc.stdout, proc.stdout + proc.stderr
    revealed = re.findall(r'Revealed type is "([^"]+)"', proc.stdout)
    assert revealed[0] == "types.ModuleType"  # import chainrule.explain as m: the module
    assert revealed[1].startswith("def (")  # lazily loaded cr.optim is seen with its functions
