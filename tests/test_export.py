"""Export of a real run's tables to SQLite: keys, indexes, run ids, replacement on re-export."""
import json
import shutil

import pandas as pd
import pytest
import sqlalchemy as sa

from workbench.errors import WorkbenchError
from workbench.export import RUN_ID, RUNS_TABLE, export_run


def test_sqlite_export_matches_artifacts_and_replaces_on_reexport(default_run, tmp_path, check_export):
    url = f"sqlite:///{tmp_path / 'serving.db'}"
    rid, read_back = check_export(default_run, url)
    man = json.loads((default_run / "manifest.json").read_text())
    engine = sa.create_engine(url)
    insp = sa.inspect(engine)
    assert insp.get_pk_constraint("recommendations")["constrained_columns"] == [RUN_ID, "customer_id", "rank"]
    assert insp.get_pk_constraint("customer_segments")["constrained_columns"] == [RUN_ID, "customer_id"]
    indexed = {tuple(i["column_names"]) for i in insp.get_indexes("recommendations")}
    assert {("customer_id",), ("product_id",)} <= indexed
    assert {("product_id",)} <= {tuple(i["column_names"]) for i in insp.get_indexes("pricing_suggestions")}
    runs = pd.read_sql_table(RUNS_TABLE, engine)
    engine.dispose()
    assert runs[RUN_ID].tolist() == [rid]
    assert runs["data_fingerprint"].tolist() == [man["data_fingerprint"]]

    # another run (same folder, other start time) sits beside the first; the first stays as it was
    other = tmp_path / "other"
    shutil.copytree(default_run, other)
    man["started"] = "2030-01-01T00:00:00+00:00"
    (other / "manifest.json").write_text(json.dumps(man))
    res = export_run(other, url, tables=["recommendations"])
    assert res.run_id != rid and list(res.rows) == ["recommendations"]
    assert len(read_back(url, "recommendations", rid)) == len(read_back(url, "recommendations", res.run_id)) > 0


def test_cli_export_default_sqlite_beside_run(default_run, tmp_path, capsys):
    from workbench.cli import main

    run_dir = tmp_path / "outputs" / "small"
    shutil.copytree(default_run, run_dir)
    assert main(["export", "--run", str(run_dir), "--tables", "pricing_suggestions"]) == 0
    assert "pricing_suggestions:" in capsys.readouterr().out
    db = tmp_path / "outputs" / "workbench.db"
    n = len(pd.read_parquet(run_dir / "artifacts" / "pricing_suggestions.parquet"))
    engine = sa.create_engine(f"sqlite:///{db}")
    assert pd.read_sql_table("pricing_suggestions", engine).shape[0] == n
    engine.dispose()


def test_missing_artifacts_are_skipped_with_a_reason(default_run, tmp_path):
    partial = tmp_path / "partial"
    (partial / "artifacts").mkdir(parents=True)
    shutil.copy(default_run / "artifacts" / "customer_segments.parquet", partial / "artifacts")
    res = export_run(partial, tmp_path / "x.db")
    assert list(res.rows) == ["customer_segments"]
    assert set(res.skipped) == {"recommendations", "pricing_suggestions", "item_similarity"}
    assert "recommendations.parquet" in res.skipped["recommendations"]
    empty = tmp_path / "empty"
    (empty / "artifacts").mkdir(parents=True)
    with pytest.raises(WorkbenchError, match="nothing to export"):
        export_run(empty, tmp_path / "y.db")
    with pytest.raises(WorkbenchError, match="not a run folder"):
        export_run(tmp_path / "nope", tmp_path / "y.db")
