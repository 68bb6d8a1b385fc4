"""CLV: calibration data by hand, lifetimes under our pandas, the CDNOW literature values, the holdout check."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.validate import validate_shop
from workbench.errors import ConfigError, NotFittedError
from workbench.segment import clv


def _tx(rows):
    df = pd.DataFrame(rows, columns=[contract.CUSTOMER_ID, contract.TIMESTAMP, contract.QUANTITY, contract.UNIT_PRICE])
    df[contract.TIMESTAMP] = pd.to_datetime(df[contract.TIMESTAMP])
    df[contract.TRANSACTION_ID] = [f"T{i}" for i in range(len(df))]
    df[contract.PRODUCT_ID] = "P1"
    return df


@pytest.fixture
def tiny():
    return _tx([
        ("A", "2024-01-01 09:00", 1, 10.0),   # A born 01-01 (two lines that day)
        ("A", "2024-01-01 18:00", 1, 5.0),
        ("A", "2024-01-08 10:00", 2, 10.0),   # repeat day 1: 20
        ("A", "2024-01-15 10:00", 1, 30.0),   # repeat day 2: 30 + 10
        ("A", "2024-01-15 11:00", 1, 10.0),
        ("A", "2024-01-20 10:00", -1, 30.0),  # a return: not a purchase
        ("B", "2024-01-22 10:00", 1, 7.0),    # B: one purchase, on the last calibration day
        ("A", "2024-02-05 10:00", 1, 10.0),   # holdout
        ("A", "2024-02-05 12:00", 1, 10.0),   # same holdout day
        ("C", "2024-02-06 10:00", 1, 10.0),   # C born in the holdout: not in the calibration
    ])


def test_calibration_summary_by_hand(tiny):
    s = clv.calibration_summary(tiny, "2024-01-22", time_unit_days=7)
    assert list(s.index) == ["A", "B"]
    a, b = s.loc["A"], s.loc["B"]
    assert a[clv.X] == 2 and a[clv.T_X] == pytest.approx(2.0) and a[clv.T_AGE] == pytest.approx(3.0)
    assert a[clv.MONEY] == pytest.approx((20 + 40) / 2)        # mean of the repeat days, first day left out
    assert (b[clv.X], b[clv.T_X], b[clv.T_AGE], b[clv.MONEY]) == (0, 0.0, 0.0, 0.0)
    days = clv.calibration_summary(tiny, "2024-01-22", time_unit_days=1)
    assert days.loc["A", clv.T_AGE] == 21 and days.loc["A", clv.T_X] == 14
    # birth at sign-up: purchases on the sign-up day are the first purchase, earlier ones are ignored
    customers = pd.DataFrame({contract.CUSTOMER_ID: ["A", "B", "D"],
                              contract.SIGNUP_DATE: pd.to_datetime(["2024-01-08", "2024-01-01", "2024-01-10"])})
    s2 = clv.calibration_summary(tiny, "2024-01-22", 7, birth="signup", customers=customers)
    assert list(s2.index) == ["A", "B", "D"]
    assert s2.loc["A", clv.X] == 1 and s2.loc["A", clv.T_AGE] == pytest.approx(2.0)
    assert s2.loc["B", clv.X] == 1 and s2.loc["B", clv.T_X] == pytest.approx(3.0)
    assert s2.loc["D", clv.X] == 0                                # signed up, never bought
    with pytest.raises(ConfigError, match="birth"):
        clv.calibration_summary(tiny, "2024-01-22", birth="first_visit")
    with pytest.raises(ConfigError, match="customers table"):
        clv.calibration_summary(tiny, "2024-01-22", birth="signup")


def test_holdout_purchases_and_dates(tiny):
    idx = pd.Index(["A", "B"], name=contract.CUSTOMER_ID)
    h = clv.holdout_purchases(tiny, "2024-01-22", "2024-02-29", idx)
    assert h.to_dict() == {"A": 1, "B": 0}                      # one distinct day; C is not in the index
    c_end, h_end = clv.clv_dates(pd.Timestamp("2024-03-01"), 7, holdout_units=4)
    assert (c_end, h_end) == (pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-29"))
    assert clv.clv_dates(pd.Timestamp("2024-03-01"))[0] == pd.Timestamp("2024-02-29")
    with pytest.raises(ConfigError, match="after the holdout end"):
        clv.clv_dates(pd.Timestamp("2024-03-01"), calibration_end="2024-06-01")


def _simulated(n=3000, params=(0.5, 4.0, 1.2, 3.0), seed=3):
    """BG/NBD customers simulated in numpy (weeks): (frequency, recency, T)."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(20, 52, n)
    x = np.zeros(n, dtype=int)
    tx = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    for _ in range(200):  # purchase rounds, vectorised over customers
        t = t + rng.exponential(1 / lam)
        buy = alive & (t <= T)
        x[buy] += 1
        tx[buy] = t[buy]
        alive = buy & (rng.random(n) >= p)
    return pd.DataFrame({clv.X: x, clv.T_X: tx, clv.T_AGE: T, clv.MONEY: 0.0})


def test_bgnbd_recovers_simulated_parameters_under_our_pandas():
    s = _simulated()
    m = clv.CLVModel().fit(s)
    got = m.params_
    assert got["r"] == pytest.approx(0.5, rel=0.15) and got["alpha"] == pytest.approx(4.0, rel=0.25)
    assert got["a"] / (got["a"] + got["b"]) == pytest.approx(1.2 / 4.2, rel=0.3)
    assert m.ggf_ is None and "p" not in got                   # no spend: no Gamma-Gamma
    e = m.expected_purchases(s, 10)
    assert e.shape == (len(s),) and np.isfinite(e).all() and (e >= 0).all()
    assert (m.p_alive(s) <= 1 + 1e-9).all()
    assert m.expected_purchases(s, 20).mean() > e.mean()
    with pytest.raises(NotFittedError):
        clv.CLVModel().expected_purchases(s, 1)


def test_no_dropout_limit_and_discounting():
    s = _simulated(n=800, params=(0.8, 5.0, 1.0, 2.0))
    m = clv.CLVModel().fit(s)
    s = s.assign(**{clv.MONEY: np.where(s[clv.X] > 0, 20.0, 0.0)})
    m.ggf_ = None
    m.mean_spend_ = 20.0
    undiscounted = m.clv(s, 8)
    assert np.allclose(undiscounted, m.expected_purchases(s, 8) * 20.0)
    assert (m.clv(s, 8, discount_rate=0.05) < undiscounted + 1e-12).all()
    m.no_dropout_ = True                                        # the NBD limit, by hand
    x, T = s[clv.X].to_numpy(), s[clv.T_AGE].to_numpy()
    assert np.allclose(m.expected_purchases(s, 8), (m.params_["r"] + x) * 8 / (m.params_["alpha"] + T))
    assert (m.p_alive(s) == 1).all()


def test_customer_clv_on_the_synthetic_shop(small_shop):
    from workbench.segment import rfm

    shop, _ = validate_shop(small_shop)
    date = rfm.default_analysis_date(shop.transactions)
    res = clv.customer_clv(shop.transactions, shop.customers, date, horizon=26, holdout_units=13)
    assert set(res.metrics) >= {"r", "alpha", "a", "b", "p", "q", "v", "holdout", "clv_total"}
    assert res.holdout["horizon"] == 13 and res.holdout["actual"] > 0
    assert res.holdout["predicted"] == pytest.approx(res.holdout["actual"], rel=0.5)
    buyers = shop.transactions.loc[shop.transactions[contract.QUANTITY] > 0, contract.CUSTOMER_ID].nunique()
    assert len(res.predictions) == buyers
    assert np.isfinite(res.predictions[clv.CLV]).all() and (res.predictions[clv.CLV] >= 0).all()
    # frequent planted buyers are worth more than one-time buyers
    truth = small_shop.truth["segments"].set_index(contract.CUSTOMER_ID)["segment"].astype(str)
    seg = truth.reindex(res.predictions.index)
    assert res.predictions.loc[seg == "frequent", clv.CLV].mean() > 2 * res.predictions.loc[seg == "one_time", clv.CLV].mean()
    table = res.predictions.assign(segment=seg.to_numpy())
    by = clv.clv_by_segment(table)
    assert by["clv_share"].sum() == pytest.approx(1.0) and by["customers"].sum() == len(table)


def test_cdnow_literature_parameters(datasets):
    """Fader, Hardie & Lee (2005): r=0.2426, alpha=4.4135, a=0.7929, b=2.4258 on CDNOW_sample.txt, weeks."""
    from workbench.data.adapters import cdnow

    if not (datasets / cdnow.FOLDER / cdnow.FILES["sample"]).exists():
        pytest.skip("CDNOW_sample.txt not found")
    shop, report = validate_shop(cdnow.load(file="sample"))
    assert len(shop.customers) == 2357
    # validation quarantines 8 $0 first purchases; their customers' sign-up day is that first purchase
    res = clv.customer_clv(shop.transactions, shop.customers, pd.Timestamp("1998-07-01"), time_unit_days=7,
                           horizon=39, calibration_end="1997-09-30", birth="signup")
    p = res.metrics
    assert p["customers_fitted"] == 2357 and p["repeat_purchases_calibration"] == 2457
    for k, v in {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}.items():
        assert p[k] == pytest.approx(v, abs=5e-4), k
    # Gamma-Gamma on the repeat buyers' mean spend (Fader & Hardie's spend note: p=6.25, q=3.74, gamma=15.44)
    for k, v in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert p[k] == pytest.approx(v, abs=0.01), k
    h = res.holdout
    assert h["horizon"] == 39 and h["actual"] == 1882        # repeat purchase days, 1997-10-01 .. 1998-06-30
    assert h["predicted"] == pytest.approx(1653.4, abs=1.0)
    by = res.holdout_by_frequency.set_index("frequency")
    assert by.loc["0", "customers"] == 1411 and by.loc["0", "predicted"] == pytest.approx(by.loc["0", "actual"], abs=0.02)


def test_bgnbd_linear_form_equals_lifetimes_and_covers_a_plus_b_below_one():
    """The linear-space BG/NBD expectation equals lifetimes' (a second implementation) where lifetimes is finite,
    and stays finite and non-negative where lifetimes' log-space form fails (a + b < 1, x = 0)."""
    from lifetimes import BetaGeoFitter

    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, 300).astype(float)
    T = rng.uniform(5, 60, 300)
    tx = np.where(x > 0, rng.uniform(0, 1, 300) * T, 0.0)
    for params in ({"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258},
                   {"r": 0.354, "alpha": 3.229, "a": 0.0958, "b": 0.679}):
        ref = BetaGeoFitter()
        ref.params_ = pd.Series(params)
        theirs = np.asarray(ref.conditional_expected_number_of_purchases_up_to_time(13, x, tx, T), dtype=float)
        ours = clv._bgnbd_expected(params, 13, x, tx, T)
        ok = np.isfinite(theirs)
        np.testing.assert_allclose(ours[ok], theirs[ok], rtol=1e-9)
        assert np.isfinite(ours).all() and (ours >= 0).all()
    assert not ok.all()  # the second parameter set is one where lifetimes gives NaN


def test_auto_holdout_is_a_quarter_of_the_history_and_written_down(small_shop):
    from workbench.segment import rfm

    shop, _ = validate_shop(small_shop)  # 52 weeks of sales
    date = rfm.default_analysis_date(shop.transactions)
    first = shop.transactions[contract.TIMESTAMP].min().normalize()
    weeks = ((date - pd.Timedelta(days=1)) - first).days / 7
    assert clv.auto_holdout_units(shop.transactions, date) == round(weeks / 4) == 13
    res = clv.customer_clv(shop.transactions, shop.customers, date, horizon=26, holdout_units="auto")
    assert res.metrics["holdout_units_derived"] == {"value": 13, "rule": "0.25 of the purchase history"}
    assert res.holdout["calibration_end"] == str((date - pd.Timedelta(days=1 + 13 * 7)).date())
    with pytest.raises(ConfigError, match="holdout_units"):
        clv.customer_clv(shop.transactions, shop.customers, date, holdout_units="half")


def test_auto_holdout_steps_aside_when_too_little_is_left_before_it():
    # eight weeks whose repeat purchases all fall in the last two (the derived holdout): before it there is one
    # purchase day, too little to fit, so the model fits on everything and says why
    tx = _tx([("A", "2024-01-01", 1, 10.0), ("C", "2024-01-01", 1, 10.0), ("A", "2024-02-20", 1, 10.0),
              ("C", "2024-02-21", 1, 12.0), ("A", "2024-02-23", 1, 9.0)])
    date = pd.Timestamp("2024-02-26")
    assert clv.auto_holdout_units(tx, date) == 2
    res = clv.customer_clv(tx, None, date, holdout_units="auto")
    derived = res.metrics["holdout_units_derived"]
    assert derived["value"] == 0 and "purchase" in derived["why"] and res.holdout is None
    assert res.metrics["calibration_end"] == "2024-02-25"
