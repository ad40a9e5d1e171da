"""Issue 11, injection: every user-controlled string is escaped for the context it lands in.

Hostile names (a custom rule's ``__name__``, a function's ``__qualname__``,
dict keys of the parameters, a formula's comment) reach HTML text and
attributes, JSON inside ``<script>``, SVG, DOT, the terminal and rich's
markup. Each context has a test; the page is also rendered in Chromium to show
that none of the payloads runs (each would set ``window.pwned``).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html import unescape
from html.parser import HTMLParser

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main

ATTRIBUTE = '"><img src=x onerror="window.pwned=1">'
SCRIPT = "</script><script>window.pwned=2</script>"
COMMENT = "<!--<script>"
CONTROL = "\x1b[2J\x1b]0;owned\x07\u202e"
MARKUP = "[/][bold red]x[link=http://evil]"
HOSTILE = [ATTRIBUTE, SCRIPT, COMMENT, CONTROL, MARKUP]
RNG = np.random.default_rng(0)


def _hostile_explanation():
    """A graph whose repeated custom-rule blocks get grouped, with hostile names everywhere."""

    @cr.custom_vjp
    def block(x):
        return np.tanh(x)

    block.defvjp(lambda x: (np.tanh(x), x), lambda x, g: (g * (1 - np.tanh(x) ** 2),))
    block.fun.__name__ = ATTRIBUTE + CONTROL + MARKUP

    def f(params, x):
        h = x
        for _ in range(14):
            h = block(h @ params[COMMENT] + params[SCRIPT])
        return np.sum(h**2)

    f.__qualname__ = SCRIPT + ATTRIBUTE + CONTROL
    params = {COMMENT: RNG.standard_normal((3, 3)) * 0.3, SCRIPT: RNG.standard_normal(3) * 0.1}
    return cr.explain(f, params, RNG.standard_normal((2, 3)), cap=20)


@pytest.fixture(scope="module")
def explanation():
    e = _hostile_explanation()
    assert any(b.kind == "group" for b in e.display().nodes), "the graph must be grouped for the test to bite"
    return e


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(name for name, _ in attrs)


def _payload(page):
    return re.search(r'class="cr-data">(.*?)</script>', page, re.S).group(1)


@pytest.mark.parametrize("fragment", [False, True])
def test_html_text_and_attributes(explanation, fragment):
    page = explanation._repr_html_() if fragment else explanation.to_html()
    parser = _Tags()
    parser.feed(page)
    assert "img" not in parser.tags
    assert parser.tags.count("script") == 2  # the JSON data and the widget's own script
    assert not [a for a in parser.attrs if a.startswith("on")]
    # The hostile names are shown, as text.
    assert "&quot;&gt;&lt;img src=x onerror=" in page
    assert "\x1b" not in page and "\x07" not in page and "\u202e" not in page


def test_json_inside_script(explanation):
    payload = _payload(explanation.to_html())
    assert not set(payload) & set("<>&")  # escaped as \\u003c ...: no tag, no comment, no entity
    data = json.loads(payload)
    texts = " ".join(data["texts"].values())
    assert COMMENT in texts and SCRIPT in texts  # the exact names round-trip


def test_svg(explanation):
    svg = explanation.to_svg()
    root = ET.fromstring(svg)  # well-formed: every name escaped
    assert not [el for el in root.iter() if el.tag.endswith(("img", "script", "foreignObject"))]
    assert "\x1b" not in svg
    assert ATTRIBUTE in unescape(svg)  # shown, not dropped


def test_dot(explanation):
    dot = explanation.to_dot()
    body = dot.strip().splitlines()[1:-1]
    statement = re.compile(
        r'^\s+(?:\w+|"(?:[^"\\]|\\.)*")(?: -> \w+)?(?: \[.*\])?;$|^\s+(rankdir|label|node)\b'
    )
    assert all(statement.match(line) for line in body), [ln for ln in body if not statement.match(ln)]
    assert "\x1b" not in dot
    if shutil.which("dot"):
        res = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert len(re.findall(r'<g id="node\d+" class="node">', res.stdout)) == len(
            explanation.display().nodes
        )


def test_terminal_plain_and_rich(explanation):
    pytest.importorskip("rich")
    from rich.console import Console

    plain = explanation.table(rich=False)
    buf = io.StringIO()
    explanation.print(Console(file=buf, width=120, force_terminal=True, color_system="standard"))
    for text in (plain, buf.getvalue()):
        assert "\x07" not in text and "\u202e" not in text and "\x1b]0;" not in text
        assert "\\x1b[2J" in text  # the control bytes are shown escaped
    assert "\x1b[2J" not in plain and "\x1b" not in plain
    assert "[/][bold red]x" in plain and "[/][bold red]x" in buf.getvalue()  # markup shown literally


def test_cli_formula_comment_with_control_bytes(capsys):
    assert main(["explain", "1 + 2 # \x1b[2J\x07 hi"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[2J\\x07" in out
    assert main(["explain", "x # \x1b]0;t\x07 [bold]", "--at", "x=1"]) == 0
    out = capsys.readouterr().out
    assert "\x07" not in out and "]0;t" in out


def test_check_report_and_errors_escape_control_bytes(tmp_path, monkeypatch, capsys):
    report = cr.check_grad(lambda p: np.sum(p[CONTROL] ** 2), {CONTROL: np.array([0.5, 1.0])})
    buf = io.StringIO()
    report.show(file=buf, colour=False)
    assert "\x1b" not in buf.getvalue() and "\\x1b[2J" in buf.getvalue()
    (tmp_path / "m.py").write_text("def f(x):\n    raise RuntimeError('\\x1b[2J\\x07boom')\n")
    monkeypatch.chdir(tmp_path)
    main(["check", "m.py:f", "--arg", "x=shape:3"])
    err = capsys.readouterr().err
    assert "boom" in err and "\x1b" not in err and "\x07" not in err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_no_payload_runs_in_chromium(explanation, tmp_path):
    page = explanation.to_html()
    fragments = explanation._repr_html_() + explanation._repr_html_()  # two widgets in one host page
    probe = (
        "<script>setTimeout(function () { var pre = document.createElement('pre'); pre.id = 'probe';"
        " pre.textContent = JSON.stringify({pwned: window.pwned || 0,"
        " imgs: document.querySelectorAll('img').length,"
        " widgets: document.querySelectorAll('.chainrule-explain[data-ready]').length,"
        " step: document.querySelector('.chainrule-explain').getAttribute('data-step')});"
        " document.body.appendChild(pre); }, 300);</script>"
    )
    host = '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>' + fragments + "</body></html>"
    for html, widgets in ((page, 1), (host, 2)):
        path = tmp_path / "page.html"
        path.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
        dom = subprocess.run(
            [CHROMIUM, *flags, "--virtual-time-budget=3000", "--dump-dom", path.as_uri()],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
        found = json.loads(unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1)))
        assert found == {"pwned": 0, "imgs": 0, "widgets": widgets, "step": "0"}


def test_long_pages_fold_their_middle_steps_and_stay_bounded():
    def chain(x, n):
        for _ in range(n):
            x = np.sin(x) * 1.0001
        return np.sum(x)

    sizes = []
    for n in (1500, 6000):
        e = cr.explain(lambda x, n=n: chain(x, n), np.array([0.3, 0.5]))
        page = e.to_html()
        data = json.loads(_payload(page))
        assert data["total"] == len(e.steps) and len(data["steps"]) <= 2001
        sizes.append(len(page))
    assert sizes[1] < 1.2 * sizes[0] and sizes[1] < 1_000_000, sizes


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_stepping_through_a_folded_page_in_chromium(tmp_path):
    def chain(x):
        for _ in range(1500):
            x = np.sin(x) * 1.0001
        return np.sum(x)

    e = cr.explain(chain, np.array([0.3, 0.5]))
    n = len(e.steps)
    script = (
        "<script>setTimeout(function () { var root = document.querySelector('.chainrule-explain');"
        " var info = root.querySelector('[data-role=info]'), out = {};"
        " function key(k) { root.dispatchEvent(new KeyboardEvent('keydown', {key: k, bubbles: true})); }"
        " key('End'); out.end = [root.getAttribute('data-step'), info.textContent.slice(0, 30)];"
        " var s = root.querySelector('[data-role=slider]'); s.value = '1500'; s.oninput();"
        " out.mid = [root.getAttribute('data-step'), info.textContent];"
        " key('ArrowRight'); out.next = root.getAttribute('data-step');"
        " var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);"
        " document.body.appendChild(pre); }, 300);</script>"
    )
    path = tmp_path / "page.html"
    path.write_text(e.to_html().replace("</body>", script + "</body>"), encoding="utf-8")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'p'}",
    ]
    dom = subprocess.run(
        [CHROMIUM, *flags, "--virtual-time-budget=3000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    out = json.loads(unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1)))
    assert out["end"][0] == str(n - 1) and out["end"][1].startswith(f"step {n - 1} of {n - 1}")
    assert out["mid"][0] == "1500" and "middle steps" in out["mid"][1]
    assert out["next"] == "1501"


def test_hostile_names_do_not_break_the_report_context_managers():
    # rich markup in a name must never raise MarkupError (it did in print()).
    pytest.importorskip("rich")
    from rich.console import Console

    def f(x):
        return np.sum(x**2)

    f.__qualname__ = MARKUP
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        cr.explain(f, np.ones(2)).print(Console(file=buf, width=100))
    assert MARKUP in buf.getvalue()
