"""The demo (the README's first command): accuracy, determinism, options."""

import io

import pytest

pytest.importorskip("sklearn")

from chainrule.cli import main
from chainrule.demo import run_demo


def _quiet(**kwargs):
    out = io.StringIO()
    result = run_demo(progress=False, out=out, **kwargs)
    return result, out.getvalue()


def test_mlp_reaches_97_percent_with_default_settings():
    result, text = _quiet(model_kind="mlp", compare_finite_differences=False)
    assert result.test_accuracy >= 0.97
    assert f"test accuracy: {result.test_accuracy:.1%}" in text.splitlines()[-1]
    assert "gradient check (fast mode" in text and ": pass" in text


def test_cnn_reaches_98_percent_with_default_settings():
    result, _ = _quiet(model_kind="cnn", compare_finite_differences=False)
    assert result.test_accuracy >= 0.98


def test_demo_is_deterministic_for_a_seed():
    a, _ = _quiet(model_kind="mlp", epochs=2, seed=3, compare_finite_differences=False)
    b, _ = _quiet(model_kind="mlp", epochs=2, seed=3, compare_finite_differences=False)
    assert a.losses == b.losses
    assert a.test_accuracy == b.test_accuracy


def test_finite_difference_comparison_reports_evaluations_and_agreement():
    _, text = _quiet(model_kind="mlp", epochs=1)
    fd_line = next(line for line in text.splitlines() if "finite differences" in line)
    evaluations = int(fd_line.split("evaluations")[0].split()[-1])
    assert 2 * 17226 <= evaluations <= 2 * 17226 + 1  # two per parameter (+ f(x)): O(N)
    diff_line = next(line for line in text.splitlines() if "largest difference" in line)
    assert float(diff_line.split()[-1]) < 1e-6


def test_cli_demo_writes_the_plot(tmp_path, capsys):
    path = tmp_path / "curves.png"
    assert main(["demo", "--epochs", "1", "--seed", "1", "--plot", str(path), "--no-progress"]) == 0
    assert path.stat().st_size > 1000
    assert "test accuracy:" in capsys.readouterr().out


def test_cli_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "explain", "check"):
        assert command in text


def test_cli_rejects_bad_options(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--model", "transformer"])
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "0"])
