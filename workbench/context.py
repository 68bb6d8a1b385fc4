"""What a notebook starts with: its params, its run folder, the recorder and the validated shop.

Every notebook's first code cell after ``parameters`` is ``ctx = start(params, run_dir, overrides)``.
Later notebooks get the data from the run's artifacts (written by notebook 00), never from another
notebook's variables; run on their own (in JupyterLab) they load and validate the data themselves.
"""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.config import CHECKED_PARAMS_ENV, load_params, project_root, stage
from workbench.data import contract
from workbench.data.load import fingerprint, load_shop
from workbench.data.shop import Shop
from workbench.data.validate import ValidationReport
from workbench.errors import StageSkipped
from workbench.report.record import RunRecorder
from workbench.stages import Limits, skip_record

log = logging.getLogger(__name__)

DATA_ARTIFACTS = "data"
TRUTH_ARTIFACTS = "truth"
#: the suspected bots validation moved to quarantine (``customer_id, rule, events``; shops with events)
BOTS_ARTIFACT = "bots"


@dataclass
class Context:
    """A notebook's session: params, run folder, recorder; loads the shop once per run."""

    params: dict
    run_dir: Path
    rec: RunRecorder
    _shop: Shop | None = field(default=None, repr=False)
    skips: dict = field(default_factory=dict)
    report: ValidationReport | None = field(default=None, repr=False)

    @property
    def seed(self) -> int:
        """The run's seed."""
        return int(self.params.get("seed", 42))

    def stage(self, name: str, defaults: dict | None = None) -> dict:
        """The params block of a stage merged over ``defaults``."""
        return stage(self.params, name, defaults)

    @property
    def limits(self) -> Limits:
        """The least data each stage needs (params ``limits:``)."""
        return Limits.from_params(self.params)

    def skip(self, stage: str, reason: str) -> dict:
        """Record that ``stage`` (a metrics key, dotted for a part) is skipped for ``reason``, say so, return the record."""
        record = skip_record(reason)
        self.rec.set_metric(stage, record)
        self.skips[stage] = reason
        log.warning("%s skipped: %s", stage, reason)
        show_skip(stage, reason)
        return record

    def skipped(self, stage: str) -> dict | None:
        """The ``{"skipped": reason}`` record of ``stage`` if it was skipped in this session, else ``None``."""
        return skip_record(self.skips[stage]) if stage in self.skips else None

    @contextmanager
    def skippable(self, stage: str):
        """Run a block that may raise :class:`StageSkipped`: record the skip under ``stage`` and go on.

        The rest of the block does not run; later code tests ``ctx.skipped(stage)`` or its own results.
        """
        try:
            yield self
        except StageSkipped as exc:
            self.skip(stage, exc.reason)

    def load_data(self) -> tuple[Shop, ValidationReport]:
        """Load and validate the data, write data artifacts, quarantine files and ``metrics.data``."""
        shop, report = load_shop(self.params)
        for name, df in shop.tables().items():
            self.rec.save_artifact(df, f"{DATA_ARTIFACTS}/{name}")
        for name, df in (shop.truth or {}).items():
            self.rec.save_artifact(df, f"{TRUTH_ARTIFACTS}/{name}")
        qdir = self.run_dir / "quarantine"
        qdir.mkdir(exist_ok=True)
        for name, q in report.quarantine.items():
            q.astype("str").to_csv(qdir / f"{name}.csv", index=False)
        self.rec.save_artifact(report.to_frame(), "validation_report.csv")
        if report.bots is not None:
            self.rec.save_artifact(report.bots, BOTS_ARTIFACT)
        tx = report.tables[contract.TRANSACTIONS]
        self.rec.log_metrics("data", {
            "source": self.params["data"]["source"],
            contract.CUSTOMERS: len(shop.customers),
            contract.PRODUCTS: len(shop.products),
            contract.TRANSACTIONS: len(shop.transactions),
            "rows_read": tx.rows_read,
            "rows_quarantined": tx.rows_quarantined,
            "quarantine_reasons": tx.reasons,
            "tables": {n: {"rows_read": t.rows_read, "rows_accepted": t.rows_accepted,
                           "rows_quarantined": t.rows_quarantined} for n, t in report.tables.items()},
            "fingerprint": fingerprint(shop),
        })
        (self.run_dir / "data_fingerprint.txt").write_text(fingerprint(shop) + "\n")
        self._shop, self.report = shop, report
        return shop, report

    def shop(self) -> Shop:
        """The validated shop of this run: from the run's data artifacts if present, else loaded now."""
        if self._shop is not None:
            return self._shop
        if self.rec.has_artifact(f"{DATA_ARTIFACTS}/{contract.TRANSACTIONS}"):
            tables = {n: self.rec.load_artifact(f"{DATA_ARTIFACTS}/{n}") for n in contract.ALL_TABLES
                      if self.rec.has_artifact(f"{DATA_ARTIFACTS}/{n}")}
            tdir = self.run_dir / "artifacts" / TRUTH_ARTIFACTS
            truth = {p.stem: pd.read_parquet(p) for p in sorted(tdir.glob("*.parquet"))} or None
            self._shop = Shop(**tables, truth=truth, name=self.params.get("name", "shop"))
        else:
            self.load_data()
        return self._shop

    @property
    def truth(self) -> dict | None:
        """The planted truth (synthetic data) or ``None`` (real data)."""
        return self.shop().truth


class _CurrentStderr(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is when a record comes (a kernel, a test's capture
    or a redirect may replace it after the handler is made, and close the one it replaced)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(level: int = logging.INFO) -> None:
    """Send the package's log records to stderr once (visible in notebooks and the terminal)."""
    logger = logging.getLogger("workbench")
    if not any(getattr(h, "_workbench", False) for h in logger.handlers):
        h = _CurrentStderr()
        h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        h._workbench = True  # type: ignore[attr-defined]
        logger.addHandler(h)
    logger.setLevel(level)


def show_skip(stage: str, reason: str) -> None:
    """Say in the notebook (as Markdown) or on stderr that ``stage`` is skipped and why."""
    text = f"**Skipped: `{stage}`.** {reason}. The run goes on without it; the report lists it."
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        print(text, file=sys.stderr)
        return
    if get_ipython() is None:
        print(text.replace("**", "").replace("`", ""), file=sys.stderr)
    else:
        display(Markdown("> " + text))


def _install_skip_handler(ctx: Context) -> None:
    """In a notebook kernel: a :class:`StageSkipped` that reaches the top of a cell records the skip,
    shows the reason instead of a traceback and ends the notebook (the runner goes on with the next)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        ctx.skip(value.stage, value.reason)
        stb = [f"{etype.__name__}: {value}"]
        shell._showtraceback(etype, value, stb)  # an error output naming the exception, for the runner
        return stb

    shell.set_custom_exc((StageSkipped,), handler)


def _checked_by_runner(params, overrides) -> bool:
    """Whether the runner checked these params' blocks before it started the kernel (it does once per run, so
    each notebook's kernel does not import every stage's reader again)."""
    import os

    checked = os.environ.get(CHECKED_PARAMS_ENV)
    return bool(checked) and not overrides and isinstance(params, (str, Path)) and str(params) == checked


def start(params: str | dict = "default", run_dir: str | Path | None = None,
          overrides: dict | list | None = None) -> Context:
    """Return the notebook's :class:`Context`.

    ``params`` is a params file (path or name in ``params/``); ``run_dir`` the run folder (the runner
    passes it; interactively it defaults to ``outputs/interactive-<name>``); ``overrides`` a dict or
    ``key=value`` list applied on top.
    """
    setup_logging()
    cfg = load_params(params, overrides)
    if run_dir is None:
        run_dir = project_root() / "outputs" / f"interactive-{cfg['name']}"
    ctx = Context(params=cfg, run_dir=Path(run_dir), rec=RunRecorder(run_dir))
    if not _checked_by_runner(params, overrides):
        from workbench import param_blocks  # the stages' readers: imported when a run starts, not by the CLI

        param_blocks.check(cfg)  # a misspelt key of any block fails here, before any work
    _install_skip_handler(ctx)
    log.info("run folder: %s", ctx.run_dir)
    return ctx
