"""RFM, clustering features and CLV on a shop without money (a clickstream's purchase events)."""
import pandas as pd
import pytest

from workbench.config import load_params
from workbench.data.load import load_shop
from workbench.data.shop import transaction_lines
from workbench.errors import StageSkipped
from workbench.segment import clv, rfm
from workbench.segment.features import cluster_features
from workbench.segment.table import segmentation_metrics

SIZE = {"data": {"synthetic": {"n_customers": 300, "n_products": 120}}}


@pytest.fixture(scope="module")
def shops():
    """The same synthetic shop with money (default) and as a clickstream (no transactions, no prices)."""
    full, _ = load_shop(load_params("default", SIZE))
    click, _ = load_shop(load_params("clickstream", SIZE))
    return full, click


def test_recency_frequency_and_segments_match_the_shop_with_money(shops):
    full, click = shops
    with_money = rfm.build_rfm(full.transactions, full.customers)
    without = rfm.build_rfm(transaction_lines(click), click.customers)
    assert rfm.monetary_skip_reason(with_money) is None
    assert "price" in rfm.monetary_skip_reason(without)
    # every sale line is a purchase event at the invoice's time: same recency, frequency, R/F scores, segments
    cols = [rfm.RECENCY, rfm.FREQUENCY, rfm.R_SCORE, rfm.F_SCORE, rfm.SEGMENT]
    pd.testing.assert_frame_equal(without[cols], with_money[cols])
    buyers = without[rfm.FREQUENCY] > 0
    assert buyers.sum() >= 5
    assert without[rfm.MONETARY].isna().all() and without[rfm.M_SCORE].isna().all()
    expected = with_money.loc[buyers, rfm.RFM_SCORE].str[:2] + "-"
    pd.testing.assert_series_equal(without.loc[buyers, rfm.RFM_SCORE], expected)
    assert "monetary_outlier" not in without


def test_clustering_features_leave_out_money_and_clv_skips(shops):
    _, click = shops
    lines = transaction_lines(click)
    table = rfm.build_rfm(lines, click.customers)
    features = cluster_features(table, ["basket_value", "tenure"], lines, click.products)
    assert list(features.columns) == [rfm.RECENCY, rfm.FREQUENCY, "tenure"]
    assert features.notna().all().all()
    with pytest.raises(StageSkipped) as info:
        clv.customer_clv(lines, click.customers, table.attrs["analysis_date"])
    assert info.value.stage == "segmentation.clv" and "price" in info.value.reason


def test_default_analysis_date_of_no_lines_says_what_to_pass():
    empty = pd.DataFrame({"timestamp": pd.Series([], dtype="datetime64[ns]")})
    with pytest.raises(ValueError, match="purchase lines"):
        rfm.default_analysis_date(empty)


def test_views_only_skips_rfm_with_its_reason(shops):
    """A product-view log (no purchase event, no transactions): RFM has nothing to measure and says so,
    instead of failing to find an analysis date."""
    _, click = shops
    views = click.events[click.events["event"].astype("str") == "view"]
    lines = transaction_lines(click.replace(events=views))
    assert len(views) > 0 and len(lines) == 0
    with pytest.raises(StageSkipped) as caught:
        rfm.build_rfm(lines, click.customers)
    assert caught.value.stage == "segmentation"
    assert "no purchase" in caught.value.reason and "recommenders" in caught.value.reason
