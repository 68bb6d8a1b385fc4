"""Customer and product attributes as re-ranker features: codes learnt on training data, unseen values missing."""
import numpy as np
import pandas as pd

from workbench.recommend import side_features


def test_codes_are_learnt_on_training_customers_and_unseen_values_are_missing():
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "age": [30, None, 50], "gender": ["f", "m", None],
                              "signup_date": ["2024-01-01", "2024-01-11", "2024-01-31"]})
    segments = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["champions", "at_risk"], "cluster": [0, 1]})
    table = side_features.customer_table(customers, segments)
    assert table.loc["a", "signup_days"] == 30 and table.loc["c", "signup_days"] == 0  # days before the last signup
    assert pd.isna(table.loc["c", "segment"])  # not in the segments: missing, not "nan"
    products = pd.DataFrame({"product_id": [f"p{i}" for i in range(10)], "category": list("xxyyzzxxyy"),
                             "price": np.arange(1.0, 11.0)})
    prod = side_features.product_table(products, pd.Index(["p9", "p0", "nope"]))
    assert prod["category"].tolist()[:2] == ["y", "x"] and pd.isna(prod.loc["nope", "category"])
    assert prod.loc["p9", "price_tier"] == "4" and prod.loc["p0", "price_tier"] == "0"  # quintiles of 1..10
    enc = side_features.SideEncoder().fit(table.loc[["a", "b"]], prod)
    assert enc.categorical == ["customer_gender", "customer_segment", "customer_cluster", "product_category",
                               "product_price_tier"]
    new = pd.DataFrame({"gender": ["x"], "segment": ["champions"], "cluster": ["1"], "age": [41.0],
                        "signup_days": [3.0]}, index=["d"])
    C, P = enc.transform(new, prod)
    row = dict(zip(enc.customer_columns_, C[0]))
    assert np.isnan(row["gender"]) and row["segment"] == 1.0 and row["cluster"] == 1.0  # sorted vocabulary
    assert row["age"] == 41.0 and row["signup_days"] == 3.0
    assert np.isnan(P[2]).all() and P.shape == (3, 2)
