"""``chainrule check --workers N / --executor ADDRESS``: the same verdict, evaluated elsewhere."""

from __future__ import annotations

import io
import re
import sys

import pytest

from chainrule.cli import main
from dask_cluster import local_client

USER_CODE = """
import numpy as np
import chainrule as cr

def loss(w, x):
    return np.sum(np.log1p(np.exp(-x @ w)))

@cr.custom_vjp
def bad_tanh(x):
    return np.tanh(x)

bad_tanh.defvjp(lambda x: (bad_tanh(x), x), lambda x, g: (g * np.tanh(x),))  # should be 1 - tanh**2

def wrong(w):
    return np.sum(bad_tanh(w) ** 2)
"""


@pytest.fixture
def user_module(tmp_path):
    path = tmp_path / "model_for_workers.py"  # loaded from a path: workers cannot import it by name
    path.write_text(USER_CODE)
    return str(path)


@pytest.fixture(scope="module")
def client():
    yield from local_client(processes=True)


def _numbers(text: str) -> list[str]:
    """The table's rows without the timing line (wall time differs from run to run)."""
    return [line for line in text.splitlines() if not re.search(r"\d+(\.\d+)? ?m?s\b", line)]


def test_check_with_workers_gives_the_serial_report(user_module, capsys):
    pytest.importorskip("cloudpickle", reason="a function loaded from a file reaches workers by cloudpickle")
    argv = ["check", f"{user_module}:loss", "--arg", "w=shape:4", "--arg", "x=shape:6,4", "--plain"]
    assert main(argv) == 0
    serial = capsys.readouterr().out
    assert main([*argv, "--workers", "2"]) == 0
    parallel = capsys.readouterr().out
    assert ": pass" in parallel and _numbers(parallel) == _numbers(serial)
    assert main(["check", f"{user_module}:wrong", "--arg", "w=shape:3", "--workers", "2", "--plain"]) == 1
    assert "FAIL" in capsys.readouterr().out


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_long_check_on_workers_shows_a_progress_line_on_a_terminal(user_module, client, capsys,
                                                                     monkeypatch):  # fmt: skip
    import chainrule.cli_progress

    monkeypatch.setattr(chainrule.cli_progress, "SHOW_AFTER", 0.0)  # as if the run were long
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    argv = ["check", f"{user_module}:loss", "--arg", "w=shape:12", "--arg", "x=shape:6,12", "--plain"]
    assert main([*argv, "--executor", client.scheduler.address]) == 0
    shown = terminal.getvalue()
    lines = re.findall(r"\r  ([\d,]+) evaluations on the cluster at ", shown)
    counts = [int(n.replace(",", "")) for n in lines]
    assert counts and counts == sorted(counts)  # a rising count
    assert shown.endswith("\r")  # the line is cleared before the report
    assert ": pass" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: nothing
    assert main([*argv, "--executor", client.scheduler.address]) == 0
    assert sys.stderr.getvalue() == ""


def test_check_on_a_dask_cluster_by_address(user_module, client, capsys):
    address = client.scheduler.address
    argv = ["check", f"{user_module}:wrong", "--arg", "w=shape:3", "--plain", "--executor", address]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "bad_tanh" in out


def test_bad_worker_counts_and_a_missing_dask_are_one_line_errors(user_module, capsys, monkeypatch):
    argv = ["check", f"{user_module}:loss", "--arg", "w=shape:2", "--arg", "x=shape:3,2"]
    assert main([*argv, "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    assert main([*argv, "--executor", "local"]) == 1
    err = capsys.readouterr().err
    assert 'pip install "chainrule[dask]"' in err and len(err.strip().splitlines()) == 1
