"""Shared fixtures: a small synthetic shop, the shared data folder."""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent


#: session fixtures that run every notebook (minutes): a test that uses one is slow, marked or not
SLOW_FIXTURES = {"default_run", "default_rerun", "papermill_warnings", "docs_site"}


#: folders whose tests share what only one process may hold: the PostgreSQL cluster the session starts and stops
#: (with the default run the database tests export), the session's SparkSession, the pricing shops
SHARED_FOLDERS = {"db": "default-run", "spark": "spark", "pricing": "pricing"}
#: the test files whose tests use the default run (a test elsewhere that uses it stops the collection)
DEFAULT_RUN_FILES = ("tests/db/test_postgres.py", "tests/report/test_browser.py", "tests/test_docs_site.py",
                     "tests/test_export.py", "tests/test_notebooks.py", "tests/test_saved_models.py")


#: the scopes that take longest (each runs the workbench on whole shops), longest first, as measured on a 2-core
#: machine: handed out first, so the long ones do not start last and leave one process alone at the end
LONGEST_SCOPES = ("default-run", "tests/degenerate/test_degenerate_runs.py", "tests/test_clickstream_run.py",
                  "notebooks", "tests/fuzz/test_fuzz_runs.py", "tests/test_clickstream_notebook.py",
                  "tests/test_tracking.py", "tests/test_runner.py", "tests/evaluate/test_population_run.py",
                  "tests/test_runfolder.py")


def process_scope(nodeid: str) -> str:
    """Which tests run in one process, in order, when ``make test`` shares the suite between processes
    (pytest-xdist): the tests of the default run; each folder of :data:`SHARED_FOLDERS`; the committed notebooks'
    cells (nbval: each notebook reads what the earlier ones wrote); any other file's tests."""
    path = nodeid.split("::", 1)[0]
    if path in DEFAULT_RUN_FILES:
        return "default-run"
    if path.startswith("notebooks/"):
        return "notebooks"
    parts = path.split("/")
    if len(parts) > 2 and parts[0] == "tests" and parts[1] in SHARED_FOLDERS:
        return SHARED_FOLDERS[parts[1]]
    return path


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown without it
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist hands each worker whole :func:`process_scope` scopes, :data:`LONGEST_SCOPES` first."""
    from xdist.scheduler import LoadScopeScheduling

    def rank(scope: str) -> int:
        return LONGEST_SCOPES.index(scope) if scope in LONGEST_SCOPES else len(LONGEST_SCOPES)

    class ScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return process_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            self.workqueue.move_to_end(min(self.workqueue, key=rank), last=False)
            super()._assign_work_unit(node)

    return ScopeScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every test that needs a whole default run, so ``-m "not slow"`` leaves it out."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
            if item.nodeid.split("::", 1)[0] not in DEFAULT_RUN_FILES:
                raise pytest.UsageError(f"{item.nodeid} uses the default run: add its file to "
                                        f"tests/conftest.py:DEFAULT_RUN_FILES (its tests then share one process)")


@pytest.fixture(scope="session")
def small_shop():
    """A 300-customer synthetic shop (raw, not validated)."""
    from workbench.data.synthetic import generate_shop

    return generate_shop({"n_customers": 300, "n_products": 120, "n_weeks": 52, "seed": 7})


@pytest.fixture(scope="session")
def datasets():
    """The shared real data folder; tests that need it skip when it is absent."""
    from workbench.config import datasets_dir

    d = datasets_dir()
    if not d.is_dir():
        pytest.skip(f"real data sets not found at {d}")
    return d


_PAPERMILL_WARNINGS: list[str] = []


class _Collect(logging.Handler):
    def emit(self, record):
        _PAPERMILL_WARNINGS.append(f"{record.name}: {record.getMessage()}")


#: the test that compares a second default run with the first (its run starts beside the first one)
RERUN_TEST = "test_same_params_same_metrics_bytes"
_RERUN: dict = {}


def _start_rerun(folder: Path):
    """Start a second default run from the command line, in the background, one notebook at a time (the first
    runs two at a time, in another order: the pair checks that the order does not change a byte)."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    log = open(folder.parent / "again.log", "w+")
    cmd = [sys.executable, "-m", "workbench", "run", "--params", "default", "--out", str(folder), "--no-report",
           "--jobs", "1"]
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log


@pytest.fixture(scope="session")
def default_run(tmp_path_factory, request):
    """A real run of every notebook on the default params (papermill, report rendered), shared by the
    notebook and report tests; what papermill warned meanwhile is in ``papermill_warnings``.

    When the session holds the determinism test, a second default run goes on beside this one in another
    process (see :func:`default_rerun`): each run keeps about one core busy, so the pair costs little more
    than one."""
    from workbench.runner import run

    root = tmp_path_factory.mktemp("runs")
    out = root / "default"
    if any(item.name == RERUN_TEST for item in request.session.items):
        _RERUN["run"] = (root / "again", *_start_rerun(root / "again"))
    logger, handler = logging.getLogger("papermill"), _Collect(logging.WARNING)
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = run("default", out=out)
    finally:
        logger.removeHandler(handler)
    _PAPERMILL_WARNINGS.extend(f"{w.category.__name__}: {w.message}" for w in caught
                               if "papermill" in str(w.filename))
    return path


@pytest.fixture(scope="session")
def default_rerun(default_run) -> Path:
    """The second default run (same params and seed, another process), finished."""
    if "run" not in _RERUN:  # the determinism test was not collected when default_run started
        _RERUN["run"] = (default_run.parent / "again", *_start_rerun(default_run.parent / "again"))
    folder, proc, log = _RERUN["run"]
    code = proc.wait()
    log.seek(0)
    assert code == 0, f"the second default run failed (exit {code}): {log.read()[-3000:]}"
    log.close()
    return folder


@pytest.fixture(scope="session")
def papermill_warnings(default_run) -> list[str]:
    """papermill's log warnings and Python warnings during :func:`default_run`."""
    return list(_PAPERMILL_WARNINGS)


# ---- exported tables against the run's artifacts (SQLite and PostgreSQL tests) ---------------------------

def read_back(url: str, table: str, run_id: str) -> pd.DataFrame:
    """The rows of one run in an exported table."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(f"SELECT * FROM {table} WHERE run_id = :r"), conn, params={"r": run_id})
    finally:
        engine.dispose()


def same_rows(db: pd.DataFrame, artifact: pd.DataFrame, key: list[str]) -> None:
    """The table's rows of one run equal the artifact (values, not dtypes: SQL has its own types)."""
    got = db.drop(columns=["run_id"]).sort_values(key, ignore_index=True)
    want = artifact.sort_values(key, ignore_index=True)
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        if pd.api.types.is_datetime64_any_dtype(want[col]):
            pd.testing.assert_series_equal(pd.to_datetime(got[col]), want[col], check_dtype=False, check_names=False)
        elif pd.api.types.is_bool_dtype(want[col]):  # SQLite stores booleans as 0/1
            assert got[col].astype("bool").tolist() == want[col].tolist(), col
        elif pd.api.types.is_numeric_dtype(want[col]):
            pd.testing.assert_series_equal(got[col].astype("float64"), want[col].astype("float64"),
                                           check_names=False, rtol=0, atol=0)
        else:
            assert got[col].astype("str").tolist() == want[col].astype("str").tolist(), col


def _check_export(run_dir, url):
    """Export twice and check every table against its artifact; return the run id."""
    from workbench.export import TABLES, export_run

    first = export_run(run_dir, url)
    again = export_run(run_dir, url)
    assert first.run_id == again.run_id and first.rows == again.rows and not first.skipped
    for name, spec in TABLES.items():
        art = pd.read_parquet(run_dir / "artifacts" / f"{spec.artifact}.parquet")
        db = read_back(url, name, first.run_id)
        assert len(db) == len(art) == first.rows[name]  # replaced, not doubled
        same_rows(db, art, list(spec.key))
    recs = read_back(url, "recommendations", first.run_id)
    assert recs["confidence"].notna().all() and (recs["explanation"].str.len() > 0).all()
    return first.run_id, read_back


@pytest.fixture
def check_export():
    """``check(run_dir, url) -> (run_id, read_back)``: export twice, every table equals its artifact."""
    return _check_export


@pytest.fixture(scope="session")
def docs_site(default_run, tmp_path_factory) -> tuple[Path, str]:
    """The documentation site built strictly (``mkdocs build --strict``, as ``make docs``) with the gallery and
    results of :func:`default_run`; returns the site folder and the build's log."""
    import subprocess
    import sys

    site = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "WORKBENCH_DOCS_RUN": str(default_run),
           "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"the strict build failed: {done.stderr[-4000:]}"
    return site, done.stderr
