"""A real PostgreSQL server for the database tests.

``scripts/setup-postgres.sh`` installs Debian's postgresql where it is missing and starts the cluster
where it is down (``make test`` runs it before the suite; the fixture runs it again, which returns at once).
Each session works in a database of its own, dropped at the end. A cluster the set-up started is stopped
when the session ends; a server that was already running is left alone. Under CI (``CI`` set) a missing
server fails the tests; elsewhere they skip with the reason.
"""
from __future__ import annotations

import os
import subprocess
import uuid
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "setup-postgres.sh"
MARKER = Path(os.environ.get("WB_PG_MARKER", Path(os.environ.get("TMPDIR", "/tmp")) / "workbench-postgres.started"))
#: the server the tests use; set WORKBENCH_PG_URL to use another (a role allowed to create databases)
URL = os.environ.get("WORKBENCH_PG_URL", "postgresql://{u}:{p}@127.0.0.1:{port}/{db}".format(
    u=os.environ.get("WB_PG_USER", "wb"), p=os.environ.get("WB_PG_PASSWORD", "wb"),
    port=os.environ.get("WB_PG_PORT", "5432"), db=os.environ.get("WB_PG_DB", "wbtest")))


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"no PostgreSQL server: {reason}")


def _stop_started_cluster() -> None:
    """Stop the cluster only when the set-up started it (its marker file says which)."""
    if not MARKER.exists():
        return
    version, cluster = MARKER.read_text().split()[:2]
    subprocess.run(["pg_ctlcluster", version, cluster, "stop"], check=False, timeout=120)
    MARKER.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def postgres_url():
    """A SQLAlchemy URL of a fresh, empty database on a running PostgreSQL server."""
    import sqlalchemy as sa

    own_server = "WORKBENCH_PG_URL" not in os.environ
    if own_server:
        res = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900)
        if res.returncode != 0:
            _unavailable(f"{SCRIPT.name} failed ({res.returncode}): {res.stdout[-500:]} {res.stderr[-1000:]}")
    admin = sa.create_engine(URL, isolation_level="AUTOCOMMIT")
    name = f"wb_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unavailable(f"cannot connect to {admin.url.render_as_string(hide_password=True)}: {exc}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        admin.dispose()  # a pooled connection may be stale if the server restarted meanwhile
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        except sa.exc.OperationalError as exc:  # the server is gone, and the throwaway database with it
            warnings.warn(f"could not drop the test database {name}: {exc}", stacklevel=1)
        admin.dispose()
        if own_server:
            _stop_started_cluster()
