"""The chainrule.scipy page's example runs, and the coverage table lists chainrule.scipy."""

import re
from pathlib import Path

import pytest

pytest.importorskip("scipy")

ROOT = Path(__file__).resolve().parent.parent


def test_the_pages_example_runs():
    page = (ROOT / "docs" / "reference" / "scipy.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/reference/scipy.md", "exec"), namespace)
    assert set(namespace["g"]) == {"df", "loc", "scale"}


def test_coverage_lists_every_chainrule_scipy_function():
    import numpy as np

    import chainrule.scipy as crs

    text = (ROOT / "docs" / "coverage.md").read_text()
    for module in crs.__all__:
        package = getattr(crs, module)
        for name in package.__all__:
            if not isinstance(getattr(package, name), np.ufunc):
                assert f"| chainrule.scipy.{module}.{name}" in text, name
