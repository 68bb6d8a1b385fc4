"""Customer lifetime value: BG/NBD (purchase frequency) and Gamma-Gamma (spend), via ``lifetimes``.

``lifetimes`` (0.11.3) is unmaintained, so it is pinned, touched only in this module and only given
numpy arrays; the rest of the code sees DataFrames and :class:`CLVModel`.

Calibration data follow Fader, Hardie & Lee (2005) and lifetimes' ``summary_data_from_transaction_data``:
purchase lines (quantity > 0) are aggregated per customer and *day*; a customer is born on the day of
the first purchase (or on the sign-up day with ``birth="signup"``); ``frequency`` x = repeat purchase
days after birth, ``recency`` t_x = time from birth to the last purchase day, ``T`` = time from birth to
the end of the calibration period (inclusive day), all in ``time_unit_days`` (7 = weeks);
``monetary_value`` = mean value of the repeat purchase days. On CDNOW_sample.txt this reproduces
r=0.2426, alpha=4.4135, a=0.7929, b=2.4258.
"""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import hyp2f1
from sklearn.base import BaseEstimator

from workbench.data import contract
from workbench.data.codes import factorize_ids
from workbench.errors import ConfigError, NotFittedError, StageSkipped
from workbench.stages import Limits, require

log = logging.getLogger(__name__)

X, T_X, T_AGE, MONEY = "frequency", "recency", "T", "monetary_value"
EXPECTED_PURCHASES, CLV, P_ALIVE, EXPECTED_SPEND = "expected_purchases", "clv", "p_alive", "expected_spend"
BIRTHS = ("first_purchase", "signup")
#: below this mean drop-out probability a / (a + b) the BG/NBD fit is treated as "nobody drops out"
NO_DROPOUT = 1e-6
#: ``holdout_units: auto`` holds out this share of the purchase history (a quarter: 26 of the synthetic shop's
#: 104 weeks, 13 of Online Retail's 53)
AUTO_HOLDOUT_SHARE = 0.25
#: BG/NBD optimizer tolerances tried in turn (lifetimes' default first)
TOLERANCES = (1e-7, 1e-5, 1e-4)

DEFAULTS: dict = {
    "enabled": True,              # false: no lifetime value (segmentation.clv is skipped)
    "time_unit_days": 7,          # weeks
    "horizon": 52,                # CLV / expected purchases over this many time units
    "calibration_end": None,      # last day of the fit; None = the day before the analysis date (all data)
    "holdout_end": None,          # last day of the holdout check; None = the last transaction day
    "holdout_units": "auto",      # with calibration_end None: hold out this many time units before the last day;
                                  # auto = a quarter of the purchase history (written into the metrics), 0/None = none
    "birth": "first_purchase",    # or "signup": the sign-up day counts as the first purchase
    "penalizer": 0.0,             # lifetimes' L2 penalty on the BG/NBD parameters
    "discount_rate": 0.0,         # per time unit
    "min_repeat_customers": 20,   # fewer repeat buyers with spend > 0: no Gamma-Gamma fit (mean spend used)
}


# ---- calibration data -----------------------------------------------------------------------------

def _purchase_days(transactions: pd.DataFrame, end: str | pd.Timestamp | None = None,
                   start: str | pd.Timestamp | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Return :func:`purchase_days`' table and each row's customer number (0, 1, ... in id order)."""
    qty = transactions[contract.QUANTITY].to_numpy(dtype="float64")
    day = transactions[contract.TIMESTAMP].dt.normalize()
    keep = qty > 0
    if end is not None:
        keep &= (day <= pd.Timestamp(end)).to_numpy()
    if start is not None:
        keep &= (day > pd.Timestamp(start)).to_numpy()
    # group on integer customer numbers (in id order): a groupby on millions of string ids is most of the cost
    codes, uniq = factorize_ids(transactions[contract.CUSTOMER_ID])  # shared with the other stages
    order = uniq.argsort()
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    keep &= codes >= 0
    df = pd.DataFrame({
        "_c": rank[codes[keep]],
        "day": day.to_numpy()[keep],
        "value": (qty * transactions[contract.UNIT_PRICE].to_numpy(dtype="float64"))[keep],
    })
    g = df.groupby(["_c", "day"], sort=True, as_index=False)["value"].sum()
    c = g["_c"].to_numpy()
    out = pd.DataFrame({contract.CUSTOMER_ID: uniq[order].take(c).astype("str"), "day": g["day"].to_numpy(),
                        "value": g["value"].to_numpy()})
    return out, c


def purchase_days(transactions: pd.DataFrame, end: str | pd.Timestamp | None = None,
                  start: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Return one row per customer and purchase day (``customer_id``, ``day``, ``value``) in (start, end], days inclusive."""
    return _purchase_days(transactions, end, start)[0]


def calibration_summary(transactions: pd.DataFrame, end: str | pd.Timestamp, time_unit_days: float = 7,
                        birth: str = "first_purchase", customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return per customer born by ``end`` (index customer_id): frequency, recency, T, monetary_value, birth."""
    if birth not in BIRTHS:
        raise ConfigError(f"segmentation.clv.birth='{birth}' is unknown; choose one of {BIRTHS}")
    end = pd.Timestamp(end).normalize()
    days, cust = _purchase_days(transactions, end)
    if birth == "first_purchase":
        # days are sorted by customer then day: each customer's first row is their birth; the repeat days are
        # grouped on integer positions (a string groupby over millions of days is most of this function's time)
        d = days["day"].to_numpy()
        first = np.r_[True, cust[1:] != cust[:-1]] if len(cust) else np.zeros(0, dtype=bool)
        born = pd.Series(d[first], index=pd.Index(days[contract.CUSTOMER_ID].to_numpy()[first], name=contract.CUSTOMER_ID))
        group = np.cumsum(first) - 1  # row -> its customer's position in born
        is_rep = d > born.to_numpy()[group]
        g = days.loc[is_rep].groupby(group[is_rep])
        n_rep = g.size()
        pos = n_rep.index.to_numpy()
        x = pd.Series(0, index=born.index, dtype="int64")
        x.iloc[pos] = n_rep.to_numpy()
        last = pd.Series(pd.NaT, index=born.index, dtype=born.dtype)
        last.iloc[pos] = g["day"].max().to_numpy()
        money = pd.Series(0.0, index=born.index)
        money.iloc[pos] = (g["value"].sum() / n_rep).to_numpy()
        return _summary_frame(born, x, last, money, end, time_unit_days)
    else:
        if customers is None:
            raise ConfigError("segmentation.clv.birth='signup' needs the customers table")
        born = customers.set_index(contract.CUSTOMER_ID)[contract.SIGNUP_DATE].dt.normalize()
        born = born[born <= end]
        early = days["day"].to_numpy() < born.reindex(days[contract.CUSTOMER_ID]).to_numpy()
        if early.any():
            log.warning("clv: %d purchase day(s) before the customer's sign-up are ignored", int(early.sum()))
    born = born.sort_index()
    b = born.reindex(days[contract.CUSTOMER_ID]).to_numpy()
    rep = days.loc[days["day"].to_numpy() > b]  # repeat purchase days (NaT birth compares False)
    g = rep.groupby(contract.CUSTOMER_ID)
    x = g.size().reindex(born.index, fill_value=0)
    last = g["day"].max().reindex(born.index)
    money = (g["value"].sum() / g.size()).reindex(born.index, fill_value=0.0)
    return _summary_frame(born, x, last, money, end, time_unit_days)


def _summary_frame(born: pd.Series, x: pd.Series, last: pd.Series, money: pd.Series, end: pd.Timestamp,
                   time_unit_days: float) -> pd.DataFrame:
    unit = pd.Timedelta(days=time_unit_days)
    out = pd.DataFrame({
        X: x.astype("int64"),
        T_X: ((last - born) / unit).fillna(0.0).astype("float64"),
        T_AGE: ((end - born) / unit).astype("float64"),
        MONEY: money.astype("float64"),
        "birth": born,
    })
    out.index.name = contract.CUSTOMER_ID
    return out


def holdout_purchases(transactions: pd.DataFrame, start: str | pd.Timestamp, end: str | pd.Timestamp,
                      index: pd.Index) -> pd.Series:
    """Return the number of purchase days in (start, end] for each customer of ``index`` (0 if none)."""
    days = purchase_days(transactions, end=end, start=start)
    return days.groupby(contract.CUSTOMER_ID).size().reindex(index, fill_value=0).astype("int64")


# ---- the model ------------------------------------------------------------------------------------

def _arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (summary[X].to_numpy(dtype="float64"), summary[T_X].to_numpy(dtype="float64"),
            summary[T_AGE].to_numpy(dtype="float64"))


def _lifetimes():
    """Return the ``lifetimes`` package, imported quietly (it sets a pandas option that pandas 3 deprecates)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes
        import lifetimes.utils
    return lifetimes


def _quiet_fit(fitter, *arrays: np.ndarray, **kwargs):
    """Return ``fitter.fit(*arrays)`` with lifetimes' print-out of failed optimisations and its warnings silenced."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", (FutureWarning, DeprecationWarning, RuntimeWarning))
        return fitter.fit(*arrays, **kwargs)


def _fit_loosening(make_fitter, *arrays: np.ndarray):
    """Return (fitted lifetimes model, tol) at the first of :data:`TOLERANCES` that converges, else (None, None).

    An optimum on the boundary of the parameter space (BG/NBD: nobody drops out; Gamma-Gamma: no spread of
    mean spend across customers) stops lifetimes' BFGS with a "precision loss": a looser tolerance accepts it.
    """
    convergence_error = _lifetimes().utils.ConvergenceError
    for tol in TOLERANCES:
        fitter = make_fitter()
        try:
            return _quiet_fit(fitter, *arrays, tol=tol), tol
        except convergence_error:
            log.warning("clv: %s did not converge at tol=%g (an optimum on a boundary stops the optimizer with a "
                        "precision loss)", type(fitter).__name__, tol)
    return None, None


def _bgnbd_expected(params: dict, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """BG/NBD expected purchases in the next ``t`` units given (x, t_x, T), in linear space (Fader, Hardie &
    Lee 2005, eq. 10): valid where 2F1 is negative (a + b + x - 1 < 0), which the log-space form is not."""
    r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    tail = 1 + (x > 0) * a / np.where(x > 0, b + x - 1, 1.0) * ((alpha + T) / (alpha + tx)) ** (r + x)
    return head * body / tail


class CLVModel(BaseEstimator):
    """BG/NBD + Gamma-Gamma on a calibration summary; ``params_`` holds r, alpha, a, b, p, q, v.

    ``penalizer`` is lifetimes' L2 penalty on the BG/NBD parameters; a fit that stops with a precision loss
    (typical when the optimum is on a boundary) is retried at looser tolerances (``tol_used_``, ``gg_tol_used_``).
    Gamma-Gamma is unpenalized and needs ``min_repeat_customers`` repeat buyers, else the mean spend is used.
    """

    def __init__(self, penalizer: float = 0.0, min_repeat_customers: int = 20):
        self.penalizer = penalizer
        self.min_repeat_customers = min_repeat_customers

    def fit(self, summary: pd.DataFrame, y=None) -> "CLVModel":
        """Fit BG/NBD on frequency/recency/T and Gamma-Gamma on repeat buyers' spend; return self."""
        lt = _lifetimes()
        BetaGeoFitter, GammaGammaFitter, ConvergenceError = lt.BetaGeoFitter, lt.GammaGammaFitter, lt.utils.ConvergenceError

        x, tx, T = _arrays(summary)
        if len(x) == 0:
            raise ValueError("no customers to fit BG/NBD on: check calibration_end and the data's dates")
        self.bgf_, self.tol_used_ = _fit_loosening(lambda: BetaGeoFitter(penalizer_coef=self.penalizer), x, tx, T)
        if self.bgf_ is None:
            raise ConvergenceError(f"BG/NBD did not converge even at tol={TOLERANCES[-1]}; set "
                                   "segmentation.clv.penalizer (e.g. 0.001) or check the calibration data")
        self.params_ = {k: float(v) for k, v in self.bgf_.params_.items()}
        # a / (a + b) is the mean drop-out probability; ~0 means the optimum is "nobody drops out", where
        # lifetimes' formulas overflow: use their limit, the NBD (gamma-Poisson) model
        self.no_dropout_ = self.params_["a"] / (self.params_["a"] + self.params_["b"]) < NO_DROPOUT
        if self.no_dropout_:
            log.warning("clv: BG/NBD fit says nobody drops out (a/(a+b) = %.2g); predictions use its NBD limit "
                        "(p_alive = 1)", self.params_["a"] / (self.params_["a"] + self.params_["b"]))
        m = summary[MONEY].to_numpy(dtype="float64")
        rep = (x > 0) & (m > 0)
        self.mean_spend_ = float(m[rep].mean()) if rep.any() else float("nan")
        self.ggf_, self.gg_tol_used_ = None, None
        self.freq_spend_corr_ = float(np.corrcoef(x[rep], m[rep])[0, 1]) if rep.sum() > 2 else float("nan")
        if rep.sum() >= self.min_repeat_customers:
            # unpenalized: an L2 penalty on p, q, v depends on the currency's scale
            self.ggf_, self.gg_tol_used_ = _fit_loosening(lambda: GammaGammaFitter(penalizer_coef=0.0), x[rep], m[rep])
            if self.ggf_ is None:
                log.warning("clv: Gamma-Gamma did not converge; the mean spend per purchase is used instead")
            else:
                self.params_.update({k: float(v) for k, v in self.ggf_.params_.items()})
        else:
            log.warning("clv: only %d repeat buyers with spend > 0 (< %d): no Gamma-Gamma fit, mean spend used",
                        int(rep.sum()), self.min_repeat_customers)
        log.info("clv: %s", ", ".join(f"{k}={v:.4f}" for k, v in self.params_.items()))
        return self

    def _check(self) -> None:
        if not hasattr(self, "bgf_"):
            raise NotFittedError("CLVModel is not fitted: call fit(calibration_summary(...)) first")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """Return each customer's expected number of purchases in the next ``t`` time units."""
        self._check()
        x, tx, T = _arrays(summary)
        if self.no_dropout_:
            return (self.params_["r"] + x) * t / (self.params_["alpha"] + T)
        out = np.asarray(self.bgf_.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T), dtype="float64")
        bad = ~np.isfinite(out)
        if bad.any():  # lifetimes works in log space, which fails where the hypergeometric term is negative
            out[bad] = _bgnbd_expected(self.params_, t, x[bad], tx[bad], T[bad])
            bad = ~np.isfinite(out)
        if bad.any():
            log.warning("clv: %d customer(s) get a non-finite BG/NBD expectation (left missing)", int(bad.sum()))
        return out

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """Return each customer's probability of still being active."""
        self._check()
        x, tx, T = _arrays(summary)
        if self.no_dropout_:
            return np.ones(len(x))
        return np.asarray(self.bgf_.conditional_probability_alive(x, tx, T), dtype="float64")

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        """Return each customer's expected value per purchase (Gamma-Gamma, or the mean spend without it)."""
        self._check()
        if self.ggf_ is None:
            return np.full(len(summary), self.mean_spend_)
        x = summary[X].to_numpy(dtype="float64")
        m = summary[MONEY].to_numpy(dtype="float64")
        m = np.where((x > 0) & (m > 0), m, 0.0)
        x = np.where(m > 0, x, 0.0)  # no usable spend: the population mean
        return np.asarray(self.ggf_.conditional_expected_average_profit(x, m), dtype="float64")

    def clv(self, summary: pd.DataFrame, horizon: float, discount_rate: float = 0.0) -> np.ndarray:
        """Return each customer's value over ``horizon`` time units: expected purchases x spend, discounted per unit."""
        spend = self.expected_spend(summary)
        if not discount_rate:
            return self.expected_purchases(summary, horizon) * spend
        steps = np.arange(1, int(np.ceil(horizon)) + 1, dtype="float64")
        steps[-1] = horizon
        total = np.zeros(len(summary))
        prev = np.zeros(len(summary))
        for s in steps:  # one vectorised call per time unit of the horizon
            cum = self.expected_purchases(summary, s)
            total += (cum - prev) / (1.0 + discount_rate) ** s
            prev = cum
        return total * spend

    def predict(self, summary: pd.DataFrame, horizon: float, discount_rate: float = 0.0) -> pd.DataFrame:
        """Return per customer (summary's index): expected_purchases, p_alive, expected_spend, clv."""
        return pd.DataFrame({
            EXPECTED_PURCHASES: self.expected_purchases(summary, horizon),
            P_ALIVE: self.p_alive(summary),
            EXPECTED_SPEND: self.expected_spend(summary),
            CLV: self.clv(summary, horizon, discount_rate),
        }, index=summary.index)


# ---- checks and summaries ---------------------------------------------------------------------------

def holdout_check(model: CLVModel, summary: pd.DataFrame, actual: pd.Series, horizon: float,
                  max_frequency: int = 7) -> tuple[dict, pd.DataFrame]:
    """Return totals (predicted vs actual repeat purchases in the holdout) and the table by calibration frequency."""
    pred = model.expected_purchases(summary, horizon)
    act = actual.reindex(summary.index, fill_value=0).to_numpy(dtype="float64")
    freq = np.minimum(summary[X].to_numpy(), max_frequency)
    by = pd.DataFrame({"frequency": freq, "actual": act, "predicted": pred}).groupby("frequency").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")).reset_index()
    by["frequency"] = by["frequency"].astype("str").where(by["frequency"] < max_frequency, f"{max_frequency}+")
    totals = {
        "horizon": float(horizon),
        "customers": int(len(summary)),
        "predicted": float(pred.sum()),
        "actual": float(act.sum()),
        "mae": float(np.abs(pred - act).mean()),
        "corr": float(np.corrcoef(pred, act)[0, 1]) if len(pred) > 2 and act.std() > 0 else float("nan"),
    }
    return totals, by


def clv_by_segment(table: pd.DataFrame, by: str = "segment") -> pd.DataFrame:
    """Return per segment: customers, mean and total expected purchases and CLV, share of total CLV (customers
    without a prediction left out)."""
    g = table[table[CLV].notna()].groupby(by, sort=False)
    out = pd.DataFrame({
        "customers": g.size(),
        "expected_purchases_mean": g[EXPECTED_PURCHASES].mean(),
        "clv_mean": g[CLV].mean(),
        "clv_total": g[CLV].sum(),
    })
    total = out["clv_total"].sum()
    out["clv_share"] = out["clv_total"] / total if total else np.nan
    return out.sort_values("clv_total", ascending=False).reset_index()


# ---- one call for the notebook --------------------------------------------------------------------------

@dataclass
class CLVResult:
    """What :func:`customer_clv` found: the model, per-customer predictions, the holdout check and metrics."""

    model: CLVModel
    calibration: pd.DataFrame
    predictions: pd.DataFrame
    holdout: dict | None
    holdout_by_frequency: pd.DataFrame | None
    metrics: dict


def clv_dates(analysis_date: pd.Timestamp, time_unit_days: float = 7, calibration_end=None, holdout_end=None,
              holdout_units: float | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return (calibration end, holdout end) as last included days; equal when there is no holdout."""
    last_day = pd.Timestamp(analysis_date).normalize() - pd.Timedelta(days=1)
    h_end = pd.Timestamp(holdout_end).normalize() if holdout_end is not None else last_day
    if calibration_end is not None:
        c_end = pd.Timestamp(calibration_end).normalize()
    elif holdout_units:
        c_end = h_end - pd.Timedelta(days=float(holdout_units) * time_unit_days)
    else:
        c_end = h_end
    if c_end > h_end:
        raise ConfigError(f"segmentation.clv.calibration_end {c_end.date()} is after the holdout end / last day "
                          f"{h_end.date()}; choose an earlier date")
    return c_end, h_end


def check_clv_data(transactions: pd.DataFrame, calibration: pd.DataFrame, calibration_end: pd.Timestamp,
                   limits: Limits | None = None, holdout: bool = False) -> None:
    """Raise :class:`~workbench.errors.StageSkipped` (``segmentation.clv``) unless the calibration period (up to
    ``calibration_end``; ``calibration`` is its :func:`calibration_summary`) has ``limits.clv_min_purchase_days``
    days with a purchase and ``limits.clv_min_repeat_buyers`` customers who bought again on a later day."""
    limits = limits or Limits()
    end = pd.Timestamp(calibration_end).normalize()
    day = transactions[contract.TIMESTAMP].dt.normalize()
    n_days = int(day[(transactions[contract.QUANTITY].to_numpy() > 0) & (day <= end).to_numpy()].nunique())
    where = (f"up to the calibration end {end.date()} (params segmentation.clv.calibration_end / holdout_units)"
             if holdout else f"up to {end.date()}")
    require(n_days >= limits.clv_min_purchase_days, "segmentation.clv",
            f"lifetime value (BG/NBD) needs purchases on at least {limits.clv_min_purchase_days} different days "
            f"{where} (params limits.clv_min_purchase_days); there are {n_days}")
    repeat = int((calibration[X] > 0).sum())
    require(repeat >= limits.clv_min_repeat_buyers, "segmentation.clv",
            f"lifetime value (BG/NBD) needs at least {limits.clv_min_repeat_buyers} customers who bought again "
            f"on a later day {where} (params limits.clv_min_repeat_buyers); there are {repeat} of "
            f"{len(calibration)} buyers")


def auto_holdout_units(transactions: pd.DataFrame, analysis_date: pd.Timestamp, time_unit_days: float = 7) -> int:
    """Return the holdout ``holdout_units: auto`` means: :data:`AUTO_HOLDOUT_SHARE` of the time from the first
    purchase to the day before ``analysis_date``, in whole time units."""
    ts = pd.to_datetime(transactions[contract.TIMESTAMP])
    first = (ts.dt.tz_convert(None) if ts.dt.tz is not None else ts).min()
    if pd.isna(first):
        return 0
    last_day = pd.Timestamp(analysis_date).normalize() - pd.Timedelta(days=1)
    return int(round(max((last_day - first.normalize()).days, 0) / float(time_unit_days) * AUTO_HOLDOUT_SHARE))


def customer_clv(transactions: pd.DataFrame, customers: pd.DataFrame | None, analysis_date: pd.Timestamp,
                 time_unit_days: float = 7, horizon: float = 52, calibration_end=None, holdout_end=None,
                 holdout_units: float | None = None, birth: str = "first_purchase", penalizer: float = 0.0,
                 discount_rate: float = 0.0, min_repeat_customers: int = 20,
                 limits: Limits | None = None) -> CLVResult:
    """Return the fitted CLV model, each customer's expected purchases and CLV over ``horizon`` from the analysis
    date, and, when the calibration ends before the last day, the holdout check (predicted vs actual purchases).

    Raises :class:`~workbench.errors.StageSkipped` (``segmentation.clv``) when the purchases carry no price, when
    the calibration period has
    fewer purchase days or repeat buyers than ``limits`` asks (BG/NBD learns from repeat purchases over
    time), or when BG/NBD does not converge.
    """
    require(bool(transactions[contract.UNIT_PRICE].notna().any()), "segmentation.clv",
            "lifetime value is future purchases times their spend (Gamma-Gamma) and this shop's purchases have no "
            "price (a clickstream's purchase events); the RFM segments from recency and frequency stand in for it")
    derived = None
    if holdout_units == "auto":
        holdout_units = auto_holdout_units(transactions, analysis_date, time_unit_days) if calibration_end is None else None
        derived = {"value": holdout_units, "rule": f"{AUTO_HOLDOUT_SHARE:g} of the purchase history"}
    elif isinstance(holdout_units, str):
        raise ConfigError(f"segmentation.clv.holdout_units must be a number of time units, auto or null, not "
                          f"{holdout_units!r}")
    c_end, h_end = clv_dates(analysis_date, time_unit_days, calibration_end, holdout_end, holdout_units)
    cal = calibration_summary(transactions, c_end, time_unit_days, birth, customers)
    if derived is not None and derived["value"] and c_end < h_end:
        try:
            check_clv_data(transactions, cal, c_end, limits, holdout=True)
        except StageSkipped as exc:  # too little before the derived holdout: fit on everything, say why
            derived.update(value=0, why=exc.reason)
            c_end, h_end = clv_dates(analysis_date, time_unit_days, calibration_end, holdout_end, None)
            cal = calibration_summary(transactions, c_end, time_unit_days, birth, customers)
    if derived is not None and calibration_end is None:
        log.info("clv: holdout_units not set: %s time units (%s)%s", derived["value"], derived["rule"],
                 f"; none, since {derived['why']}" if "why" in derived else "")
    check_clv_data(transactions, cal, c_end, limits, holdout=c_end < h_end)
    try:
        model = CLVModel(penalizer=penalizer, min_repeat_customers=min_repeat_customers).fit(cal)
    except _lifetimes().utils.ConvergenceError as exc:
        raise StageSkipped("segmentation.clv", f"{exc}") from exc
    holdout = by_freq = None
    if c_end < h_end:
        h = (h_end - c_end).days / time_unit_days
        actual = holdout_purchases(transactions, c_end, h_end, cal.index)
        holdout, by_freq = holdout_check(model, cal, actual, h)
        holdout.update({"calibration_end": str(c_end.date()), "holdout_end": str(h_end.date())})
    last_day = pd.Timestamp(analysis_date).normalize() - pd.Timedelta(days=1)
    full = cal if c_end == last_day else calibration_summary(transactions, last_day, time_unit_days, birth, customers)
    pred = model.predict(full, horizon, discount_rate)
    metrics = {
        **model.params_,
        "model": "bg_nbd+gamma_gamma",
        "time_unit_days": time_unit_days,
        "horizon": horizon,
        "calibration_end": str(c_end.date()),
        "birth": birth,
        "customers_fitted": int(len(cal)),
        "repeat_purchases_calibration": int(cal[X].sum()),
        "bgnbd_tol": f"{model.tol_used_:g}",
        "gamma_gamma_tol": None if model.gg_tol_used_ is None else f"{model.gg_tol_used_:g}",
        "no_dropout": bool(model.no_dropout_),
        "gamma_gamma": model.ggf_ is not None,
        "frequency_spend_corr": model.freq_spend_corr_,
        "expected_purchases_total": float(np.nansum(pred[EXPECTED_PURCHASES])),
        "clv_total": float(np.nansum(pred[CLV])),
    }
    if holdout is not None:
        metrics["holdout"] = holdout
    if derived is not None and calibration_end is None:
        metrics["holdout_units_derived"] = derived  # the value used when the params left it to the data
    return CLVResult(model, cal, pred, holdout, by_freq, metrics)
