"""``mypy --strict`` is clean on the modules listed in pyproject.toml's [tool.mypy] (CI runs this)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STRICT = [
    "src/chainrule/optim",
    "src/chainrule/nn",
    "src/chainrule/pytree.py",
    "src/chainrule/errors.py",
    "src/chainrule/naming.py",
    "src/chainrule/cli.py",
    "src/chainrule/cli_inputs.py",
    "src/chainrule/_version.py",
    "src/chainrule/demo",
    "src/chainrule/distributed",
]


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
