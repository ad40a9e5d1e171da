"""The demo (the README's first command): accuracy, determinism, options."""

import gc
import io
import subprocess
import sys

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
    out = io.StringIO()  # not a terminal: progress comes as plain lines, one per quarter
    result = run_demo(model_kind="mlp", epochs=1, progress=True, out=out)
    lines = out.getvalue().splitlines()
    fd_line = next(line for line in lines if line.lstrip().startswith("finite differences"))
    evaluations = int(fd_line.split("evaluations")[0].split()[-1])
    assert evaluations == result.finite_difference_evaluations
    assert 2 * 17226 <= evaluations <= 2 * 17226 + 1  # two per parameter (+ f(x)): O(N)
    diff_line = next(line for line in lines if "largest difference" in line)
    assert float(diff_line.split()[-1]) < 1e-6
    # Progress during the phase: done/total and a running estimate, before the result line.
    progress = [line for line in lines[: lines.index(fd_line)] if "/34453 evaluations" in line]
    assert len(progress) == 3
    done = [int(line.split("/")[0].split()[-1]) for line in progress]
    assert done == sorted(done) and done[0] >= 34453 // 4 and done[-1] < 34453
    assert all("s in all" in line and "x backprop" in line for line in progress)
    # Backprop is a small multiple of the function; the sentence says why finite differences are not.
    bp_line = next(line for line in lines if line.lstrip().startswith("backprop"))
    assert "median" in out.getvalue()
    assert result.backprop_seconds > result.function_seconds  # timings on a shared machine: no upper bound
    assert f"{result.backprop_seconds / result.function_seconds:.1f} function costs" in bp_line
    why = " ".join(out.getvalue().split("why:")[1].split())
    assert "2N+1 evaluations" in why and "about 3 function costs" in why
    assert result.finite_difference_seconds > 100 * result.backprop_seconds
    assert all(len(line) <= 80 for line in lines)


def test_cli_demo_passes_its_options_on(monkeypatch):
    import chainrule.demo

    seen = {}
    monkeypatch.setattr(chainrule.demo, "run_demo", lambda *a, **k: seen.update(args=a, kwargs=k))
    assert main(["demo", "--model", "cnn", "--epochs", "2", "--seed", "1", "--plot", "p.png",
                 "--no-progress"]) == 0  # fmt: skip
    assert seen["args"] == ("cnn",)
    assert seen["kwargs"] == {"epochs": 2, "seed": 1, "plot": "p.png", "progress": False, "distributed": None}


def test_demo_writes_the_plot_with_the_cost_panel(tmp_path):
    path = tmp_path / "curves.png"
    result, text = _quiet(
        model_kind="mlp", epochs=1, seed=1, plot=str(path), compare_finite_differences=False
    )
    assert f"wrote {path}" in text
    assert len(result.cost) >= 3
    assert [p.parameters for p in result.cost] == sorted(p.parameters for p in result.cost)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(header[16:20], "big")
    assert width >= 1300  # three panels: loss, accuracy, cost versus N


def test_cost_versus_n_grows_for_finite_differences_and_not_for_backprop():
    from chainrule import nn
    from chainrule.demo.cost import cost_versus_n

    data = nn.load_digits(seed=0)
    points = cost_versus_n(data.x_train[:64], data.y_train[:64], widths=(4, 256))
    small, large = points
    assert small.parameters == 64 * 4 + 4 + 4 * 10 + 10
    assert large.parameters > 50 * small.parameters
    assert large.finite_difference_seconds == (2 * large.parameters + 1) * large.function_seconds
    # Finite differences grow with N; backprop stays a few function costs (timings are noisy on a
    # shared machine, so the margins are wide).
    assert large.finite_difference_seconds > 20 * small.finite_difference_seconds
    assert large.backprop_seconds < 50 * large.function_seconds
    assert large.backprop_seconds * 100 < large.finite_difference_seconds


def _without(monkeypatch, *modules):
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError


def test_demo_without_the_extra_says_how_to_install_it(monkeypatch, capsys):
    _without(monkeypatch, "sklearn")
    assert main(["demo"]) == 1
    captured = capsys.readouterr()
    assert 'pip install "chainrule[demo]"' in captured.err
    assert "scikit-learn" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""  # it stops before doing any work


def test_demo_plot_without_matplotlib_says_so_before_training(monkeypatch, capsys, tmp_path):
    _without(monkeypatch, "matplotlib")
    assert main(["demo", "--plot", str(tmp_path / "p.png")]) == 1
    captured = capsys.readouterr()
    assert "matplotlib" in captured.err and 'pip install "chainrule[demo]"' in captured.err
    assert captured.out == ""


def test_demo_entry_point_without_the_extra_has_no_traceback():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from chainrule.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'chainrule demo: the demo needs scikit-learn, which is not installed: pip install "chainrule[demo]"'
    )


def test_median_seconds_takes_the_median_after_a_warm_up(monkeypatch):
    from chainrule.demo import timing

    durations = iter([100.0, 5.0, 1.0, 3.0, 2.0, 4.0])  # the first (cold) run is not counted
    clock = [0.0]
    calls = []

    def fake_perf_counter():
        return clock[0]

    def fn():
        calls.append(1)
        clock[0] += next(durations)

    monkeypatch.setattr(timing.time, "perf_counter", fake_perf_counter)
    assert timing.median_seconds(fn, repeats=5, budget=1e9) == 3.0
    assert len(calls) == 6
    assert gc.isenabled()  # paused while timing, restored after
    with pytest.raises(ValueError, match="repeats"):
        timing.median_seconds(fn, repeats=0)


def test_median_seconds_stops_at_the_budget_after_three_runs(monkeypatch):
    from chainrule.demo import timing

    clock = [0.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])

    def slow():
        clock[0] += 10.0

    calls_before = clock[0]
    timing.median_seconds(slow, repeats=7, budget=1.0)
    assert (clock[0] - calls_before) / 10.0 == 4  # warm-up + the minimum of 3


def test_evaluation_progress_counts_calls_and_estimates():
    from chainrule.demo.progress import EvaluationProgress

    out = io.StringIO()
    progress = EvaluationProgress(total=100, backprop_seconds=1e-9, out=out, live=False)
    f = progress.wrap(lambda x, scale=1.0: x * scale)
    assert [f(k, scale=2.0) for k in range(100)][-1] == 198.0
    progress.close()
    assert progress.calls == 100
    lines = out.getvalue().splitlines()
    assert [line.split("/")[0].split()[-1] for line in lines] == ["25", "50", "75"]
    assert all("/100 evaluations" in line and "x backprop" in line for line in lines)


def test_evaluation_progress_live_bar_on_a_terminal():
    pytest.importorskip("rich")
    from chainrule.demo.progress import EvaluationProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    progress = EvaluationProgress(total=1000, backprop_seconds=1e-3, out=out)
    assert progress._bar is not None  # a live bar, not plain lines
    f = progress.wrap(lambda x: x)
    for k in range(1000):
        f(k)
    assert progress.estimate().endswith("x backprop)")
    progress.close()
    assert progress.calls == 1000
    assert "evaluations" not in out.getvalue()  # no plain lines mixed into the live display


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


def test_blas_is_single_threaded_while_the_demo_times(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from chainrule.demo.timing import single_threaded_blas

    with single_threaded_blas():
        blas = [info for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
        assert all(info["num_threads"] == 1 for info in blas)
    _without(monkeypatch, "threadpoolctl")
    with single_threaded_blas():  # without threadpoolctl: a no-op, not an error
        pass
