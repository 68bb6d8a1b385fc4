"""Run the numbered notebooks with papermill into ``outputs/<params-name>/``.

The run writes into a temporary folder next to the target and swaps it in only when every notebook
succeeded, so the previous complete run is never destroyed. A failed run is kept as
``<name>.failed/`` with the executed notebook showing the error, and raises
:class:`~workbench.errors.NotebookExecutionError` naming the notebook, the section, the cell and the reason.
A run stopped by Ctrl-C or SIGTERM is kept there too; one killed outright is moved there by the next run
(:mod:`workbench.runfolder`). A notebook whose stage skipped itself (``StageSkipped``) ends early, its
reason in ``metrics.json`` and the manifest, and the run goes on (:mod:`workbench.outcome`).
What the notebooks write to stderr (their log lines and progress bars) is echoed on the command line.
"""
from __future__ import annotations

import json
import logging
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from workbench import cache, outcome, runfolder, schedule
from workbench.config import CHECKED_PARAMS_ENV, EXTENDS_KEY, SOURCE_KEY, load_params, project_root
from workbench.errors import ConfigError, NotebookExecutionError
from workbench.kernels import KernelStarter
from workbench.lanes import NotebookFailed, NotebookLanes
from workbench.models import library_versions

log = logging.getLogger(__name__)

PACKAGES = ("workbench", "pandas", "numpy", "scipy", "scikit-learn", "scikit-surprise", "mlxtend", "lightgbm",
            "matplotlib", "papermill", "pyarrow", "lifetimes", "implicit")


def notebooks_dir() -> Path:
    """The folder of the numbered source notebooks."""
    return project_root() / "notebooks"


def discover(only: list[str] | None = None, selected: list[str] | str | None = None,
             folder: Path | None = None) -> list[Path]:
    """Numbered notebooks (``NN_*.ipynb``) in order, restricted to the ``only`` and ``selected`` prefixes."""
    folder = folder or notebooks_dir()
    nbs = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))

    def keep(nb: Path, prefixes) -> bool:
        return prefixes in (None, "all") or nb.name[:2] in {str(p).zfill(2) for p in prefixes}

    out = [nb for nb in nbs if keep(nb, selected) and keep(nb, only)]
    if only and not out:
        raise ConfigError(f"--only {','.join(only)} matches no notebook in {folder}")
    return out


def _git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True, text=True,
                             timeout=10)
        return res.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _failure_message(nb: Path, exc: Exception, executed: Path | None = None, exit_code: int | None = None) -> str:
    """The notebook, its section and cell, and the reason in the user's terms (see :mod:`workbench.outcome`)."""
    return outcome.failure_message(outcome.read_failure(nb.name, executed, exc, exit_code))


def run(params: str | Path = "default", out: str | Path | None = None, only: list[str] | None = None,
        overrides: list[str] | None = None, render: bool = True, kernel: str = "python3",
        notebooks: Path | None = None, jobs: int | None = None) -> Path:
    """Execute the notebooks for a params file and return the output folder.

    ``only`` limits the run to some notebook prefixes (``["00", "01"]``): the rest of an earlier run
    in the output folder is kept, so a later stage can be re-run alone. ``notebooks`` is the folder of
    source notebooks (default ``notebooks/`` of the project). ``jobs`` notebooks run at once, each one once the
    notebooks it reads have ended (:mod:`workbench.schedule`; default :func:`~workbench.schedule.default_jobs`);
    the results are the same for any ``jobs``.
    """
    request = _Request(only=only, render=render, kernel=kernel, notebooks=notebooks, overrides=overrides,
                       jobs=jobs or schedule.default_jobs())
    cfg = load_params(params, overrides)
    from workbench import param_blocks  # the stages' readers

    param_blocks.check(cfg)  # a misspelt key of any block stops the run before any notebook starts
    out_dir = Path(out) if out else project_root() / "outputs" / cfg["name"]
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    runfolder.recover(out_dir)  # a killed earlier run: its partial folder goes to <name>.failed
    tmp = runfolder.tmp_dir(out_dir)
    if only and out_dir.exists():
        shutil.copytree(out_dir, tmp)
    else:
        tmp.mkdir()
    runfolder.claim(tmp)
    try:
        with runfolder.stop_on_sigterm():
            return _run_into(tmp, out_dir, cfg, request)
    except NotebookExecutionError:
        raise
    except ConfigError:  # nothing ran: no partial run to keep
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except BaseException as exc:  # Ctrl-C, SIGTERM, anything unexpected: keep the partial run
        if tmp.exists():
            failed = runfolder.keep_failed(tmp, out_dir, f"stopped: {type(exc).__name__}: {exc}")
            log.error("run stopped (%s); the partial run is kept at %s and %s is untouched",
                      type(exc).__name__, failed, out_dir)
        raise


@dataclass(frozen=True)
class _Request:
    """What :func:`run` was asked for besides the params and the folder."""

    only: list[str] | None
    render: bool
    kernel: str
    notebooks: Path | None
    overrides: list[str] | None
    jobs: int


def _run_into(tmp: Path, out_dir: Path, cfg: dict, request: _Request) -> Path:
    """Execute the notebooks into ``tmp`` and swap it into ``out_dir``."""
    only, kernel = request.only, request.kernel
    starter = KernelStarter(kernel)
    params_file = tmp / "params.yaml"
    params_file.write_text(yaml.safe_dump(cfg, sort_keys=True))
    nbs = discover(only, cfg.get("notebooks"), request.notebooks)
    manifest_path = tmp / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest.update({"params": cfg, "params_file": str(cfg.get(SOURCE_KEY, "")),
                     **({"params_extends": cfg[EXTENDS_KEY]} if cfg.get(EXTENDS_KEY) else {}),
                     "versions": library_versions(PACKAGES),
                     "git_commit": _git_commit(), "machine": {"platform": platform.platform(),
                                                               "processor": platform.machine()}})
    runs = {r["notebook"]: r for r in manifest.get("notebooks", [])}
    started = datetime.now(timezone.utc)
    jobs = request.jobs
    log.info("running %d notebook(s) into %s (up to %d at once)", len(nbs), out_dir, jobs)
    # the blocks were checked above: the notebooks' kernels do not check them again (context.start)
    env = {cache.CACHE_ENV: str(tmp / cache.CACHE_DIR), CHECKED_PARAMS_ENV: str(params_file)}
    lanes = NotebookLanes(starter, jobs, lambda nb, km: _execute(nb, km, tmp, params_file, kernel))
    try:
        for result in lanes.run(nbs, env):
            runs[result.notebook.name] = result.record
            _record_timing(tmp, result.notebook.name, result.seconds, tmp / result.notebook.name)
            if result.skipped:
                outcome.mark_skipped(tmp / result.notebook.name)
                log.warning("%s ended early: %s", result.notebook.name, result.skipped)
    except NotebookFailed as failure:
        nb, exc, exit_code = failure.notebook, failure.error, failure.exit_code
        target = tmp / nb.name
        msg = _failure_message(nb, exc, target if target.exists() else None, exit_code)
        shutil.rmtree(tmp / cache.CACHE_DIR, ignore_errors=True)
        failed = runfolder.keep_failed(tmp, out_dir, msg)
        raise NotebookExecutionError(msg + f"; the executed notebook is kept at {failed / nb.name}") from exc
    except BaseException:  # Ctrl-C, SIGTERM: no kernel and no cache is left behind
        shutil.rmtree(tmp / cache.CACHE_DIR, ignore_errors=True)
        raise
    shutil.rmtree(tmp / cache.CACHE_DIR, ignore_errors=True)
    fp = tmp / "data_fingerprint.txt"
    manifest.update({"data_fingerprint": fp.read_text().strip() if fp.exists() else None,
                     "notebooks": [runs[k] for k in sorted(runs)],
                     "started": started.isoformat(timespec="seconds"),
                     "ended": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    manifest["duration_s"] = round(sum(r["duration_s"] for r in manifest["notebooks"]), 2)
    manifest["wall_s"] = round((datetime.now(timezone.utc) - started).total_seconds(), 2)
    manifest["jobs"] = jobs
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    if request.render:
        _render(tmp)
    runfolder.release(tmp)
    _swap(tmp, out_dir)
    log.info("run complete: %s", out_dir)
    _track(out_dir, request.overrides, only)
    return out_dir


def _execute(nb: Path, km, tmp: Path, params_file: Path, kernel: str) -> None:
    """Execute one notebook with papermill in the started kernel ``km``, into the run folder ``tmp``."""
    import papermill as pm

    pm.execute_notebook(str(nb), str(tmp / nb.name), cwd=str(nb.parent), kernel_name=kernel,
                        parameters={"params": str(params_file), "run_dir": str(tmp), "overrides": {}},
                        progress_bar=False, log_output=False, stderr_file=sys.stderr, km=km)


def _track(out_dir: Path, overrides: list[str] | dict | None, only: list[str] | None) -> None:
    """Record the complete run in MLflow (the ``tracking`` params block); a failure is only a warning."""
    from workbench.tracking import track_run

    track_run(out_dir, overrides=overrides, only=only)


def _record_timing(run_dir: Path, name: str, secs: float, executed: Path) -> None:
    """The notebook's seconds and, under ``sections.<notebook>``, its seconds per section in ``timings.json``."""
    from workbench.report.record import RunRecorder

    recorder = RunRecorder(run_dir)
    recorder.log_timing("notebooks", name, secs)
    if executed.exists():
        recorder.log_timings("sections", name, outcome.section_seconds(executed))


def _render(run_dir: Path) -> None:
    """Render the HTML report when the report renderer is available."""
    try:
        from workbench.report import render
    except ImportError:
        return
    if hasattr(render, "render_run"):
        render.render_run(run_dir)


def _swap(tmp: Path, out_dir: Path) -> None:
    old = runfolder.old_dir(out_dir)
    if old.exists():
        shutil.rmtree(old)
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)
    failed = runfolder.failed_dir(out_dir)
    if failed.exists():
        shutil.rmtree(failed)
