"""The package around the code: one version, --version, LICENSE, CHANGELOG, lazy subpackages."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_version_has_one_source():
    text = (ROOT / "src" / "chainrule" / "_version.py").read_text()
    written = re.search(r'__version__ = "([^"]+)"', text)
    assert written is not None
    assert cr.__version__ == written.group(1)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^version\s*=", pyproject, re.M) is None  # no second copy of the number
    assert 'dynamic = ["version"]' in pyproject and 'path = "src/chainrule/_version.py"' in pyproject
    assert metadata.version("chainrule") == cr.__version__  # the installed metadata agrees


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {cr.__version__}"


def test_license_and_changelog():
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "chainrule developers" in license_text
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert f"## [{cr.__version__}]" in changelog or "## [0.1.0]" in changelog
    assert changelog.index("## [Unreleased]") < changelog.index("## [0.1.0]")


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_subpackages_load_lazily_on_first_use():
    out = _fresh(
        "import sys, chainrule as cr\n"
        "print(sorted(m for m in ('chainrule.optim', 'chainrule.nn') if m in sys.modules))\n"
        "print(cr.optim.adam.__module__, cr.nn.Dense.__name__)\n"
        "print('optim' in dir(cr), 'nn' in dir(cr), 'optim' in cr.__all__)\n"
    )
    loaded, names, listed = out.splitlines()
    assert loaded == "[]"  # `import chainrule` does not import them
    assert names == "chainrule.optim.aliases Dense"
    assert listed == "True True True"


def test_explain_and_jit_load_on_first_use_as_callable_modules():
    out = _fresh(
        "import sys, numpy as np, chainrule as cr\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['chainrule', 'explain'],"
        " ['chainrule', 'jit'])))\n"
        "print(type(cr.jit).__name__, float(cr.jit(lambda x: np.sum(x * x))(np.arange(3.0))))\n"
        "e = cr.explain(lambda x: np.sin(x) * x, 2.0)\n"
        "print(type(cr.explain).__name__, isinstance(e, cr.Explanation), round(e.gradient, 6))\n"
        "from chainrule import Explanation, explain, jit\n"
        "import chainrule.explain as m, chainrule.jit as j\n"
        "print(Explanation is m.Explanation, explain is m, jit is j, 'Explanation' in dir(cr))\n"
    )
    loaded, jit_line, explain_line, same = out.splitlines()
    assert loaded == "[]"  # `import chainrule` does not import them
    assert jit_line == "CallableModule 5.0"
    assert explain_line == f"CallableModule True {round(math.cos(2.0) * 2.0 + math.sin(2.0), 6)}"
    assert same == "True True True True"


def test_lazy_attribute_is_the_module_and_unknown_names_still_fail():
    import chainrule.optim

    assert cr.optim is chainrule.optim
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        cr.no_such_thing


def test_every_module_is_its_parents_attribute():
    """``import chainrule.a.b as m`` gives the module: no function of the same name hides it."""
    out = _fresh(
        "import importlib, pkgutil, sys, chainrule\n"
        "names = [m.name for m in pkgutil.walk_packages(chainrule.__path__, 'chainrule.')\n"
        "         if not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:  # an optional dependency missing\n"
        "        continue\n"
        "    parent, _, leaf = name.rpartition('.')\n"
        "    if getattr(sys.modules[parent], leaf, None) is not sys.modules[name]:\n"
        "        print('hidden:', name)\n"
        "print(len(names), 'modules')\n"
    )
    *hidden, count = out.splitlines()
    assert hidden == []
    assert int(count.split()[0]) > 100
