"""``chainrule check``: values, random shapes with domains, one-line errors, exit codes."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.cli_inputs import (
    InputSpecError,
    RandomSpec,
    ValueSpec,
    make_inputs,
    order_specs,
    parse_arg,
    parse_domain,
    parse_seed,
    parse_shape,
)

USER_CODE = """
import numpy as np
import chainrule as cr

SEEN = []

def log_sum(x, w):
    SEEN.append((np.asarray(cr.primal(x)).copy(), np.asarray(cr.primal(w)).copy()))
    return np.sum(np.log(x) * w)

def quadratic(x):
    return np.sum(x ** 2)

def tree_loss(params, x):
    return np.sum(np.tanh(x @ params["w"] + params["b"]))

@cr.custom_vjp
def bad_sin(x):
    return np.sin(x)

bad_sin.defvjp(lambda x: (bad_sin(x), x), lambda x, g: (g * np.sin(x),))  # should be cos

def wrong(x):
    return np.sum(bad_sin(x))

def raises(x):
    raise RuntimeError("boom")

def quadratic_grad(x):  # hand-written, right
    return 2.0 * x

def quadratic_grad_wrong(x):  # hand-written, off by a factor
    return 2.1 * x

def log_sum_grad(x, w):
    return w / x, np.log(x)
"""


@pytest.fixture
def user_module(tmp_path):
    path = tmp_path / "usercode.py"
    path.write_text(USER_CODE)
    return str(path)


def _one_line_error(capsys, code: int, expected_code: int = 2) -> str:
    captured = capsys.readouterr()
    assert code == expected_code
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("chainrule check: error: ")
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


# -- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x=0.5", 0.5), ("x=-2", -2.0), ("x=1e-3", 1e-3), ("x=.5", 0.5), ("x = 3", 3.0)],
)
def test_numbers_are_values(text, expected):
    spec = parse_arg(text)
    assert isinstance(spec, ValueSpec)
    assert spec.value == expected
    assert isinstance(spec.value, float)


def test_lists_are_float_arrays_and_json_objects_are_trees():
    spec = parse_arg("w=[1, 2]")
    assert isinstance(spec, ValueSpec)
    np.testing.assert_array_equal(spec.value, [1.0, 2.0])
    assert spec.value.dtype == np.float64
    nested = parse_arg("m=[[1, 2], [3, 4]]").value
    assert nested.shape == (2, 2)
    tree = parse_arg('p={"w": [[1, 2]], "b": 0, "inner": {"c": [5]}}').value
    assert sorted(tree) == ["b", "inner", "w"]
    assert tree["w"].shape == (1, 2)
    assert tree["b"] == 0.0
    np.testing.assert_array_equal(tree["inner"]["c"], [5.0])


@pytest.mark.parametrize(
    ("text", "shape"),
    [("x=shape:3,4", (3, 4)), ("x=shape:(3, 4)", (3, 4)), ("x=shape:3x4", (3, 4)), ("x=shape:5", (5,)),
     ("x=shape:", ()), ("x=shape:()", ()), ("x=shape:(3,)", (3,)), ("x=SHAPE:2", (2,))],
)  # fmt: skip
def test_shape_specs(text, shape):
    assert parse_arg(text) == RandomSpec("x", shape)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x=3,4", ["x=shape:3,4", "x=[3,4]"]),  # the old shape syntax is refused, naming both
        ("x=abc", ["not a value"]),
        ("x=[1, [2]]", ["rectangular"]),
        ("x=[1, 2", ["not valid JSON"]),
        ('x=["a"]', ["rectangular"]),
        ("x=true", ["not a value"]),
        ('x={"a": true}', ["not a number"]),
        ("x=nan", ["finite"]),
        ("x=[1, Infinity]", ["finite"]),
        ("x=", ["no value"]),
        ("=1", ["NAME=VALUE"]),
        ("x", ["NAME=VALUE"]),
        ("x=shape:a,b", ["whole numbers"]),
        ("x=shape:-1", ["negative"]),
        ("x=shape:100000,100000", ["more than"]),
    ],
)
def test_bad_arg_specs_raise_one_line_errors(text, words):
    with pytest.raises(InputSpecError) as info:
        parse_arg(text)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_parse_shape_and_domain_and_seed():
    assert parse_shape("2, 3") == (2, 3)
    assert parse_domain("x=0.1,2") == ("x", 0.1, 2.0)
    assert parse_domain("x=(-1, 1)") == ("x", -1.0, 1.0)
    for bad in ("x=2,1", "x=1,1", "x=0,inf", "x=1", "x=a,b", "0.1,2", "x=1,2,3"):
        with pytest.raises(InputSpecError):
            parse_domain(bad)
    assert parse_seed("7") == 7
    assert parse_seed(" 4294967295 ") == 2**32 - 1
    for bad in ("-1", "4294967296", "abc", "1.5", ""):
        with pytest.raises(InputSpecError, match="--seed"):
            parse_seed(bad)


def test_random_inputs_are_uniform_in_their_domain_and_reproducible():
    specs = [RandomSpec("x", (2000,)), RandomSpec("y", (2000,)), ValueSpec("z", 0.5), RandomSpec("s", ())]
    a = make_inputs(specs, {"x": (2.0, 3.0)}, seed=5)
    b = make_inputs(specs, {"x": (2.0, 3.0)}, seed=5)
    c = make_inputs(specs, {"x": (2.0, 3.0)}, seed=6)
    assert np.all((a[0] >= 2.0) & (a[0] < 3.0))
    assert abs(np.mean(a[0]) - 2.5) < 0.05  # uniform, not normal: mean in the middle, spread to the edges
    assert np.min(a[0]) < 2.01 and np.max(a[0]) > 2.99
    assert np.all((a[1] >= -1.0) & (a[1] < 1.0))  # the default domain
    assert a[2] == 0.5
    assert isinstance(a[3], float)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_domains_must_name_a_random_argument():
    specs = [RandomSpec("x", (2,)), ValueSpec("w", 1.0)]
    with pytest.raises(InputSpecError, match="no --arg y"):
        make_inputs(specs, {"y": (0.0, 1.0)}, seed=0)
    with pytest.raises(InputSpecError, match="given by value"):
        make_inputs(specs, {"w": (0.0, 1.0)}, seed=0)


def test_specs_follow_the_signature_and_duplicates_are_refused():
    def f(a, b, c=1.0):
        return a

    ordered = order_specs(f, [ValueSpec("b", 2.0), ValueSpec("a", 1.0)])
    assert [s.name for s in ordered] == ["a", "b"]
    with pytest.raises(InputSpecError, match="no --arg for parameter"):
        order_specs(f, [ValueSpec("b", 2.0)])
    with pytest.raises(InputSpecError, match="twice"):
        order_specs(f, [ValueSpec("a", 1.0), ValueSpec("a", 2.0)])
    unnamed = order_specs(lambda *xs: 0, [ValueSpec("q", 1.0), ValueSpec("p", 2.0)])
    assert [s.name for s in unnamed] == ["q", "p"]


# -- the command --------------------------------------------------------------------


def test_check_passes_with_values_and_trees(user_module, capsys):
    assert main(["check", f"{user_module}:quadratic", "--arg", "x=0.5"]) == 0
    assert main(["check", f"{user_module}:quadratic", "--arg", "x=[1, 2]"]) == 0
    tree = '{"w": [[1, 2], [3, 4]], "b": [0.5, -0.5]}'
    assert main(["check", f"{user_module}:tree_loss", "--arg", f"params={tree}", "--arg", "x=[[1, 0]]"]) == 0
    out = capsys.readouterr().out
    assert out.count("gradient check of") == 3
    assert ": pass" in out


def test_check_draws_inputs_in_the_domain(user_module, capsys, monkeypatch):
    import sys

    code = main(["check", f"{user_module}:log_sum", "--arg", "x=shape:3,4", "--arg", "w=shape:3,4",
                 "--domain", "x=0.5,2", "--seed", "3", "--plain"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    module = sys.modules["_chainrule_check_usercode"]
    x, w = module.SEEN[0]
    assert x.shape == (3, 4) and w.shape == (3, 4)
    assert np.all((x >= 0.5) & (x < 2.0))
    assert np.all((w >= -1.0) & (w < 1.0))


def test_nan_at_the_inputs_is_a_usage_error_suggesting_a_domain(user_module, capsys):
    code = main(["check", f"{user_module}:log_sum", "--arg", "x=shape:4", "--arg", "w=shape:4"])
    line = _one_line_error(capsys, code)
    assert "not finite" in line
    assert "--domain NAME=LOW,HIGH for x, w" in line


def test_wrong_gradient_exits_1_with_the_table(user_module, capsys):
    code = main(["check", f"{user_module}:wrong", "--arg", "x=shape:3", "--plain"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out
    assert "culprit" in out
    assert all(len(line) <= 80 for line in out.splitlines()), out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--arg", "x=3,4"], ["shape:3,4"]),
        (["--arg", "x=0.5", "--seed", "-3"], ["--seed"]),
        (["--arg", "x=0.5", "--seed", "one"], ["--seed"]),
        (["--arg", "x=shape:2", "--domain", "x=3,1"], ["--domain x"]),
        (["--arg", "x=shape:2", "--domain", "y=0,1"], ["no --arg y"]),
        ([], ["--arg"]),
        (["--arg", "x=1", "--arg", "x=2"], ["twice"]),
    ],
)
def test_invalid_specs_are_one_line_errors_with_exit_code_2(user_module, capsys, argv, words):
    code = main(["check", f"{user_module}:quadratic", *argv])
    line = _one_line_error(capsys, code)
    for word in words:
        assert word in line


def test_bad_targets_are_one_line_errors(user_module, capsys):
    for target in ("no_such_module_xyz:f", "not-a-target", "missing_file.py:f", f"{user_module}:nothing"):
        _one_line_error(capsys, main(["check", target, "--arg", "x=1"]))


def test_an_exception_in_the_function_is_reported_in_one_line(user_module, capsys):
    line = _one_line_error(capsys, main(["check", f"{user_module}:raises", "--arg", "x=1"]), 1)
    assert "RuntimeError" in line and "boom" in line


def test_argparse_errors_are_one_line(capsys):
    _one_line_error(capsys, _exit_code(["check", "mod:f", "--mode", "nope"]))


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    code = info.value.code
    return code if isinstance(code, int) else 2


def test_explain_subcommand_still_works(capsys):
    assert main(["explain", "sin(x*y) + x", "--at", "x=1", "y=2", "--plain"]) == 0
    assert "sin" in capsys.readouterr().out


def test_help_fits_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert _exit_code(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "shape:3,4" in out and "--domain" in out
    assert all(len(line) <= 80 for line in out.splitlines()), out


def test_grad_checks_a_hand_written_gradient(user_module, capsys):
    assert main(["check", f"{user_module}:quadratic", "--arg", "x=shape:3", "--grad",
                 f"{user_module}:quadratic_grad"]) == 0  # fmt: skip
    assert "pass" in capsys.readouterr().out
    assert main(["check", f"{user_module}:quadratic", "--arg", "x=shape:3", "--grad",
                 f"{user_module}:quadratic_grad_wrong"]) == 1  # fmt: skip
    assert "FAIL" in capsys.readouterr().out
    assert main(["check", f"{user_module}:log_sum", "--arg", "x=shape:2", "--arg", "w=[1.0, 2.0]",
                 "--domain", "x=0.5,2", "--grad", f"{user_module}:log_sum_grad"]) == 0  # fmt: skip
    capsys.readouterr()


def test_grad_usage_errors_are_one_line(user_module, capsys):
    code = main(["check", f"{user_module}:quadratic", "--arg", "x=shape:3", "--grad", f"{user_module}:nope"])
    assert "nope" in _one_line_error(capsys, code)
    code = main(["check", f"{user_module}:quadratic", "--arg", "x=shape:3", "--order", "2",
                 "--grad", f"{user_module}:quadratic_grad"])  # fmt: skip
    assert "--order 1" in _one_line_error(capsys, code)
