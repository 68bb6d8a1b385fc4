"""The demand model: LightGBM on the product x period table, demand never rising with own price.

:class:`DemandModel` follows scikit-learn's fit/predict shape (its parameters are constructor
arguments) and takes the demand table of :func:`workbench.pricing.table.build_demand_table` as ``X``.
Every feature that is a function of the product's own price (relative price, price / competitor
price, change from last period) carries a LightGBM ``monotone_constraints`` entry of -1, so predicted
demand never rises when the own price rises. :meth:`DemandModel.predict_at` answers "what if the price
were p". :func:`time_split` gives the time-based validation split and :func:`naive_forecasts` the
last-period and moving-average baselines.
"""
from __future__ import annotations

import logging

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from workbench.data import contract
from workbench.errors import NotFittedError
from workbench.evaluate.metrics import rmse
from workbench.pricing import table as pricing_table

log = logging.getLogger(__name__)

#: candidate features, in order; those absent from a table (no competitor price, no stock) are skipped
FEATURES = (pricing_table.REL_PRICE, pricing_table.PRICE_RATIO, pricing_table.PRICE_CHANGE, "log_ref_price", pricing_table.IN_STOCK, contract.CATEGORY,
            pricing_table.LAG_UNITS, pricing_table.MA_UNITS, pricing_table.POP_UNITS, pricing_table.CAT_LAG_UNITS, pricing_table.CAT_SEASON_UNITS, pricing_table.SEASON_SIN,
            pricing_table.SEASON_COS, pricing_table.SEASON_RATIO, pricing_table.BASE_UNITS, pricing_table.INTEREST)
OBJECTIVES = ("poisson", "tweedie", "log")


def time_split(table: pd.DataFrame, test_periods: int = 13) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train, test)``: the last ``test_periods`` periods are the test set, earlier ones train."""
    n = int(table[pricing_table.PERIOD_INDEX].max()) + 1
    if not 0 < test_periods < n:
        raise ValueError(f"test_periods={test_periods} must be between 1 and {n - 1} (the table has {n} periods)")
    cut = n - test_periods
    is_test = table[pricing_table.PERIOD_INDEX].to_numpy() >= cut
    return table.loc[~is_test], table.loc[is_test]


class DemandModel(BaseEstimator, RegressorMixin):
    """LightGBM regression of units per product and period with a monotone (non-increasing) own-price effect.

    ``objective``: ``poisson`` (default), ``tweedie`` or ``log`` (L2 on log1p units). ``monotone_price``
    switches the constraint off for comparison only. With ``offset`` (Poisson/Tweedie) the trees start from
    the table's seasonal-naive ``base_units`` (LightGBM ``init_score``) and learn multiplicative
    corrections, so trend and seasonal peaks beyond the training range are not flattened; it needs more
    than a year of history (off by default: on the real data sets, with one year or less per product, it
    made the forecasts worse).
    """

    def __init__(self, objective: str = "poisson", n_estimators: int = 200, learning_rate: float = 0.07,
                 num_leaves: int = 15, min_child_samples: int = 40, subsample: float = 0.8,
                 colsample_bytree: float = 0.9, reg_lambda: float = 1.0, monotone_price: bool = True,
                 offset: bool = False, random_state: int = 42, n_jobs: int = 1):
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.monotone_price = monotone_price
        self.offset = offset
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _design(self, X: pd.DataFrame, price=None) -> pd.DataFrame:
        df = X if price is None else X.assign(**pricing_table.price_features(X, price))
        out = pd.DataFrame(index=df.index)
        for f in self.features_:
            if f == "log_ref_price":
                out[f] = np.log(df[pricing_table.REF_PRICE].to_numpy(dtype=float))
            elif f == contract.CATEGORY:
                out[f] = pd.Categorical(df[contract.CATEGORY].astype("str"), categories=self.categories_)
            else:
                out[f] = df[f].to_numpy(dtype=float)
        return out

    def fit(self, X: pd.DataFrame, y=None) -> "DemandModel":
        """Fit on a demand table ``X`` (``y`` defaults to its ``units``); returns self."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective '{self.objective}' is unknown; choose one of {OBJECTIVES}")
        y = X[pricing_table.UNITS] if y is None else y
        y = np.asarray(y, dtype=float)
        self.features_ = [f for f in FEATURES if f == "log_ref_price" or f in X.columns]
        self.categories_ = sorted(X[contract.CATEGORY].astype("str").unique())
        mono = [-1 if (self.monotone_price and f in pricing_table.OWN_PRICE_FEATURES) else 0 for f in self.features_]
        obj = {"poisson": "poisson", "tweedie": "tweedie", "log": "regression"}[self.objective]
        self.model_ = lgb.LGBMRegressor(
            objective=obj, n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples, subsample=self.subsample,
            subsample_freq=1, colsample_bytree=self.colsample_bytree, reg_lambda=self.reg_lambda,
            monotone_constraints=mono, monotone_constraints_method="intermediate", random_state=self.random_state,
            n_jobs=self.n_jobs, deterministic=True, force_col_wise=True, verbose=-1)
        target = np.log1p(y) if self.objective == "log" else y
        self.use_offset_ = bool(self.offset and self.objective != "log" and pricing_table.BASE_UNITS in X)
        self.model_.fit(self._design(X), target, init_score=self._offset(X) if self.use_offset_ else None)
        self.monotone_constraints_ = dict(zip(self.features_, mono))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return expected units for every row of the demand table ``X`` at its own prices."""
        return self.predict_at(X, None)

    def predict_at(self, X: pd.DataFrame, price) -> np.ndarray:
        """Return expected units for every row of ``X`` had its price been ``price`` (array or scalar per row)."""
        if not hasattr(self, "model_"):
            raise NotFittedError("DemandModel is not fitted: call fit(table) first")
        if self.use_offset_:
            raw = self.model_.predict(self._design(X, price), raw_score=True)
            return np.exp(raw + self._offset(X))
        pred = self.model_.predict(self._design(X, price))
        return np.maximum(np.expm1(pred), 0.0) if self.objective == "log" else pred

    @staticmethod
    def _offset(X: pd.DataFrame) -> np.ndarray:
        return np.log(np.maximum(X[pricing_table.BASE_UNITS].to_numpy(dtype=float), 1e-3))

    def feature_importance(self) -> pd.DataFrame:
        """Return ``feature, gain, monotone``: the model's split gain per feature, largest first."""
        if not hasattr(self, "model_"):
            raise NotFittedError("DemandModel is not fitted: call fit(table) first")
        gain = self.model_.booster_.feature_importance(importance_type="gain")
        out = pd.DataFrame({"feature": self.features_, "gain": gain,
                            "monotone": [self.monotone_constraints_[f] for f in self.features_]})
        return out.sort_values(["gain", "feature"], ascending=[False, True], ignore_index=True)


def naive_forecasts(table: pd.DataFrame) -> pd.DataFrame:
    """Return the naive forecasts of every row: ``last_period`` (last period's units) and
    ``moving_average`` (mean of the previous periods in the table's window); missing history -> 0."""
    ma = table[pricing_table.MA_UNITS].fillna(0.0)
    return pd.DataFrame({"last_period": table[pricing_table.LAG_UNITS].fillna(ma).to_numpy(dtype=float),
                         "moving_average": ma.to_numpy(dtype=float)}, index=table.index)


def wape(actual, forecast) -> float:
    """Return the weighted absolute percentage error sum|actual - forecast| / sum(actual) (the MAPE that
    stays defined when many periods sell nothing)."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    total = a.sum()
    if total <= 0:
        raise ValueError("wape needs some positive actual units; the test periods sold nothing")
    return float(np.abs(a - f).sum() / total)


def forecast_errors(actual, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Return ``model, mape, rmse`` (mape = WAPE, see :func:`wape`) for each named forecast, in the given order."""
    rows = [{"model": k, "mape": wape(actual, f), "rmse": rmse(actual, f)} for k, f in forecasts.items()]
    return pd.DataFrame(rows)
