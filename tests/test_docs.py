"""The documentation's examples run: every ``>>>`` block in the user guide and how-to pages.

(README.md is doctested by pytest's own configuration; the API reference is built from the
docstrings, which are doctested with the source. CI builds the site with ``mkdocs build
--strict``.)
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted([*DOCS.glob("guide/*.md"), *DOCS.glob("howto/*.md")])
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(DOCS).as_posix() for p in PAGES])
def test_page_examples_run(page: Path) -> None:
    result = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS, verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name} (output above)"


def test_the_guide_has_examples_to_run() -> None:
    guide = DOCS / "guide" / "backprop-vs-finite-differences.md"
    assert guide.read_text().count(">>> ") >= 20


def test_pictures_the_pages_show_exist() -> None:
    import re

    for page in DOCS.rglob("*.md"):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            assert (page.parent / target).resolve().exists(), f"{page.name}: {target}"
