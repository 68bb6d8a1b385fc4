"""What a notebook starts with: its params, its run folder, the recorder and the validated shop.

Every notebook's first code cell after ``parameters`` is ``ctx = start(params, run_dir, overrides)``.
Later notebooks get the data from the run's artifacts (written by notebook 00), never from another
notebook's variables; run on their own (in JupyterLab) they load and validate the data themselves.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.config import load_params, project_root, stage
from workbench.data import contract as C
from workbench.data.load import fingerprint, load_shop
from workbench.data.shop import Shop
from workbench.data.validate import ValidationReport
from workbench.report.record import RunRecorder

log = logging.getLogger(__name__)

DATA_ARTIFACTS = "data"
TRUTH_ARTIFACTS = "truth"


@dataclass
class Context:
    """A notebook's session: params, run folder, recorder; loads the shop once per run."""

    params: dict
    run_dir: Path
    rec: RunRecorder
    _shop: Shop | None = field(default=None, repr=False)
    report: ValidationReport | None = field(default=None, repr=False)

    @property
    def seed(self) -> int:
        """The run's seed."""
        return int(self.params.get("seed", 42))

    def stage(self, name: str, defaults: dict | None = None) -> dict:
        """The params block of a stage merged over ``defaults``."""
        return stage(self.params, name, defaults)

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
        tx = report.tables[C.TRANSACTIONS]
        self.rec.log_metrics("data", {
            "source": self.params["data"]["source"],
            C.CUSTOMERS: len(shop.customers),
            C.PRODUCTS: len(shop.products),
            C.TRANSACTIONS: len(shop.transactions),
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
        if self.rec.has_artifact(f"{DATA_ARTIFACTS}/{C.TRANSACTIONS}"):
            tables = {n: self.rec.load_artifact(f"{DATA_ARTIFACTS}/{n}") for n in C.ALL_TABLES
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


def setup_logging(level: int = logging.INFO) -> None:
    """Send the package's log records to stderr once (visible in notebooks and the terminal)."""
    logger = logging.getLogger("workbench")
    if not any(getattr(h, "_workbench", False) for h in logger.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        h._workbench = True  # type: ignore[attr-defined]
        logger.addHandler(h)
    logger.setLevel(level)


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
    log.info("run folder: %s", ctx.run_dir)
    return ctx
