"""``make benchmarks``: run every real-data params file through the runner, then write the summary.

Each params file of :data:`~workbench.report.benchmarks.BENCHMARK_PARAMS` runs into ``outputs/<name>/``
(a missing params file is skipped and said so; one failing data set does not hide the others), then
:mod:`workbench.report.benchmarks` writes ``outputs/benchmarks/summary.md`` and ``summary.json``.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from workbench.report.benchmarks import BENCHMARK_PARAMS, build_summary, load_metrics, write_summary

log = logging.getLogger(__name__)


def run_benchmarks(names: list[str] | tuple[str, ...] = BENCHMARK_PARAMS, outputs_dir: Path | None = None,
                   render: bool = True) -> dict[str, str]:
    """Run each params file through the runner into ``outputs_dir/<name>``; return ``{name: status}``."""
    from workbench.config import project_root, resolve_params_path
    from workbench.errors import ConfigError
    from workbench.report.record import RunRecorder
    from workbench.runner import run

    outputs_dir = Path(outputs_dir or project_root() / "outputs")
    timings = RunRecorder(outputs_dir / "benchmarks")
    status: dict[str, str] = {}
    for name in names:
        try:
            resolve_params_path(name)
        except ConfigError:
            status[name] = "skipped: no params file"
            log.warning("benchmarks: no params file for %s, skipped", name)
            continue
        t0 = time.perf_counter()
        try:
            run(name, out=outputs_dir / name, render=render)
            status[name] = "ok"
        except Exception as exc:  # one failing data set must not hide the others' results
            status[name] = f"failed: {exc}"
            log.error("benchmarks: %s failed: %s", name, exc)
        timings.log_timing("benchmarks", name, time.perf_counter() - t0)
    return status


def main(argv: list[str] | None = None) -> int:
    """Command line of ``make benchmarks``: run the real-data params, then write the summary."""
    from workbench.config import project_root
    from workbench.context import setup_logging

    ap = argparse.ArgumentParser(prog="python -m workbench.benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=None, help="comma-separated params names (default: all real-data ones)")
    ap.add_argument("--no-run", action="store_true", help="only summarise the runs already in the outputs folder")
    ap.add_argument("--no-report", action="store_true", help="skip the HTML report of each run")
    ap.add_argument("--outputs", default=None, help="outputs folder (default: <project>/outputs)")
    args = ap.parse_args(argv)
    setup_logging()
    names = [s.strip() for s in args.only.split(",")] if args.only else list(BENCHMARK_PARAMS)
    outputs = Path(args.outputs) if args.outputs else project_root() / "outputs"
    status = {} if args.no_run else run_benchmarks(names, outputs, render=not args.no_report)
    summary = build_summary(load_metrics(outputs, names), status)
    md = write_summary(summary, outputs / "benchmarks")
    print(md.read_text())
    print(f"summary written to {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
