"""Interrupted runs lose nothing: a run stopped (SIGTERM) or killed (SIGKILL) mid-notebook leaves the last
complete run untouched and its partial work in ``<name>.failed/``; the next run tidies a killed one."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from workbench.errors import ConfigError
from workbench.nbtools import PARAMS_CELL, START_CELL, write_notebook
from workbench.runfolder import FAILED_NOTE, PID_FILE, recover, tmp_dir

PARAMS = {"name": "interrupted", "seed": 1, "data": {"source": "synthetic"}}


def _notebooks(folder, marker=None):
    """00 records a metric; 01 (with ``marker``) writes its kernel's pid to ``marker`` and sleeps."""
    folder.mkdir(parents=True, exist_ok=True)
    write_notebook(folder / "00_first.ipynb", [("params", PARAMS_CELL), ("code", START_CELL),
                                               ("code", "ctx.rec.log_metrics('data', {'partial': True})")])
    if marker:
        body = f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)"
        write_notebook(folder / "01_slow.ipynb", [("params", PARAMS_CELL), ("code", START_CELL), ("code", body)])
    return folder


def _previous_good_run(out):
    out.mkdir(parents=True)
    (out / "metrics.json").write_text(json.dumps({"data": {"good": 1}}))
    (out / "figures").mkdir()
    (out / "figures" / "a.png").write_bytes(b"png")
    return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _snapshot(out):
    return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _start_run(tmp_path, nbs, out):
    code = ("import sys; from workbench.runner import run; "
            f"run({PARAMS!r}, out={str(out)!r}, notebooks=__import__('pathlib').Path({str(nbs)!r}), render=False)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(path, proc, timeout=180):
    t0 = time.time()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"runner ended early: {proc.stderr.read().decode()[-2000:]}")
        if time.time() - t0 > timeout:
            raise AssertionError("the slow notebook never started")
        time.sleep(0.2)
    time.sleep(0.5)
    return int(path.read_text() or 0)


def _gone(pid, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_sigterm_and_sigkill_mid_notebook_keep_the_previous_run(tmp_path):
    out = tmp_path / "runs" / "interrupted"
    before = _previous_good_run(out)
    marker = tmp_path / "kernel.pid"
    nbs = _notebooks(tmp_path / "nbs", marker)

    # SIGTERM while notebook 01 runs: the runner keeps the partial run and stops its kernel
    proc = _start_run(tmp_path, nbs, out)
    kernel = _wait_for(marker, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert _snapshot(out) == before
    failed = out.parent / "interrupted.failed"
    assert json.loads((failed / "metrics.json").read_text()) == {"data": {"partial": True}}
    assert (failed / "00_first.ipynb").exists() and "SIGTERM" in (failed / FAILED_NOTE).read_text()
    assert not tmp_dir(out).exists() and not (failed / PID_FILE).exists()
    assert _gone(kernel), "the kernel outlived the stopped run"

    # SIGKILL of the runner and its kernel: nothing can run then; the next run moves the leftovers
    marker.unlink()
    proc = _start_run(tmp_path, nbs, out)
    kernel = _wait_for(marker, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert tmp_dir(out).exists() and _snapshot(out) == before

    from workbench.runner import run

    quick = _notebooks(tmp_path / "quick")
    run(PARAMS, out=out, notebooks=quick, render=False)
    assert json.loads((out / "metrics.json").read_text()) == {"data": {"partial": True}}
    assert not tmp_dir(out).exists()
    # the killed run was moved aside before the new one started; a complete run then clears .failed
    assert not failed.exists()


def test_recover_moves_a_stale_tmp_and_respects_a_live_run(tmp_path):
    out = tmp_path / "shop"
    before = _previous_good_run(out)
    tmp = tmp_dir(out)
    tmp.mkdir()
    (tmp / "metrics.json").write_text("{}")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp / PID_FILE).write_text(str(dead.pid))
    failed = recover(out)
    assert failed == tmp_path / "shop.failed" and (failed / "metrics.json").read_text() == "{}"
    assert "interrupted" in (failed / FAILED_NOTE).read_text() and not tmp.exists()
    assert _snapshot(out) == before

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tmp.mkdir()
        (tmp / PID_FILE).write_text(str(live.pid))
        with pytest.raises(ConfigError, match=f"process {live.pid}"):
            recover(out)
        assert tmp.exists()
    finally:
        live.kill()
        live.wait()


def test_recover_completes_a_swap_cut_in_the_middle(tmp_path):
    out = tmp_path / "shop"
    before = _previous_good_run(out)
    out.rename(tmp_path / ".shop.old")  # killed after the first rename of the swap
    recover(out)
    assert _snapshot(out) == before and not (tmp_path / ".shop.old").exists()
