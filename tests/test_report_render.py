"""The check report as text: no wider than 80 columns, coloured only on a terminal that supports it."""

from __future__ import annotations

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule.check.report import CheckReport, Culprit, Row

LONG = "argument 0 ('params')['a_rather_long_parameter_name']"


def _report(verdict: str = "FAIL", path: str = LONG) -> CheckReport:
    rows = [
        Row(path, (i, 12), -0.123456789 * (i + 1), 0.987654321e-5 * i, 3.1e-7,
            "FAIL" if verdict == "FAIL" else "ok")
        for i in range(5)
    ]  # fmt: skip
    return CheckReport(
        function="a_function_with_a_long_name", mode="full", order=1, modes=("rev",), verdict=verdict,
        max_abs_error=1.3, max_rel_error=1.5, worst=rows[0].where, evaluations=123, seconds=0.01,
        tolerance="|backprop - numerical| <= atol + rtol*|numerical| + 3 x finite-difference error "
        "estimate (per element); rtol=1e-06 (float64 default), atol=2e-08 (float64 default)",
        rows=rows, kinks=[], notes=["a note that is long enough to need wrapping when it is shown " * 2],
        culprit=Culprit("numpy.sin", 0, "reverse rule", "/a/very/long/path/" + "x" * 90 + ".py:14 (in f)",
                        -0.19, -0.11),
    )  # fmt: skip


def test_every_line_fits_80_columns_and_nothing_is_lost():
    text = str(_report())
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(x for x in lines if len(x) > 80)
    flat = " ".join(text.split())
    for word in ("a_function_with_a_long_name", "FAIL", "rtol=1e-06", "culprit", "numpy.sin"):
        assert word in flat
    table = [line for line in lines if line.startswith("d/dx")]
    assert len(table) == 5
    assert all(line.endswith("FAIL") for line in table)
    assert all("12]" in line for line in table)  # the index survives shortening of the name


def test_table_keeps_full_names_when_they_fit():
    short = _report(path="x")
    table = short.table()
    assert "d/dx x[0, 12]" in table
    assert "..." not in table
    assert "-0.12345679" in table  # 8 significant digits when there is room


def test_table_honours_a_given_width():
    table = _report().table(width=72)
    assert all(len(line) <= 72 for line in table.splitlines())


def test_show_is_plain_off_a_terminal_and_when_asked():
    out = io.StringIO()
    _report().show(file=out)  # not a terminal
    assert "\x1b[" not in out.getvalue()
    assert out.getvalue().rstrip("\n") == str(_report()).rstrip("\n")
    out = io.StringIO()
    _report().show(file=out, colour=False)
    assert "\x1b[" not in out.getvalue()


def test_show_colours_the_verdict_and_failing_rows_when_asked(monkeypatch):
    pytest.importorskip("rich")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = io.StringIO()
    _report().show(file=out, colour=True)
    text = out.getvalue()
    assert "\x1b[1;31mFAIL\x1b[0m" in text  # bold red verdict
    plain = _strip_ansi(text)
    assert plain.rstrip("\n") == str(_report()).rstrip("\n")  # colour adds nothing else
    assert all(len(line) <= 80 for line in plain.splitlines())
    out = io.StringIO()
    _report("pass").show(file=out, colour=True)
    assert "\x1b[1;32mpass\x1b[0m" in out.getvalue()


def test_no_color_environment_turns_colour_off(monkeypatch):
    pytest.importorskip("rich")
    monkeypatch.setenv("NO_COLOR", "1")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    _report().show(file=out)
    assert "\x1b[" not in out.getvalue()


def test_a_real_failing_check_fits_80_columns():
    @cr.custom_vjp
    def bad_exp(x):
        return np.exp(x)

    bad_exp.defvjp(lambda x: (bad_exp(x), x), lambda x, g: (g * x,))
    key = "a_rather_long_parameter_name_for_a_weight_matrix"
    params = {key: np.linspace(0.1, 1.0, 12).reshape(3, 4)}
    with pytest.raises(cr.GradientCheckError) as info:
        cr.check_grad(lambda p: np.sum(bad_exp(p[key])), params)
    assert all(len(line) <= 80 for line in str(info.value).splitlines()), str(info.value)


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
