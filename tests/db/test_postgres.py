"""A real PostgreSQL: a shop loads from it through ``data.source: sql``, and a run exports into it."""
import pandas as pd
import sqlalchemy as sa

from workbench.config import load_params
from workbench.data.load import fingerprint, load_shop


def test_shop_loads_from_postgres_like_from_parquet(postgres_url, small_shop, tmp_path):
    engine = sa.create_engine(postgres_url)
    folder = tmp_path / "shop"
    folder.mkdir()
    with engine.begin() as conn:
        for name, df in small_shop.tables().items():
            df.to_sql(name, conn, index=False)
            df.to_parquet(folder / f"{name}.parquet", index=False)
    engine.dispose()
    from_pg, report = load_shop(load_params("default", ["data.source=sql", f"data.url={postgres_url}"]))
    from_parquet, _ = load_shop(load_params("default", ["data.source=parquet", f"data.path={folder}"]))
    assert len(from_pg.transactions) == len(small_shop.transactions) - report.tables["transactions"].rows_quarantined
    assert fingerprint(from_pg) == fingerprint(from_parquet)
    for name, df in from_parquet.tables().items():
        pd.testing.assert_frame_equal(from_pg.tables()[name].reset_index(drop=True), df.reset_index(drop=True),
                                      check_dtype=False, check_categorical=False)


def test_run_exports_into_postgres(postgres_url, default_run, check_export):
    rid, _ = check_export(default_run, postgres_url)
    engine = sa.create_engine(postgres_url)
    insp = sa.inspect(engine)
    assert insp.get_pk_constraint("recommendations")["constrained_columns"] == ["run_id", "customer_id", "rank"]
    assert {("customer_id",), ("product_id",)} <= {tuple(i["column_names"]) for i in insp.get_indexes("recommendations")}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(DISTINCT run_id) FROM customer_segments")).scalar() == 1
        assert conn.execute(sa.text("SELECT run_id FROM workbench_runs")).scalars().all() == [rid]
    engine.dispose()
