"""Issue 11, class 9: a gradient check that checked nothing raises, it never reports "pass"."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_grad
from chainrule.check.options import NothingCheckedError
from chainrule.cli import main

X = np.array([0.3, 1.2])


def square(x):
    return np.sum(x**2)


@pytest.mark.parametrize("probes", [0, -1, -100])
@pytest.mark.parametrize("given", [False, True])
def test_no_probes_is_refused(probes, given):
    extra = {"grad": lambda x: 2 * x} if given else {}
    with pytest.raises(NothingCheckedError, match=f"probes={probes} checks nothing"):
        check_grad(square, X, mode="fast", probes=probes, **extra)


@pytest.mark.parametrize("probes", [1.5, "4", None, True])
def test_probes_of_the_wrong_type_are_refused(probes):
    with pytest.raises(TypeError, match="probes= must be a whole number"):
        check_grad(square, X, mode="fast", probes=probes)


def test_check_vjp_with_no_probes_is_refused():
    with pytest.raises(NothingCheckedError, match="probes=0"):
        cr.check_vjp(lambda x: (np.sin(x), x), lambda g, x: (g * np.cos(x),), X, probes=0)


def test_check_vjp_that_checks_no_argument_is_refused():
    with pytest.raises(NothingCheckedError, match="checked no argument"):
        cr.check_vjp(lambda x: (np.sin(x), x), lambda g, x: (None,), X)


@pytest.mark.parametrize("modes", [(), []])
def test_no_modes_is_refused(modes):
    with pytest.raises(NothingCheckedError, match=r"modes=\(\) checks nothing"):
        check_grad(square, X, modes=modes)


def test_modes_as_a_string_is_refused():
    with pytest.raises(TypeError, match="not the string 'rev'"):
        check_grad(square, X, modes="rev")


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_function_returning_none_is_refused(mode):
    def noret(x):
        np.sum(x**2)  # the missing return

    with pytest.raises(NothingCheckedError, match="noret returned None.*missing return"):
        check_grad(noret, X, mode=mode)


@pytest.mark.parametrize("out", ["a", ["a"], {"k": None}, (), object()])
def test_a_function_returning_no_number_is_refused(out):
    with pytest.raises((TypeError, NothingCheckedError), match="returned"):
        check_grad(lambda x: out, X)


def test_a_function_returning_no_number_is_refused_with_a_given_grad():
    with pytest.raises(NothingCheckedError, match="returned None"):
        check_grad(lambda x: None, X, grad=lambda x: 2 * x)


@pytest.mark.parametrize("given", [False, True])
def test_no_inputs_to_perturb_is_refused(given):
    extra = {"grad": lambda x: 2 * x} if given else {}
    with pytest.raises(NothingCheckedError, match="compared no derivative"):
        check_grad(square, np.zeros(0), **extra)


@pytest.mark.parametrize(
    ("name", "value", "error", "message"),
    [
        ("rtol", -1, ValueError, "rtol=-1.0 is not a tolerance"),
        ("rtol", "a", TypeError, "rtol= must be a non-negative number"),
        ("rtol", np.nan, ValueError, "rtol=nan is not a tolerance"),
        ("atol", -1e-3, ValueError, "atol=-0.001 is not a tolerance"),
        ("atol", [1e-3], TypeError, "atol= must be a non-negative number"),
    ],
)
def test_bad_tolerances_are_refused(name, value, error, message):
    with pytest.raises(error, match=message):
        check_grad(square, X, **{name: value})
    with pytest.raises(error, match=message):
        check_grad(square, X, grad=lambda x: 2 * x, **{name: value})


def test_valid_options_still_check_something():
    report = check_grad(square, X, mode="fast", probes=np.int64(2), rtol=np.float32(1e-6), atol=0)
    assert report.verdict == "pass"
    assert len(report.rows) == 2


def test_the_backstop_fires_whatever_the_path(monkeypatch):
    # Even if every comparison were skipped by some future path, an empty table cannot pass.
    from chainrule.check import comparison

    monkeypatch.setattr(comparison.Checker, "elements", lambda self, *a, **k: None)
    with pytest.raises(NothingCheckedError, match="compared no derivative"):
        check_grad(square, X)


def test_chainrule_check_of_a_function_without_return_exits_non_zero(tmp_path, monkeypatch, capsys):
    (tmp_path / "m.py").write_text("import numpy as np\n\ndef noret(x):\n    np.sum(x ** 2)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["check", "m.py:noret", "--arg", "x=shape:3"])
    err = capsys.readouterr().err
    assert code != 0
    assert "returned None" in err
