"""RFM: hand-computed metrics, scores, the segment map, and the published Online Retail segment counts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.validate import validate_shop
from workbench.errors import ConfigError
from workbench.segment import rfm


def _tx(rows):
    """Transactions from (invoice, customer, timestamp, quantity, unit_price) tuples."""
    df = pd.DataFrame(rows, columns=[contract.TRANSACTION_ID, contract.CUSTOMER_ID, contract.TIMESTAMP, contract.QUANTITY, contract.UNIT_PRICE])
    df[contract.TIMESTAMP] = pd.to_datetime(df[contract.TIMESTAMP])
    df[contract.PRODUCT_ID] = "P1"
    return df


@pytest.fixture
def tiny():
    tx = _tx([
        ("T1", "A", "2024-01-01 10:00", 2, 5.0),    # A: two invoices, three lines, one return
        ("T1", "A", "2024-01-01 10:00", 1, 10.0),
        ("T2", "A", "2024-01-08 23:00", 1, 4.0),
        ("R1", "A", "2024-01-09 09:00", -1, 10.0),  # return-only invoice: not a purchase
        ("T3", "B", "2024-01-05 12:00", 3, 2.0),    # B: one purchase
        ("R2", "D", "2024-01-06 12:00", -2, 3.0),   # D: only a return (net < 0, no purchase)
        ("T9", "B", "2024-02-01 12:00", 1, 1.0),    # after the analysis date: ignored
    ])
    customers = pd.DataFrame({contract.CUSTOMER_ID: ["A", "B", "C", "D"]})  # C never bought
    return tx, customers


def test_rfm_table_hand_computed(tiny):
    tx, customers = tiny
    t = rfm.rfm_table(tx, customers, "2024-01-10").set_index(contract.CUSTOMER_ID)
    assert list(t.index) == ["A", "B", "C", "D"]
    assert t.loc["A", rfm.FREQUENCY] == 2                     # invoices, not lines; return invoice not counted
    assert t.loc["A", rfm.MONETARY] == pytest.approx(10 + 10 + 4 - 10)  # net of the return
    assert t.loc["A", rfm.RECENCY] == 1                       # 2024-01-08 23:00 -> 01-10: 1 day 1 hour = 1 day
    assert t.loc["B", rfm.RECENCY] == 4 and t.loc["B", rfm.FREQUENCY] == 1
    assert t.loc["B", rfm.MONETARY] == pytest.approx(6.0)     # the February line is after the analysis date
    assert t.loc["C", rfm.FREQUENCY] == 0 and pd.isna(t.loc["C", rfm.RECENCY]) and t.loc["C", rfm.MONETARY] == 0
    assert t.loc["D", rfm.FREQUENCY] == 0 and t.loc["D", rfm.MONETARY] == pytest.approx(-6.0)
    assert t.loc["A", rfm.FIRST_PURCHASE] == pd.Timestamp("2024-01-01 10:00")


def test_an_invoice_shared_by_two_customers_counts_for_both():
    tx = _tx([("T1", "A", "2024-01-01", 1, 1.0), ("T1", "B", "2024-01-01", 1, 1.0), ("T2", "A", "2024-01-02", 1, 1.0),
              ("T2", "A", "2024-01-02", 2, 1.0)])
    t = rfm.rfm_table(tx).set_index(contract.CUSTOMER_ID)
    assert t[rfm.FREQUENCY].to_dict() == {"A": 2, "B": 1}
    assert rfm.rfm_table(tx[tx[contract.CUSTOMER_ID] == "A"])[rfm.FREQUENCY].tolist() == [2]


def test_default_analysis_date_is_the_day_after_the_last_transaction(tiny):
    tx, _ = tiny
    assert rfm.default_analysis_date(tx) == pd.Timestamp("2024-02-02")
    t = rfm.rfm_table(tx)
    assert t.attrs["analysis_date"] == pd.Timestamp("2024-02-02")
    assert t.set_index(contract.CUSTOMER_ID).loc["B", rfm.RECENCY] == 0   # bought on the last day


def test_frequency_ties_do_not_collapse_bins():
    f = pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 4, 5], name="frequency")
    s = rfm.quantile_scores(f, rank_first=True)
    assert s.value_counts().to_dict() == {1: 2, 2: 2, 3: 2, 4: 2, 5: 2}
    assert list(s[:6]) == [1, 1, 2, 2, 3, 3]                 # ties broken in order


def test_recency_reversed_and_value_ties_fall_back_to_rank():
    r = pd.Series([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], name="recency")
    assert list(rfm.quantile_scores(r, reverse=True)) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    tied = pd.Series([5.0] * 8 + [6.0, 7.0], name="monetary")   # value quintiles impossible
    s = rfm.quantile_scores(tied)
    assert sorted(s.value_counts().to_list()) == [2, 2, 2, 2, 2]
    with pytest.raises(ValueError, match="at least 5"):
        rfm.quantile_scores(pd.Series([1.0, 2.0]))


def test_default_map_covers_each_cell_exactly_once():
    cells = rfm.check_segment_map(rfm.DEFAULT_SEGMENT_MAP)
    assert sorted(cells) == rfm.rf_cells() and len(cells) == 25
    assert set(cells.values()) == set(rfm.DEFAULT_SEGMENT_MAP)
    expect = {"55": "champions", "54": "champions", "45": "loyal_customers", "34": "loyal_customers",
              "53": "potential_loyalists", "42": "potential_loyalists", "51": "new_customers", "41": "promising",
              "33": "need_attention", "32": "about_to_sleep", "31": "about_to_sleep", "24": "at_risk",
              "13": "at_risk", "15": "cant_lose", "25": "cant_lose", "11": "hibernating", "22": "hibernating"}
    assert {c: cells[c] for c in expect} == expect


def test_bad_maps_are_rejected_with_a_clear_error():
    incomplete = {k: v for k, v in rfm.DEFAULT_SEGMENT_MAP.items() if k != "need_attention"}
    with pytest.raises(ConfigError, match="matching no segment: 33"):
        rfm.check_segment_map(incomplete)
    overlapping = {**rfm.DEFAULT_SEGMENT_MAP, "everyone_recent": "5[1-5]"}
    with pytest.raises(ConfigError, match="several segments: 51 -> new_customers and everyone_recent"):
        rfm.check_segment_map(overlapping)
    with pytest.raises(ConfigError, match="not a valid regex"):
        rfm.check_segment_map({"x": "[1-"})
    custom = {"best": "[4-5][4-5]", "rest": "([1-3].|[4-5][1-3])"}  # a team's own map works
    assert set(rfm.check_segment_map(custom).values()) == {"best", "rest"}


def test_build_rfm_segments_scores_and_outliers(small_shop):
    shop, _ = validate_shop(small_shop)
    t = rfm.build_rfm(shop.transactions, shop.customers)
    assert len(t) == len(shop.customers) and t[contract.CUSTOMER_ID].is_unique
    buyers = t[rfm.FREQUENCY] > 0
    assert t.loc[buyers, [rfm.R_SCORE, rfm.F_SCORE, rfm.M_SCORE]].notna().all().all()
    assert (t.loc[~buyers, rfm.SEGMENT] == rfm.NO_PURCHASE).all()
    assert t.loc[buyers, rfm.SEGMENT].isin(list(rfm.DEFAULT_SEGMENT_MAP)).all()
    assert (t.loc[buyers, rfm.RFM_SCORE] == t.loc[buyers, rfm.R_SCORE].astype(str) + t.loc[buyers, rfm.F_SCORE]
            .astype(str) + t.loc[buyers, rfm.M_SCORE].astype(str)).all()
    assert t.loc[buyers, rfm.F_SCORE].value_counts().nunique() <= 2   # rank-first bins are equal-sized (+-1)
    # higher R score = more recent
    assert t.loc[buyers].groupby(rfm.R_SCORE)[rfm.RECENCY].max().is_monotonic_decreasing
    # planted truth: frequent buyers score higher on F than one-time buyers; browsers never bought
    truth = small_shop.truth["segments"].set_index(contract.CUSTOMER_ID)["segment"].astype(str)
    seg = truth.reindex(t[contract.CUSTOMER_ID]).to_numpy()
    f = t[rfm.F_SCORE].astype("float64").to_numpy()
    assert np.nanmean(f[seg == "frequent"]) > np.nanmean(f[seg == "one_time"]) + 1.5
    assert (t.loc[seg == "browser", rfm.SEGMENT] == rfm.NO_PURCHASE).all()
    # IQR flags: hand check on monetary
    m = t.loc[buyers, rfm.MONETARY]
    q1, q3 = m.quantile([0.25, 0.75])
    assert t[f"{rfm.MONETARY}_outlier"].sum() == int(((m < q1 - 1.5 * (q3 - q1)) | (m > q3 + 1.5 * (q3 - q1))).sum())
    assert rfm.outlier_counts(t)[rfm.MONETARY] == t[f"{rfm.MONETARY}_outlier"].sum()


def test_segment_summary_adds_up(small_shop):
    shop, _ = validate_shop(small_shop)
    t = rfm.build_rfm(shop.transactions, shop.customers)
    s = rfm.segment_summary(t)
    assert s["count"].sum() == len(t)
    assert s["share"].sum() == pytest.approx(1.0) and s["revenue_share"].sum() == pytest.approx(1.0)
    assert list(s["segment"]) == [x for x in rfm.segment_order() if x in set(t[rfm.SEGMENT])]
    assert (s["action"] != "").all()
    counts = rfm.segment_counts(t)
    assert sum(counts.values()) == len(t)
    grid = rfm.rf_grid(t)
    assert grid.shape == (5, 5) and grid.fillna(0).to_numpy().sum() == (t[rfm.FREQUENCY] > 0).sum()


# ---- the published Online Retail counts ---------------------------------------------------------------

PUBLISHED = {"hibernating": 1071, "loyal_customers": 819, "champions": 633, "at_risk": 593,
             "potential_loyalists": 484, "about_to_sleep": 352, "need_attention": 187, "promising": 94,
             "cant_lose": 63, "new_customers": 42}


def test_online_retail_published_segment_counts(datasets):
    from workbench.data.adapters import online_retail

    if not (datasets / online_retail.FOLDER).exists():
        pytest.skip("online-retail data set not found")
    shop, _ = validate_shop(online_retail.load())  # ids present, price > 0 (validation); returns kept
    t = rfm.build_rfm(shop.transactions, shop.customers, "2011-12-11")
    counts = rfm.segment_counts(t)
    buyers = t[t[rfm.FREQUENCY] > 0]
    assert len(buyers) == 4338                       # = the usual cleaning's customers
    assert {k: v for k, v in counts.items() if k != rfm.NO_PURCHASE} == PUBLISHED
    assert counts[rfm.NO_PURCHASE] == 4372 - 4338     # customers with cancellations only
