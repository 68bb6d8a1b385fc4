"""The one evaluation protocol of a run: the ``evaluation:`` params block, the split, its artifacts.

Every recommender (notebooks 02-05), the leaderboard (notebook 07) and the bench read the protocol from
here, so all of them are scored on the same test customers and the same relevant products.

The ``evaluation:`` block (merged over :data:`DEFAULTS`):

- ``source``: the rows the split and the interaction matrix come from: ``purchases`` (sales lines,
  quantity > 0), ``ratings`` or ``events``;
- ``split``: ``last_basket`` (per customer, the last invoice is held out), ``chronological`` (one global
  cut-off at the ``ratio`` quantile of time, or ``cutoff``), ``stratified`` (per ``stratify_by`` group,
  ``ratio`` of its rows in train; microsoft/recommenders ``python_stratified_split``) or ``random``;
- ``ratio``, ``stratify_by``, ``cutoff``, ``seed`` (None: the run's seed), ``drop_seen_pairs`` (test keeps
  only pairs the customer did not have in train, since seen products are never recommended);
- ``max_customers``: the evaluation population. None (the default) scores every test customer; a number draws a
  seeded uniform sample of that many test customers once, here, and every model (notebooks 02-05 and the
  leaderboard) is scored on exactly those customers. Validation folds are sampled the same way (seed + 1 + fold).
  The population (customers evaluated, of how many, how drawn) is recorded in ``split.json``;
- ``k``: the list length every metric is computed at;
- ``validation``: ``folds`` validation splits carved out of TRAIN (never the test part) for tuning, with
  their ``ratio`` (None: ``ratio``). ``last_basket`` and ``chronological`` folds are nested (fold 2 splits
  fold 1's training part again, so successively earlier cut-offs), ``stratified`` and ``random`` folds are
  the same split of train under seeds ``seed + 1``, ``seed + 2``, ...;
- ``n_boot``, ``alpha``: the bootstrap of every interval; ``curve_ks``, ``freq``, ``baseline``,
  ``top_items``: notebook 07's curves, impact periods, lift baseline and basket listing.

The split's test part is exactly the relevant (customer, product) pairs the metrics use, one row per
pair. ``artifacts/split_train.parquet`` and ``artifacts/split_test.parquet`` are written by the first
notebook that needs them (with the settings and data fingerprint they came from in
``artifacts/split.json``); later notebooks read them, and a notebook run alone makes the same split from
the same params.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from workbench import config
from workbench.data import contract
from workbench.data.shop import Shop, purchases
from workbench.errors import ConfigError
from workbench.evaluate.split import (chronological_split, drop_seen_pairs, leave_last_basket_out, random_split,
                                      stratified_split)

log = logging.getLogger(__name__)

BLOCK = "evaluation"
SOURCES = ("purchases", "ratings", "events")
SPLITS = ("last_basket", "chronological", "stratified", "random")
SPLIT_TRAIN, SPLIT_TEST, SPLIT_INFO = "split_train", "split_test", "split.json"

DEFAULTS: dict = {
    "source": "purchases",
    "split": "last_basket",
    "ratio": 0.75,
    "stratify_by": contract.PRODUCT_ID,  # stratified split: the column whose groups each keep ``ratio`` of their rows in train
    "cutoff": None,                 # chronological split: the date from which lines are held out (None: by ratio)
    "seed": None,
    "drop_seen_pairs": True,
    "max_customers": None,
    "k": 10,
    "validation": {
        "folds": 1,                 # validation folds carved out of train, where settings are tuned
        "ratio": None,
    },
    "n_boot": 1000,
    "alpha": 0.05,
    "curve_ks": [1, 2, 3, 5, 10, 15, 20],
    "freq": "W",
    "baseline": None,
    "top_items": 10,
}

#: keys of other blocks that the ``evaluation:`` block replaced -> the key to use now
RETIRED_KEYS: dict[str, str] = {old: new for old, new in config.RETIRED_KEYS.items() if new.startswith(f"{BLOCK}.")}


def check_retired_keys(params: dict) -> None:
    """Raise :class:`ConfigError` naming the new key when ``params`` still sets a key the ``evaluation:`` block replaced."""
    found = []
    for old, new in RETIRED_KEYS.items():
        node = params
        for key in old.split("."):
            node = node.get(key, _MISSING) if isinstance(node, dict) else _MISSING
        if node is not _MISSING:
            found.append(f"'{old}' is now '{new}'")
    if found:
        raise ConfigError("params: the split and its metrics are set once, in the evaluation: block; "
                          + "; ".join(found) + ". Move the value there (see README, Parameter files).")


_MISSING = object()


@dataclass(frozen=True)
class Validation:
    """How many validation splits are carved out of train, and their train share (None: the test split's)."""

    folds: int = 1
    ratio: float | None = None


@dataclass(frozen=True)
class EvaluationSettings:
    """The run's evaluation protocol (the ``evaluation:`` params block merged over :data:`DEFAULTS`)."""

    source: str = "purchases"
    split: str = "last_basket"
    ratio: float = 0.75
    stratify_by: str = contract.PRODUCT_ID
    cutoff: str | None = None
    seed: int = 42
    drop_seen_pairs: bool = True
    max_customers: int | None = None
    k: int = 10
    validation: Validation = field(default_factory=Validation)
    n_boot: int = 1000
    alpha: float = 0.05
    curve_ks: tuple[int, ...] = (1, 2, 3, 5, 10, 15, 20)
    freq: str = "W"
    baseline: str | None = None
    top_items: int = 10

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ConfigError(f"evaluation.source must be one of {SOURCES}, not {self.source!r}")
        if self.split not in SPLITS:
            raise ConfigError(f"evaluation.split must be one of {SPLITS}, not {self.split!r}")
        if self.split == "last_basket" and self.source != "purchases":
            raise ConfigError(f"evaluation.split last_basket holds out invoices, and source {self.source!r} has "
                              "none: use chronological, stratified or random")
        if not 0.0 < float(self.ratio) < 1.0:
            raise ConfigError(f"evaluation.ratio must be strictly between 0 and 1 (the train share), not {self.ratio}")
        if int(self.k) < 1:
            raise ConfigError(f"evaluation.k must be at least 1, not {self.k}")
        if self.max_customers is not None and int(self.max_customers) < 1:
            raise ConfigError(f"evaluation.max_customers must be at least 1 (or null: every test customer), "
                              f"not {self.max_customers}")
        if int(self.validation.folds) < 1:
            raise ConfigError(f"evaluation.validation.folds must be at least 1, not {self.validation.folds}")

    @property
    def validation_ratio(self) -> float:
        """The train share of each validation split."""
        return float(self.validation.ratio if self.validation.ratio is not None else self.ratio)

    def signature(self) -> dict:
        """The settings that decide the split (what ``split.json`` records)."""
        return {"source": self.source, "split": self.split, "ratio": float(self.ratio),
                "stratify_by": self.stratify_by, "cutoff": None if self.cutoff is None else str(self.cutoff),
                "seed": int(self.seed), "drop_seen_pairs": bool(self.drop_seen_pairs),
                "max_customers": None if self.max_customers is None else int(self.max_customers)}

    def to_dict(self) -> dict:
        """Every setting as plain values (for metrics.json)."""
        out = asdict(self)
        out["curve_ks"] = list(self.curve_ks)
        return out


def settings(params: dict) -> EvaluationSettings:
    """Return the run's :class:`EvaluationSettings` from the whole params dict (``evaluation:`` block, run seed).

    Raises :class:`ConfigError` when an old split key is still set in ``recommenders:`` or ``hybrid:``.
    """
    check_retired_keys(params)
    cfg = config.merge_block(DEFAULTS, params.get(BLOCK), BLOCK)
    v = cfg.pop("validation") or {}
    seed = cfg.pop("seed")
    return EvaluationSettings(**{**cfg, "ratio": float(cfg["ratio"]), "k": int(cfg["k"]),
                                 "n_boot": int(cfg["n_boot"]), "alpha": float(cfg["alpha"]),
                                 "curve_ks": tuple(int(x) for x in cfg["curve_ks"]),
                                 "drop_seen_pairs": bool(cfg["drop_seen_pairs"]),
                                 "max_customers": None if cfg["max_customers"] is None else int(cfg["max_customers"])},
                              seed=int(params.get("seed", 42) if seed is None else seed),
                              validation=Validation(int(v.get("folds", 1)),
                                                    None if v.get("ratio") is None else float(v["ratio"])))


# ---- the split ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Population:
    """The customers every model is scored on: how many, of how many test customers, and how they were drawn."""

    customers: int
    of: int
    drawn: str

    @classmethod
    def everyone(cls, n: int) -> "Population":
        """Every one of the ``n`` test customers."""
        return cls(int(n), int(n), "every test customer")

    def to_dict(self) -> dict:
        """``{customers, of, drawn}`` (for split.json and metrics.json)."""
        return {"customers": self.customers, "of": self.of, "drawn": self.drawn}

    def describe(self) -> str:
        """One line for a reader, e.g. ``20,000 of 49,304 test customers (a seeded uniform sample ...)``."""
        if self.customers == self.of:
            return f"all {self.of:,} test customers"
        return f"{self.customers:,} of {self.of:,} test customers ({self.drawn})"


def sample_population(test: pd.DataFrame, max_customers: int | None, seed: int) -> tuple[pd.DataFrame, Population]:
    """Return ``test`` kept for the evaluation population and the :class:`Population`.

    With ``max_customers`` set and more test customers than that, a uniform sample without replacement of
    ``max_customers`` customers (sorted ids, ``numpy.random.default_rng(seed)``); otherwise every customer.
    """
    ids = np.sort(pd.unique(test[contract.CUSTOMER_ID].astype("str")))
    if max_customers is None or len(ids) <= int(max_customers):
        return test, Population.everyone(len(ids))
    keep = np.random.default_rng(seed).choice(ids, int(max_customers), replace=False)
    kept = test[test[contract.CUSTOMER_ID].astype("str").isin(keep)].reset_index(drop=True)
    return kept, Population(int(max_customers), len(ids),
                            f"a uniform random sample without replacement, seed {seed} (evaluation.max_customers)")


@dataclass
class SplitRows:
    """One split of a shop's rows: training rows, the relevant test pairs, and the training purchases."""

    train: pd.DataFrame      # rows of the source (sales lines, ratings or events) in the training part
    test: pd.DataFrame       # the relevant (customer, product) pairs of the evaluation population, one row each
    purchases: pd.DataFrame  # sales lines of the training part (what content, basket and context models use)
    population: Population | None = None  # who ``test`` covers (None: not recorded)

    @property
    def customers(self) -> pd.Index:
        """The evaluated customers: every customer with a relevant test pair, sorted."""
        return pd.Index(np.sort(pd.unique(self.test[contract.CUSTOMER_ID].astype("str"))), name=contract.CUSTOMER_ID)


def source_rows(shop: Shop, source: str) -> pd.DataFrame:
    """Return the long rows of ``source``: sales lines (quantity > 0), ratings or events."""
    if source == "ratings":
        if shop.ratings is None or shop.ratings.empty:
            raise ConfigError("evaluation.source is ratings but this shop has no ratings table; use purchases")
        return shop.ratings
    if source == "events":
        if shop.events is None or shop.events.empty:
            raise ConfigError("evaluation.source is events but this shop has no events table; use purchases")
        return shop.events
    tx = shop.transactions
    return tx[tx[contract.QUANTITY] > 0]


def can_split(rows: pd.DataFrame, how: str) -> bool:
    """Whether ``how`` can split ``rows``: two rows at least; chronological needs two distinct timestamps and
    last_basket a customer with two invoices."""
    if len(rows) < 2:
        return False
    if how == "chronological":
        return contract.TIMESTAMP in rows and pd.to_datetime(rows[contract.TIMESTAMP]).nunique() >= 2
    if how == "last_basket":
        if contract.TRANSACTION_ID not in rows:
            return False
        per = rows.groupby(contract.CUSTOMER_ID, observed=True)[contract.TRANSACTION_ID].nunique()
        return bool((per >= 2).any())
    return True


def _split(rows: pd.DataFrame, how: str, ratio: float, stratify_by: str, cutoff, seed: int):
    if how == "stratified":
        return stratified_split(rows, ratio, by=stratify_by, seed=seed)
    if how == "chronological":
        return chronological_split(rows, cutoff=cutoff, ratio=ratio)
    if how == "random":
        return random_split(rows, ratio, seed=seed)
    return leave_last_basket_out(rows)


def relevant_pairs(test_rows: pd.DataFrame) -> pd.DataFrame:
    """Return one row per held-out (customer, product) pair, sorted: first ``timestamp``, summed ``quantity``,
    the quantity-weighted ``unit_price`` (so revenue = quantity x unit_price) and the last ``rating`` where
    those columns exist."""
    key = [contract.CUSTOMER_ID, contract.PRODUCT_ID]
    df = test_rows.assign(**{c: test_rows[c].astype("str") for c in key})
    agg = {}
    if contract.TIMESTAMP in df:
        agg[contract.TIMESTAMP] = (contract.TIMESTAMP, "min")
    if contract.QUANTITY in df:
        agg[contract.QUANTITY] = (contract.QUANTITY, "sum")
    if contract.UNIT_PRICE in df and contract.QUANTITY in df:
        df = df.assign(_revenue=df[contract.UNIT_PRICE].astype(float) * df[contract.QUANTITY])
        agg["_revenue"] = ("_revenue", "sum")
    if "rating" in df:
        agg["rating"] = ("rating", "last")
    if agg:
        out = df.groupby(key, sort=True, observed=True).agg(**agg).reset_index()
    else:
        out = df[key].drop_duplicates().sort_values(key)
    if "_revenue" in out:
        out[contract.UNIT_PRICE] = out.pop("_revenue") / out[contract.QUANTITY].where(out[contract.QUANTITY] != 0)
    return out.reset_index(drop=True)


def training_purchases(shop: Shop, train: pd.DataFrame, source: str, how: str) -> pd.DataFrame:
    """Sales lines of the training part: the train rows themselves for purchases, else the sales lines (or, in
    a shop without sales, the purchase events, :func:`~workbench.data.shop.purchases`) of (customer, product) pairs in train (and before the train part's last time for a chronological split)."""
    if source == "purchases":
        return train
    sales = purchases(shop)  # a shop without sales: its purchase events
    pairs = pd.MultiIndex.from_frame(train[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].astype("str"))
    keep = pd.MultiIndex.from_frame(sales[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].astype("str")).isin(pairs)
    if how == "chronological" and contract.TIMESTAMP in train and len(train):
        keep &= (pd.to_datetime(sales[contract.TIMESTAMP]) <= pd.to_datetime(train[contract.TIMESTAMP]).max()).to_numpy()
    return sales[keep]


def split_rows(rows: pd.DataFrame, s: EvaluationSettings, seed: int | None = None, ratio: float | None = None,
               cutoff=_MISSING) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train rows, relevant test pairs)`` of ``rows`` under the protocol ``s``."""
    if not can_split(rows, s.split):
        raise ConfigError(f"evaluation.split {s.split} cannot split these {len(rows)} rows (chronological needs "
                          "two distinct timestamps, last_basket a customer with two invoices); set evaluation.split "
                          "to stratified or random")
    train, test = _split(rows, s.split, s.ratio if ratio is None else ratio, s.stratify_by,
                         s.cutoff if cutoff is _MISSING else cutoff, s.seed if seed is None else seed)
    if s.drop_seen_pairs:
        test = drop_seen_pairs(test, train)
    return train, relevant_pairs(test)


def make_split(shop: Shop, s: EvaluationSettings) -> SplitRows:
    """Return the test split of ``shop`` under ``s``, its test pairs kept for the evaluation population."""
    train, test = split_rows(source_rows(shop, s.source), s)
    test, population = sample_population(test, s.max_customers, s.seed)
    log.info("%s split: %d train rows, %d relevant test pairs; evaluation population: %s", s.split, len(train),
             len(test), population.describe())
    return SplitRows(train, test, training_purchases(shop, train, s.source, s.split), population)


def validation_folds(shop: Shop, split: SplitRows, s: EvaluationSettings) -> list[SplitRows]:
    """Return ``s.validation.folds`` validation splits carved out of ``split.train`` only (see the module doc).

    Fewer folds come back when the training part runs out (a fold with no relevant pair ends the list).
    """
    out = []
    train = split.train
    nested = s.split in ("last_basket", "chronological")
    for f in range(s.validation.folds):
        if not can_split(train, s.split):
            break
        fit, val = split_rows(train, s, seed=s.seed + 1 + f, ratio=s.validation_ratio, cutoff=None)
        if len(val) == 0:
            break
        val, population = sample_population(val, s.max_customers, s.seed + 1 + f)
        out.append(SplitRows(fit, val, training_purchases(shop, fit, s.source, s.split), population))
        if nested:
            train = fit
    if len(out) < s.validation.folds:
        log.warning("evaluation.validation.folds is %d but train holds only %d validation fold(s)",
                    s.validation.folds, len(out))
    return out


# ---- artifacts ------------------------------------------------------------------------------------
def _fingerprint(shop: Shop) -> str:
    from workbench.data.load import fingerprint

    return fingerprint(shop)


def load_or_make_split(shop: Shop, s: EvaluationSettings, recorder=None) -> SplitRows:
    """Return the run's split: read from ``artifacts/split_*.parquet`` when they were made with these settings
    on this data, else made now (and saved when a ``recorder`` is given).

    The returned frames are the ones read back from the Parquet files, so a notebook that made the split and
    one that read it work on identical values.
    """
    if recorder is None:
        return make_split(shop, s)
    info_path = recorder.artifact_path(SPLIT_INFO)
    want = {"settings": s.signature(), "data": _fingerprint(shop)}
    with recorder.locked():  # notebooks that run side by side make the split once and read it whole
        have = json.loads(info_path.read_text()) if info_path.exists() else None
        if (have is None or {key: have.get(key) for key in want} != want or "population" not in have
                or not (recorder.has_artifact(SPLIT_TRAIN) and recorder.has_artifact(SPLIT_TEST))):
            sp = make_split(shop, s)
            recorder.save_artifact(sp.train, SPLIT_TRAIN)
            recorder.save_artifact(sp.test, SPLIT_TEST)
            have = {**want, "population": sp.population.to_dict()}
            info_path.write_text(json.dumps(have, sort_keys=True, indent=1) + "\n")
            log.info("split written to %s", recorder.artifact_path(SPLIT_TEST).parent)
        else:
            log.info("split read from %s (same settings and data)", recorder.artifact_path(SPLIT_TEST).parent)
        train = recorder.load_artifact(SPLIT_TRAIN)
        test = recorder.load_artifact(SPLIT_TEST)
    return SplitRows(train, test, training_purchases(shop, train, s.source, s.split), Population(**have["population"]))


def read_population(artifacts_dir) -> Population | None:
    """The evaluation population recorded in a run's ``artifacts/split.json`` (None when there is none)."""
    from pathlib import Path

    path = Path(artifacts_dir) / SPLIT_INFO
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    return Population(**info["population"]) if "population" in info else None
