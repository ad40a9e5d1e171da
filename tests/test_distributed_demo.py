"""``chainrule demo --distributed``: the finite-difference phase on Dask, identical, with its speed-up."""

from __future__ import annotations

import io
import os
import re

import numpy as np
import pytest

from chainrule import numerical
from chainrule.cli import main
from dask_cluster import local_client


@pytest.fixture(scope="module")
def client():
    yield from local_client(processes=True)


def test_the_phase_runs_on_the_cluster_at_an_address_and_matches(client):
    from chainrule.demo.distributed import distributed_finite_differences

    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((5, 3)), "b": np.zeros(3)}
    x = rng.standard_normal((20, 5))

    def loss(p, x):
        return np.mean(np.tanh(x @ p["w"] + p["b"]) ** 2)

    serial = numerical.grad(loss, params, x)
    out = io.StringIO()
    seconds, workers = distributed_finite_differences(
        loss,
        (params, x),
        (serial, 1.0),
        1e-3,
        client.scheduler.address,
        out.write,
        out,
        progress=False,
        serial_cpu_seconds=0.5,
    )
    text = out.getvalue()
    assert workers == 2 and seconds > 0
    assert f"the cluster at {client.scheduler.address}" in text
    assert "identical to the one-process gradient" in text and "x the speed of one process" in text
    # The expensive function, measured both ways, bit-identical.
    assert re.search(r"an expensive function \(a heat-equation solver, 24 inputs, \d+ ms per", text)
    assert re.search(r"ms in one process, \d+ ms on 2 workers: \d+\.\d\dx \(identical gradients\)", text)
    # CPU seconds both ways, for the small loss and the solver; the workers did measurable work.
    cpu = re.findall(r"CPU time  one process (\d+\.\d) s; distributed: workers (\d+\.\d) s, this", text)
    assert len(cpu) == 2 and cpu[0][0] == "0.5" and float(cpu[1][1]) > 0
    # A wrong "serial" gradient is reported as different, never hidden.
    wrong = {"w": serial["w"], "b": serial["b"] + 1.0}
    out = io.StringIO()
    distributed_finite_differences(loss, (params, x), (wrong, 1.0), 1e-3, client.scheduler.address,
                                   out.write, out, progress=False, expensive=False)  # fmt: skip
    assert "DIFFERENT from the one-process gradient" in out.getvalue()


def test_cli_passes_the_address_on(monkeypatch):
    import chainrule.demo

    seen = {}
    monkeypatch.setattr(chainrule.demo, "run_demo", lambda *a, **k: seen.update(k))
    assert main(["demo", "--distributed", "--no-progress"]) == 0
    assert seen["distributed"] == "local"
    assert main(["demo", "--distributed", "tcp://10.0.0.1:8786"]) == 0
    assert seen["distributed"] == "tcp://10.0.0.1:8786"


def test_without_dask_the_demo_says_how_to_install_it(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    assert main(["demo", "--distributed"]) == 1
    assert 'pip install "chainrule[dask]"' in capsys.readouterr().err


def test_a_speed_up_below_the_workers_is_explained_by_what_was_measured():
    from chainrule.demo.distributed import why_not_faster

    busy = why_not_faster(2, 0.6, 2, 11.0, 0.1)
    assert "load average 11.0 on 2 cores" in busy and "0.10 ms" in busy
    quiet = why_not_faster(4, 2.5, 8, 0.5, 3.0)
    assert "busy" not in quiet and "share 8 cores" not in quiet and "3.00 ms" in quiet


def test_workers_for_finite_differences_start_without_dask_malloc_trim(monkeypatch):
    """Dask's MALLOC_TRIM_THRESHOLD_ made the demo's worker bookkeeping 2-3x slower: unset it there."""
    dask = pytest.importorskip("dask", reason="Dask is an optional extra: pip install 'chainrule[dask]'")
    from chainrule.distributed.cluster import _without_malloc_trim

    key = "MALLOC_TRIM_THRESHOLD_"
    monkeypatch.setenv(key, "65536")  # as an earlier nanny leaves it in this process
    with _without_malloc_trim(True):
        assert key not in os.environ
        assert dask.config.get(f"distributed.nanny.pre-spawn-environ.{key}") is None
    assert os.environ[key] == "65536"  # restored
    assert dask.config.get(f"distributed.nanny.pre-spawn-environ.{key}") is not None
    with _without_malloc_trim(False):
        assert os.environ[key] == "65536"
