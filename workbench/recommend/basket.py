"""Market basket analysis: invoices as baskets, FP-growth itemsets, association rules, cross-sell.

Baskets are invoices (``transaction_id``) of positive-quantity lines, held as a sparse boolean
baskets x products matrix. Frequent itemsets come from ``mlxtend``'s ``fpgrowth`` on a **sparse**
boolean DataFrame (a dense one-hot frame of a real catalog does not fit in memory), and rules from
``mlxtend``'s ``association_rules`` called with keyword arguments only (its signature changed across
versions; 0.23+ needs ``num_itemsets``).

The default minimum support adapts to the data: ``min_baskets`` baskets out of however many there
are, so strong but rare bundles in a catalog of thousands of products are still found. A fixed
``min_support`` fraction overrides it (the Groceries check uses 0.001).

:class:`BasketRecommender` scores products for a customer by the best rule whose antecedent is
inside their recent basket(s) (lift x confidence by default), excluding what they already hold.
"""
from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract
from workbench.data.contract import (ANTECEDENT_SUPPORT, ANTECEDENTS, CONFIDENCE, CONSEQUENT_SUPPORT, CONSEQUENTS,  # noqa: F401
                                     CONVICTION, LEVERAGE, LIFT, RULE_COLUMNS, SUPPORT)
from workbench.data.codes import compact, factorize_ids, sorted_codes
from workbench.errors import ItemsetBudgetError
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions, positions
from workbench.stages import Limits, require

log = logging.getLogger(__name__)

#: the ``basket`` params block: mining settings and the cross-sell recommender's settings
DEFAULTS: dict = {
    "min_support": None,        # fixed support fraction; None = min_baskets / number of baskets
    "min_baskets": 5,           # adaptive default: an itemset must occur in at least this many baskets
    "min_confidence": 0.1,      # rules below this confidence are left out
    "min_lift": 1.0,            # rules at or below this lift are not associations
    "max_len": 3,               # longest itemset mined (None = no limit)
    "max_itemsets": 500_000,    # memory budget: itemsets mining may build (counted first; None = no bound)
    "single_consequent": True,  # rules with one-item consequents (the R arules convention)
    "rule_metric": "lift_confidence",  # cross-sell rule score: lift_confidence, lift or confidence
    "recent_baskets": 3,        # a customer's last invoices used as rule antecedents (0 = whole history)
    "max_rules": 50000,         # strongest rules kept by the recommender
    "top_rules": 10,            # rules listed in metrics.json
    "bundle_top": 20,           # planted bundles are looked for among this many top rules by lift
}

ITEMSETS = "itemsets"
RULE_SCORES = ("lift_confidence", "lift", "confidence")


# ---- baskets --------------------------------------------------------------------------------------
def _codes(values: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Factorize codes of ``values`` at ``rows`` (a mask or positions), the uniques of the whole column."""
    codes, uniq = factorize_ids(values)
    return codes[rows], uniq


def basket_matrix(transactions: pd.DataFrame, products=None) -> tuple[sp.csr_matrix, pd.Index, pd.Index]:
    """Return ``(matrix, basket_ids, product_ids)``: a boolean baskets x products CSR matrix of the sales lines.

    Baskets are invoices (``transaction_id``); returns (quantity <= 0) are left out. ``products`` fixes
    the column universe (default: the products sold, sorted); ids are strings.
    """
    # integer codes of the whole columns (hashed once per column and shared), then the sales lines' rows
    is_sale = (transactions[contract.QUANTITY] > 0).to_numpy()
    b_codes, b_ids = sorted_codes(*compact(*_codes(transactions[contract.TRANSACTION_ID].astype("str"), is_sale)))
    if products is None:
        prods = compact(*_codes(transactions[contract.PRODUCT_ID].astype("str"), is_sale))[1].sort_values()
    else:
        prods = pd.Index(pd.Index(products).astype("str").unique())
    p_codes = positions(prods, transactions[contract.PRODUCT_ID].astype("str"))[is_sale]
    keep = p_codes >= 0
    m = sp.csr_matrix((np.ones(int(keep.sum()), dtype=bool), (b_codes[keep], p_codes[keep])),
                      shape=(len(b_ids), len(prods)), dtype=bool)
    m.sum_duplicates()
    return m, pd.Index(b_ids, dtype="str"), prods


def resolve_min_support(n_baskets: int, min_support: float | None = None, min_baskets: int = 5) -> float:
    """Return the minimum support fraction: ``min_support`` if given, else ``min_baskets / n_baskets``."""
    if n_baskets <= 0:
        raise ValueError("no baskets: the transactions have no positive-quantity lines")
    if min_support is not None:
        s = float(min_support)
    else:
        s = max(int(min_baskets), 1) / n_baskets
    if not 0.0 < s <= 1.0:
        raise ValueError(f"minimum support {s} is outside (0, 1]: lower min_baskets ({min_baskets}) or "
                         f"set min_support explicitly")
    return s


def item_support(matrix: sp.csr_matrix, product_ids: pd.Index) -> pd.Series:
    """Return each product's support (share of baskets holding it), indexed by product id, largest first."""
    sup = np.asarray(matrix.sum(axis=0)).ravel() / max(matrix.shape[0], 1)
    s = pd.Series(sup, index=pd.Index(product_ids, name=contract.PRODUCT_ID), name=SUPPORT)
    return s.sort_values(ascending=False, kind="stable")


def frequent_itemsets(matrix: sp.csr_matrix, product_ids: pd.Index, min_support: float,
                      max_len: int | None = None, method: str = "auto") -> pd.DataFrame:
    """Return frequent itemsets ``[support, itemsets]`` (itemsets as sorted tuples of product ids) by FP-growth.

    ``method="fpgrowth"`` runs mlxtend ``fpgrowth`` on a sparse boolean DataFrame. Products below
    ``min_support`` cannot be in a frequent itemset, so their columns are dropped first (the basket count,
    hence every support, is unchanged); this keeps mlxtend's per-item pass small on catalogs of thousands
    of products. ``method="sparse"`` counts itemsets of up to 3 items by sparse matrix products
    (:func:`workbench.recommend.itemsets.sparse_itemsets`: the same table, exactly, without mlxtend's
    Python loop over baskets, which takes minutes on millions of invoices); ``auto`` uses it when
    ``max_len`` <= 3.
    """
    if method == "auto":
        method = "sparse" if max_len is not None and int(max_len) <= 3 else "fpgrowth"
    if method == "sparse":
        from workbench.recommend.itemsets import sparse_itemsets

        return sparse_itemsets(matrix, product_ids, min_support, max_len)
    if method != "fpgrowth":
        raise ValueError(f"method must be auto, sparse or fpgrowth, not {method!r}")
    from mlxtend.frequent_patterns import fpgrowth

    n = matrix.shape[0]
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    keep = np.flatnonzero(counts >= math.ceil(min_support * n - 1e-9))
    if len(keep) == 0 or n == 0:
        return pd.DataFrame({SUPPORT: pd.Series(dtype="float64"), ITEMSETS: pd.Series(dtype="object")})
    sub = matrix[:, keep].tocsr().astype(bool)
    cols = [str(c) for c in pd.Index(product_ids)[keep]]
    df = pd.DataFrame.sparse.from_spmatrix(sub, columns=cols)
    fi = fpgrowth(df, min_support=min_support, use_colnames=True, max_len=max_len)
    fi[ITEMSETS] = [tuple(sorted(s)) for s in fi[ITEMSETS]]
    fi = fi.assign(_len=fi[ITEMSETS].map(len), _key=fi[ITEMSETS].map("|".join))
    fi = fi.sort_values([SUPPORT, "_len", "_key"], ascending=[False, True, True], kind="stable")
    return fi.drop(columns=["_len", "_key"]).reset_index(drop=True)


def bound_support(matrix: sp.csr_matrix, min_support: float, max_itemsets: int | None, max_len: int | None = 3,
                  fixed: bool = False) -> tuple[float, dict]:
    """Return ``(support, bound)``: the support to mine at so that at most ``max_itemsets`` itemsets are built.

    The itemsets of up to three items are counted first (:func:`~workbench.recommend.itemsets.level_counts`:
    counts only, in bounded memory). Within the budget the support is ``min_support`` and ``bound`` is empty.
    Over it, an adaptive support (``fixed`` false) is raised to the lowest support whose itemsets fit, logged,
    and ``bound`` records the requested support and count; a support the params fix (``fixed``) is kept and
    :class:`~workbench.errors.ItemsetBudgetError` names ``basket.min_support``, the count and the support that
    would fit. With ``max_len`` above 3 the count of up to three items is a lower bound of the real one.
    """
    if max_itemsets is None:
        return min_support, {}
    if isinstance(max_itemsets, bool) or int(max_itemsets) < 1:
        raise ValueError(f"basket.max_itemsets must be a whole number >= 1 or null, not {max_itemsets!r}")
    from workbench.recommend.itemsets import MAX_LEN, level_counts

    n = matrix.shape[0]
    counted = min(int(max_len), MAX_LEN) if max_len is not None else MAX_LEN
    counts = np.sort(np.concatenate(level_counts(matrix, min_support, counted)))[::-1]
    if len(counts) <= int(max_itemsets):
        return min_support, {}
    least = int(counts[int(max_itemsets)]) + 1  # the (budget+1)-th largest count + 1: at most the budget reach it
    fits = int((counts >= least).sum())
    over = "at least " if max_len is None or int(max_len) > MAX_LEN else ""
    what = (f"mining at support {min_support:.4g} ({min_count_text(n, min_support)}) would build {over}"
            f"{len(counts):,} frequent itemsets, more than basket.max_itemsets = {int(max_itemsets):,} (the memory "
            f"budget of the miner, its rules and the cross-sell index)")
    if fixed or least > n:
        fit = (f"set basket.min_support (or the hybrid's hybrid.components.cross_sell.params.min_support) to at "
               f"least {least / n:.4g} ({least:,} baskets: {fits:,} itemsets)" if least <= n else
               "no support fits")
        raise ItemsetBudgetError(f"basket: {what}; {fit}, or raise basket.max_itemsets if the machine has the "
                                 f"memory")
    log.warning("basket: %s; the adaptive support is raised to %.4g (%s: %s itemsets). Set basket.min_support "
                "to choose the support yourself, or raise basket.max_itemsets", what, least / n,
                f"{least:,} of {n:,} baskets", f"{fits:,}")
    return least / n, {"min_support_requested": float(min_support), "itemsets_at_requested": int(len(counts)),
                       "max_itemsets": int(max_itemsets)}


def min_count_text(n_baskets: int, min_support: float) -> str:
    """``"5 of 18,532 baskets"``: the fewest baskets an itemset needs at ``min_support``."""
    from workbench.recommend.itemsets import min_count

    return f"{min_count(n_baskets, min_support):,} of {n_baskets:,} baskets"


def _empty_rules() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="object" if c in (ANTECEDENTS, CONSEQUENTS) else "float64")
                        for c in RULE_COLUMNS})
    return out


def association_rules(itemsets: pd.DataFrame, n_baskets: int, min_confidence: float = 0.5,
                      single_consequent: bool = True, min_lift: float | None = None) -> pd.DataFrame:
    """Return the rules table (``RULE_COLUMNS``; antecedents/consequents as sorted lists of product ids).

    Calls mlxtend ``association_rules`` with keyword arguments (``num_itemsets`` = number of baskets).
    ``single_consequent`` keeps rules with one-item consequents (R arules' convention). Sorted by lift,
    confidence, support (descending), then the item lists, so the order is deterministic.
    """
    from mlxtend.frequent_patterns import association_rules as mlx_rules

    if len(itemsets) == 0 or not (itemsets[ITEMSETS].map(len) > 1).any():
        return _empty_rules()
    fi = pd.DataFrame({SUPPORT: itemsets[SUPPORT].to_numpy(),
                       ITEMSETS: [frozenset(s) for s in itemsets[ITEMSETS]]})
    rules = mlx_rules(df=fi, num_itemsets=int(n_baskets), metric="confidence", min_threshold=float(min_confidence))
    if single_consequent:
        rules = rules[rules[CONSEQUENTS].map(len) == 1]
    if min_lift is not None:
        rules = rules[rules[LIFT] > float(min_lift)]
    rules = rules[RULE_COLUMNS].copy()
    rules[ANTECEDENTS] = [sorted(s) for s in rules[ANTECEDENTS]]
    rules[CONSEQUENTS] = [sorted(s) for s in rules[CONSEQUENTS]]
    key_a = rules[ANTECEDENTS].map("|".join)
    key_c = rules[CONSEQUENTS].map("|".join)
    rules = rules.assign(_a=key_a, _c=key_c).sort_values(
        [LIFT, CONFIDENCE, SUPPORT, "_a", "_c"], ascending=[False, False, False, True, True], kind="stable")
    return rules.drop(columns=["_a", "_c"]).reset_index(drop=True)


def require_pair_baskets(transactions: pd.DataFrame, limits: Limits | None = None) -> int:
    """Return the number of baskets (invoices) holding two or more distinct products; raise
    :class:`~workbench.errors.StageSkipped` (``basket``) when fewer than ``limits.rules_min_baskets``:
    an association rule links two products bought together."""
    need = (limits or Limits()).rules_min_baskets
    m, baskets, products = basket_matrix(transactions)
    pairs = int((np.diff(m.indptr) >= 2).sum()) if len(baskets) else 0
    require(pairs >= need, "basket",
            f"association rules need baskets with two or more different products; this shop has {pairs} such "
            f"basket(s) of {len(baskets)} over {len(products)} product(s), fewer than {need} (params "
            f"limits.rules_min_baskets)")
    return pairs


def mine_rules(transactions: pd.DataFrame, min_support: float | None = DEFAULTS["min_support"],
               min_baskets: int = DEFAULTS["min_baskets"], min_confidence: float = DEFAULTS["min_confidence"],
               max_len: int | None = DEFAULTS["max_len"], single_consequent: bool = DEFAULTS["single_consequent"],
               min_lift: float | None = DEFAULTS["min_lift"],
               max_itemsets: int | None = DEFAULTS["max_itemsets"]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Return ``(itemsets, rules, info)`` mined from the invoices of ``transactions`` (defaults: :data:`DEFAULTS`).

    ``info`` has ``n_baskets``, ``n_products``, ``min_support`` (the fraction used), ``n_itemsets`` and
    ``n_rules``; when the budget ``max_itemsets`` raised the adaptive support (:func:`bound_support`) also
    ``min_support_requested``, ``itemsets_at_requested`` and ``max_itemsets``.

    Examples:
        Four invoices; tea and cup are bought together in two of them (support 2/4), every cup comes with tea
        (confidence 1) and tea is in 3 of 4 baskets (lift 1 / 0.75):

        >>> import pandas as pd
        >>> lines = pd.DataFrame({"transaction_id": ["1", "1", "2", "2", "3", "3", "4"],
        ...                       "customer_id": ["a", "a", "b", "b", "c", "c", "d"],
        ...                       "product_id": ["tea", "cup", "tea", "cup", "tea", "cake", "cake"],
        ...                       "quantity": 1, "unit_price": 1.0, "timestamp": pd.Timestamp("2024-01-01")})
        >>> itemsets, rules, info = mine_rules(lines, min_baskets=2, min_confidence=0.5)
        >>> print(rules[["antecedents", "consequents", "support", "confidence", "lift"]].to_string(index=False))
        antecedents consequents  support  confidence     lift
              [cup]       [tea]      0.5    1.000000 1.333333
              [tea]       [cup]      0.5    0.666667 1.333333
        >>> info["n_baskets"], info["n_rules"]
        (4, 2)
    """
    m, baskets, products = basket_matrix(transactions)
    s = resolve_min_support(len(baskets), min_support, min_baskets)
    s, bound = bound_support(m, s, max_itemsets, max_len, fixed=min_support is not None)
    itemsets = frequent_itemsets(m, products, s, max_len)
    rules = association_rules(itemsets, len(baskets), min_confidence, single_consequent, min_lift)
    info = {"n_baskets": len(baskets), "n_products": len(products), "min_support": s,
            "n_itemsets": len(itemsets), "n_rules": len(rules), **bound}
    log.info("basket: %d baskets, %d products, min support %.5g -> %d itemsets, %d rules", len(baskets),
             len(products), s, len(itemsets), len(rules))
    return itemsets, rules, info


def rule_score(rules: pd.DataFrame, metric: str = "lift_confidence") -> np.ndarray:
    """Return each rule's cross-sell score: lift x confidence, lift or confidence."""
    if metric == "lift_confidence":
        return (rules[LIFT] * rules[CONFIDENCE]).to_numpy(dtype=np.float64)
    if metric in (LIFT, CONFIDENCE):
        return rules[metric].to_numpy(dtype=np.float64)
    raise ValueError(f"rule_metric must be one of {RULE_SCORES}, not {metric!r}")


def top_rules(rules: pd.DataFrame, n: int = 10, by: str = LIFT) -> pd.DataFrame:
    """Return the ``n`` strongest rules by ``by`` (ties: confidence, support, then the item lists)."""
    if by == LIFT:
        return rules.head(n).reset_index(drop=True)  # association_rules already sorts by lift
    key_a = rules[ANTECEDENTS].map("|".join)
    key_c = rules[CONSEQUENTS].map("|".join)
    out = rules.assign(_a=key_a, _c=key_c).sort_values([by, LIFT, "_a", "_c"], ascending=[False, False, True, True],
                                                       kind="stable")
    return out.drop(columns=["_a", "_c"]).head(n).reset_index(drop=True)


def rules_as_lists(rules: pd.DataFrame) -> list[list]:
    """Return rules as ``[antecedents, consequents, support, confidence, lift]`` lists (for metrics.json)."""
    return [[list(a), list(c), float(s), float(cf), float(lf)] for a, c, s, cf, lf in
            zip(rules[ANTECEDENTS], rules[CONSEQUENTS], rules[SUPPORT], rules[CONFIDENCE], rules[LIFT])]


def distinct_rules(rules: pd.DataFrame) -> pd.DataFrame:
    """Return ``rules`` keeping the first rule of each itemset (A => B and its mirror B => A share support
    and lift, so a top-by-lift list would otherwise hold every pair twice)."""
    key = [frozenset(a) | frozenset(c) for a, c in zip(rules[ANTECEDENTS], rules[CONSEQUENTS])]
    return rules[~pd.Series(key, index=rules.index).duplicated()].reset_index(drop=True)


def bundles_recovered(rules: pd.DataFrame, bundles: pd.DataFrame, top: int = 20,
                      distinct: bool = True) -> pd.DataFrame:
    """Return the planted bundles with a ``recovered`` flag: a top-``top`` rule by lift links the pair.

    A pair (product_a, product_b) is recovered when one of the ``top`` highest-lift rules has one of the
    two products in its antecedent and the other in its consequent (either direction). With
    ``distinct`` a rule and its mirror (same itemset, same lift) count as one of the ``top``.
    """
    head = top_rules(distinct_rules(rules) if distinct else rules, top, by=LIFT)
    links = set()
    for ante, cons in zip(head[ANTECEDENTS], head[CONSEQUENTS]):  # at most `top` rules
        links.update((a, c) for a in ante for c in cons)
    a = bundles["product_a"].astype("str").to_numpy()
    b = bundles["product_b"].astype("str").to_numpy()
    found = [(x, y) in links or (y, x) in links for x, y in zip(a, b)]  # one check per planted bundle
    return pd.DataFrame({"product_a": a, "product_b": b, "recovered": found})


def rules_with_names(rules: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Return ``rules`` with the antecedents and consequents spelled as product names (for tables)."""
    names = products.set_index(products[contract.PRODUCT_ID].astype("str"))[contract.NAME].astype("str")
    lookup = names.to_dict()
    out = rules.copy()
    for col in (ANTECEDENTS, CONSEQUENTS):
        out[col] = [", ".join(lookup.get(p, p) for p in items) for items in rules[col]]
    return out


# ---- the cross-sell recommender -----------------------------------------------------------------
def recent_basket_matrix(transactions: pd.DataFrame, interactions: Interactions, n_baskets: int = 3) -> sp.csr_matrix:
    """Return a customers x products 0/1 CSR matrix (aligned with ``interactions``) of what each customer
    bought in their last ``n_baskets`` invoices (0 = their whole history)."""
    r_all, c_all = interactions.locate(transactions)  # every line's row and column, shared by the components
    lines = np.flatnonzero((transactions[contract.QUANTITY] > 0).to_numpy() & (r_all >= 0))
    r, c = r_all[lines], c_all[lines]
    if n_baskets and n_baskets > 0 and len(lines):
        # each (customer, invoice) pair's time is its latest line; per customer the pairs are ranked newest
        # first (ties: the larger invoice id) and the lines of the first n_baskets are kept. Integer codes
        # throughout: no string keys over millions of lines
        inv, inv_ids = sorted_codes(*compact(*_codes(transactions[contract.TRANSACTION_ID], lines)))
        pair, _ = pd.factorize(r.astype(np.int64) * max(len(inv_ids), 1) + inv)
        ts = pd.to_datetime(transactions[contract.TIMESTAMP].iloc[lines])
        t = (ts.dt.tz_convert(None) if ts.dt.tz is not None else ts).to_numpy().view(np.int64)
        t_pair = pd.Series(t, copy=False).groupby(pair, sort=True).max().to_numpy()
        r_pair = np.empty(len(t_pair), dtype=np.int64)
        inv_pair = np.empty(len(t_pair), dtype=np.int64)
        r_pair[pair], inv_pair[pair] = r, inv
        order = np.lexsort((-inv_pair, -t_pair, r_pair))
        r_sorted = r_pair[order]
        at = np.arange(len(order))
        first = np.maximum.accumulate(np.where(np.r_[True, r_sorted[1:] != r_sorted[:-1]], at, 0))
        keep_pair = np.empty(len(order), dtype=bool)
        keep_pair[order] = (at - first) < int(n_baskets)
        keep = keep_pair[pair]
        r, c = r[keep], c[keep]
    ok = c >= 0
    m = sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32), (r[ok], c[ok])), shape=interactions.shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


class BasketRecommender(Recommender):
    """Cross-sell from association rules: a product scores the best matching rule's score.

    A rule A => B fires for a customer when every item of A is in their recent basket(s); each item of
    B then scores the rule's ``rule_metric`` (``lift_confidence``, ``lift`` or ``confidence``), the maximum over
    firing rules. Items the customer holds are excluded (score 0, and ``exclude_seen`` removes them).
    Products no rule reaches keep a tiny popularity score, so ties break towards popular products.
    """

    name = "basket"
    #: weight of popularity under the rule scores (breaks ties, never beats a firing rule)
    tie_break = 1e-6
    #: size bound of the dense per-batch blocks (rows x rules)
    max_cells = 8_000_000

    def __init__(self, min_support: float | None = DEFAULTS["min_support"], min_baskets: int = DEFAULTS["min_baskets"],
                 min_confidence: float = DEFAULTS["min_confidence"], min_lift: float = DEFAULTS["min_lift"],
                 max_len: int | None = DEFAULTS["max_len"], single_consequent: bool = DEFAULTS["single_consequent"],
                 rule_metric: str = DEFAULTS["rule_metric"], recent_baskets: int = DEFAULTS["recent_baskets"],
                 max_rules: int = DEFAULTS["max_rules"], max_itemsets: int | None = DEFAULTS["max_itemsets"]):
        self.min_support = min_support
        self.min_baskets = min_baskets
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.max_len = max_len
        self.single_consequent = single_consequent
        self.rule_metric = rule_metric
        self.recent_baskets = recent_baskets
        self.max_rules = max_rules
        self.max_itemsets = max_itemsets

    def _fit(self, interactions: Interactions, transactions: pd.DataFrame | None = None,
             rules: pd.DataFrame | None = None, **context) -> None:
        if self.rule_metric not in RULE_SCORES:
            raise ValueError(f"rule_metric must be one of {RULE_SCORES}, not {self.rule_metric!r}")
        if rules is None:
            if transactions is None:
                raise ValueError("BasketRecommender.fit needs transactions=... (invoices to mine) or rules=...")
            if not len(transactions) or not (transactions[contract.QUANTITY] > 0).any():
                # interest without a purchase (views, ratings): no basket to mine, no rule fires, popularity breaks
                # the ties (the hybrid's other components carry the lists)
                log.warning("basket recommender: no basket (no sale line) to mine rules from; it has no rules")
                rules = _empty_rules()
                self.info_ = {"n_baskets": 0, "n_products": 0, "min_support": float("nan"), "n_itemsets": 0,
                              "n_rules": 0}
        if rules is None:
            _, rules, self.info_ = mine_rules(transactions, self.min_support, self.min_baskets,
                                              self.min_confidence, self.max_len, self.single_consequent,
                                              self.min_lift, self.max_itemsets)
        self.rules_ = rules
        n_prod = interactions.shape[1]
        sc = rule_score(rules, self.rule_metric) if len(rules) else np.zeros(0)
        order = np.argsort(-sc, kind="stable")[: int(self.max_rules)]
        ante, cons, sc = rules[ANTECEDENTS].to_numpy()[order], rules[CONSEQUENTS].to_numpy()[order], sc[order]
        # rules x products antecedent matrix; rules whose items are not all in the universe are dropped
        a_len = np.array([len(a) for a in ante], dtype=np.int64)
        a_cols = interactions.product_index(pd.Index([p for a in ante for p in a], dtype="str"))
        a_rows = np.repeat(np.arange(len(ante)), a_len)
        c_len = np.array([len(c) for c in cons], dtype=np.int64)
        c_cols = interactions.product_index(pd.Index([p for c in cons for p in c], dtype="str"))
        c_rows = np.repeat(np.arange(len(cons)), c_len)
        bad = np.zeros(len(ante), dtype=bool)
        bad[a_rows[a_cols < 0]] = True
        bad[c_rows[c_cols < 0]] = True
        ok_a, ok_c = ~bad[a_rows], ~bad[c_rows]
        self._ante = sp.csr_matrix((np.ones(int(ok_a.sum()), dtype=np.float32), (a_rows[ok_a], a_cols[ok_a])),
                                   shape=(len(ante), n_prod))
        self._ante_len = np.where(bad, np.inf, a_len).astype(np.float32)
        # (rule, consequent item) pairs sorted by item: reduceat takes the best firing rule per item
        pr, pc = c_rows[ok_c], c_cols[ok_c]
        srt = np.lexsort((pr, pc))
        self._pair_rule, self._pair_item = pr[srt], pc[srt]
        self._rule_score = sc.astype(np.float64)
        starts = np.r_[0, np.flatnonzero(np.diff(self._pair_item)) + 1] if len(pc) else np.zeros(0, dtype=np.int64)
        self._item_starts, self._items = starts, self._pair_item[starts] if len(pc) else starts
        # a batch's rows x rules and rows x pairs blocks stay around ``max_cells`` floats
        self.batch_size = int(np.clip(self.max_cells // max(len(pr), len(ante), 1), 16, 2048))
        tx = transactions
        if tx is not None:
            self._held = recent_basket_matrix(tx, interactions, int(self.recent_baskets))
        else:
            self._held = interactions.binary()
        log.info("basket recommender: %d rules over %d products", int((~bad).sum()), n_prod)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        held = self._held[rows]
        out = np.tile(self.tie_break * self.popularity_, (len(rows), 1))
        if len(self._pair_rule):
            hits = (held @ self._ante.T).toarray()  # rows x rules: antecedent items held
            fired = np.where(hits >= self._ante_len[None, :], self._rule_score[None, :].astype(np.float32),
                             np.float32(0.0))
            best = np.maximum.reduceat(fired[:, self._pair_rule], self._item_starts, axis=1)
            out[:, self._items] += best
        out[held.nonzero()] = 0.0
        return out
