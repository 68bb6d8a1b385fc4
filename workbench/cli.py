"""Command line: ``python -m workbench run | validate | batch | bench | export``."""
from __future__ import annotations

import argparse
import logging
import sys

from workbench.errors import WorkbenchError
from workbench.runfolder import RunStopped


def _add_params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", default="default", help="params file: a path or a name in params/ (default: default)")
    p.add_argument("-p", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a param, e.g. -p data.synthetic.n_customers=5000 (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m workbench``."""
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute the notebooks into outputs/<params-name>/")
    _add_params(run)
    run.add_argument("--out", default=None, help="output folder (default outputs/<params name>)")
    run.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 00,01")
    run.add_argument("--no-report", action="store_true", help="skip the HTML report")
    run.add_argument("--jobs", type=int, default=None,
                     help="notebooks run at once, each once the notebooks it reads have ended (default: the "
                          "machine's cores, at most 2; 1 runs them one after another); the results are the same")

    val = sub.add_parser("validate", help="load and validate the data only, print the report")
    _add_params(val)
    val.add_argument("--quarantine", default=None, help="folder to write quarantined rows into (CSV per table)")
    val.add_argument("--no-suggest", action="store_true",
                     help="leave out the settings suggested from the shop's shape (basket support, CLV holdout, ...)")

    export = sub.add_parser("export", help="write a run's segments, recommendations, price suggestions and item "
                                           "similarities into SQL tables")
    export.add_argument("--run", required=True, help="the run folder, e.g. outputs/default")
    export.add_argument("--to", default=None, help="SQLAlchemy URL or SQLite file (default: workbench.db beside "
                                                   "the run folder, e.g. outputs/workbench.db)")
    export.add_argument("--tables", default=None, help="comma-separated subset of the tables (default: all)")

    batch = sub.add_parser("batch", help="run the batch stages without notebooks (see workbench/batch.py)")
    _add_params(batch)
    batch.add_argument("--engine", default="pandas", choices=["pandas", "spark"], help="pandas (default) or spark")
    batch.add_argument("--master", default=None,
                       help="Spark master URL (default local[*]; spark://host:7077, yarn ...); spark engine only")
    batch.add_argument("--out", default=None, help="output folder (default outputs/batch-<params name>-<engine>)")
    batch.add_argument("--only", default=None, help="comma-separated stages: data,rfm,kmeans,als,rules")

    bench = sub.add_parser("bench", help="benchmark the analytic batch (see workbench/bench.py)")
    bench.add_argument("--sizes", default="10000,100000,1000000", help="customer counts, comma-separated")
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--engine", default="pandas", choices=["pandas", "spark"],
                       help="spark adds the Spark engine's stage table beside pandas'")
    bench.add_argument("--out", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    from workbench.context import setup_logging

    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        if args.command == "run":
            from workbench.runner import run

            only = [s.strip() for s in args.only.split(",")] if args.only else None
            out = run(args.params, out=args.out, only=only, overrides=args.overrides, render=not args.no_report,
                      jobs=args.jobs)
            print(f"run written to {out}")
        elif args.command == "validate":
            from pathlib import Path

            from workbench.config import load_params
            from workbench.data.load import load_shop

            from workbench.suggest import suggest_settings, suggestions_yaml

            params = load_params(args.params, args.overrides)
            shop, report = load_shop(params)
            print(report)
            if not args.no_suggest:
                print()
                print(suggestions_yaml(suggest_settings(shop, params)))
            if args.quarantine:
                q = Path(args.quarantine)
                q.mkdir(parents=True, exist_ok=True)
                for name, df in report.quarantine.items():
                    df.astype("str").to_csv(q / f"{name}.csv", index=False)
                print(f"quarantined rows written to {q}")
        elif args.command == "export":
            from workbench.export import export_run

            tables = [t.strip() for t in args.tables.split(",")] if args.tables else None
            print(export_run(args.run, args.to, tables))
        elif args.command == "batch":
            from workbench.batch import run_batch

            if args.master and args.engine != "spark":
                raise WorkbenchError("--master is a Spark setting: add --engine spark")
            only = [s.strip() for s in args.only.split(",")] if args.only else None
            out = run_batch(args.params, engine=args.engine, out=args.out, master=args.master,
                            overrides=args.overrides, only=only)
            print(f"batch written to {out}")
        elif args.command == "bench":
            from workbench import bench

            sizes = [int(s) for s in args.sizes.replace(" ", ",").split(",") if s]
            bench.main(sizes=sizes, repeats=args.repeats, out=args.out, engine=args.engine)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, RunStopped) as exc:
        print(f"stopped ({type(exc).__name__}): the partial run is kept in <out>.failed/, the last complete run "
              "is untouched", file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 143
    return 0
