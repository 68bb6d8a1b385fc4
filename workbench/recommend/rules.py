"""Business rules on top of the hybrid's blend: availability, segment boosts, diversity, confidence, explanations.

All rules work on a :class:`~workbench.recommend.hybrid.CandidateSet` and a blended score matrix
(customers x candidates), vectorised over customers:

- **availability**: products whose latest stock record is 0 are unavailable (:func:`unavailable_products`);
  the hybrid excludes them before the candidates are drawn (``HybridRecommender.set_unavailable``).
- **segment rules**: an additive boost for products that fit the customer's segment (from the
  segmentation artifact): ``premium`` (top price tercile of its category) for champions and loyal
  customers, ``win_back`` (their favourite category) for at-risk / hibernating customers, ``value``
  (bottom price tercile) for price-sensitive customers (those who buy low in each category's range).
- **diversity**: at most ``max_per_category`` products of one category in the top K (greedy in score
  order), or maximal marginal relevance with ``mmr_lambda`` over category similarity.
- **confidence**: the weight share of the blended components that rank the product in their own top
  ``confidence_top`` for this customer (component agreement, 0..1).
- **explanation**: from the component contributing most to the product's score, a short sentence such
  as "often bought together with X" or "similar to Y", X/Y being the customer's own product most
  similar to it (invoice co-occurrence, customer co-purchase or same category/brand).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract
from workbench.recommend.base import top_k
from workbench.recommend.hybrid import POPULAR, CandidateSet, Switching

log = logging.getLogger(__name__)

PREMIUM, WIN_BACK, VALUE = "premium", "win_back", "value"
RULES = (PREMIUM, WIN_BACK, VALUE)
PRICE_SENSITIVE = "price_sensitive"

#: explanation template per component name; ``{item}`` is the customer's most similar own product
EXPLANATIONS: dict[str, str] = {
    "collaborative": "customers who bought {item} also bought this",
    "content": "similar to {item}",
    "cross_sell": "often bought together with {item}",
    "seasonal": "popular this season",
    "cluster_trending": "trending in your segment",
    "price_affinity": "in your usual price range",
    POPULAR: "a bestseller with all customers",
}
#: how the ``{item}`` of a template is found: invoice co-occurrence, customer co-purchase or attributes
SIMILARITY = {"collaborative": "copurchase", "cross_sell": "basket", "content": "attributes"}
GENERIC = "recommended from your purchase history"
#: the explanation of a customer without history (unknown, or no purchase in the data the lists were fitted on):
#: the component's reason, which for such a customer never refers to an own product
COLD_START = "new to us, no purchase history to learn from yet: {why}"


def cold_start_explanations(components: np.ndarray, templates: dict[str, str] | None = None) -> np.ndarray:
    """Return the explanation of each recommendation to a customer without history, from the name of the
    component contributing most (:data:`COLD_START`; a component that needs an own product, which such a
    customer lacks, reads as the bestseller it falls back to)."""
    tpl = {**EXPLANATIONS, **(templates or {})}
    names = np.asarray(components, dtype=object)
    why = {c: tpl[c] if c in tpl and "{item}" not in tpl[c] else tpl[POPULAR] for c in pd.unique(names)}
    return np.array([COLD_START.format(why=why[c]) for c in names], dtype=object)


# ---- availability -----------------------------------------------------------------------------------
def unavailable_products(prices: pd.DataFrame | None, as_of=None) -> pd.Index:
    """Return the ids of products whose latest stock record (at or before ``as_of``) is 0 (empty without stock)."""
    if prices is None or contract.STOCK not in prices.columns or len(prices) == 0:
        return pd.Index([], dtype="str")
    p = prices[[contract.PRODUCT_ID, contract.DATE, contract.STOCK]].dropna(subset=[contract.STOCK])
    if as_of is not None:
        p = p[pd.to_datetime(p[contract.DATE]) <= pd.Timestamp(as_of)]
    last = p.sort_values([contract.PRODUCT_ID, contract.DATE], kind="stable").drop_duplicates(contract.PRODUCT_ID, keep="last")
    return pd.Index(last.loc[last[contract.STOCK] <= 0, contract.PRODUCT_ID].astype("str").to_numpy())


# ---- segments and price sensitivity ------------------------------------------------------------------
def price_percentile(products: pd.DataFrame) -> pd.Series:
    """Return each product's list-price percentile inside its category (0 = cheapest, 1 = dearest), by product id."""
    p = products.drop_duplicates(contract.PRODUCT_ID)
    pct = p.groupby(p[contract.CATEGORY].astype("str"), sort=False)[contract.PRICE].rank(pct=True, method="average")
    n = p.groupby(p[contract.CATEGORY].astype("str"), sort=False)[contract.PRICE].transform("size")
    pct = np.where(n > 1, (pct * n - 1) / np.maximum(n - 1, 1), 0.5)  # 0..1 inside the category
    return pd.Series(pct, index=pd.Index(p[contract.PRODUCT_ID].astype("str"), name=contract.PRODUCT_ID), name="price_pct")


def price_sensitive_customers(transactions: pd.DataFrame, products: pd.DataFrame, max_pct: float = 0.3,
                              min_lines: int = 2) -> pd.Index:
    """Return customers whose purchases sit low in their categories' price range (mean percentile <= ``max_pct``)."""
    sales = transactions.loc[transactions[contract.QUANTITY] > 0, [contract.CUSTOMER_ID, contract.PRODUCT_ID]]
    pct = price_percentile(products).reindex(sales[contract.PRODUCT_ID].astype("str")).to_numpy()
    g = pd.DataFrame({contract.CUSTOMER_ID: sales[contract.CUSTOMER_ID].astype("str").to_numpy(), "pct": pct}).dropna()
    agg = g.groupby(contract.CUSTOMER_ID, sort=True)["pct"].agg(["mean", "size"])
    return pd.Index(agg.index[(agg["mean"] <= max_pct) & (agg["size"] >= min_lines)], name=contract.CUSTOMER_ID)


def customer_rules(customer_ids, segments: pd.DataFrame | None, price_sensitive: pd.Index | None,
                   segment_rules: dict[str, str]) -> pd.Series:
    """Return the rule per customer (``premium``, ``win_back``, ``value`` or ``""``), by customer id.

    ``segments`` has ``customer_id`` and ``segment`` (the segmentation artifact; ``None`` = no segment
    rules); customers in ``price_sensitive`` get the rule of the ``price_sensitive`` key, which wins.
    """
    ids = pd.Index(pd.Series(customer_ids, dtype="str"))
    bad = {v for v in segment_rules.values() if v not in RULES}
    if bad:
        raise ValueError(f"segment rules must be one of {RULES}, not {sorted(bad)}: fix hybrid.rules.segment_rules")
    out = pd.Series("", index=ids, dtype="str", name="rule")
    if segments is not None and "segment" in segments.columns:
        seg = segments.assign(**{contract.CUSTOMER_ID: segments[contract.CUSTOMER_ID].astype("str")}).drop_duplicates(contract.CUSTOMER_ID)
        seg = seg.set_index(contract.CUSTOMER_ID)["segment"].astype("str").reindex(ids)
        out = seg.map({k: v for k, v in segment_rules.items() if k != PRICE_SENSITIVE}).fillna("").astype("str")
        out.name = "rule"
    if price_sensitive is not None and PRICE_SENSITIVE in segment_rules:
        out[ids.isin(price_sensitive)] = segment_rules[PRICE_SENSITIVE]
    return out


def favourite_category(held: sp.csr_matrix, category: np.ndarray) -> np.ndarray:
    """Return per row of ``held`` (customers x products) the category code bought most (-1 without history)."""
    n_cat = int(category.max()) + 1 if len(category) else 1
    onehot = sp.csr_matrix((np.ones(len(category), dtype=np.float32), (np.arange(len(category)), category)),
                           shape=(len(category), n_cat))
    counts = (held @ onehot).toarray()
    return np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)


def rule_boosts(cs: CandidateSet, rules: pd.Series, price_pct: np.ndarray, category: np.ndarray,
                favourite: np.ndarray, boost: float = 0.1) -> np.ndarray:
    """Return additive boosts (customers x candidates): ``boost`` where the candidate fits the customer's rule.

    ``price_pct`` and ``category`` are per product column of the candidate set's universe, ``favourite``
    the favourite category code per customer of ``cs`` (-1 = none), ``rules`` the rule per customer id.
    """
    r = rules.reindex(cs.customer_ids).fillna("").to_numpy()[:, None]
    safe = np.maximum(cs.items, 0)
    pct = price_pct[safe]
    cat = category[safe]
    fit = (((r == PREMIUM) & (pct >= 2 / 3)) | ((r == VALUE) & (pct <= 1 / 3))
           | ((r == WIN_BACK) & (cat == favourite[:, None]) & (favourite[:, None] >= 0)))
    return np.where(fit & cs.valid, float(boost), 0.0)


# ---- diversity --------------------------------------------------------------------------------------
def max_per_category(cs: CandidateSet, scores: np.ndarray, category: np.ndarray, n_max: int) -> np.ndarray:
    """Return ``scores`` with -inf on candidates beyond the ``n_max``-th of their category in score order."""
    if n_max is None or n_max <= 0:
        return scores
    order = np.argsort(-scores, axis=1, kind="stable")
    cat = category[np.maximum(np.take_along_axis(cs.items, order, axis=1), 0)]
    n, m = cat.shape
    key = (np.arange(n)[:, None] * (int(category.max()) + 1) + cat).ravel()
    srt = np.argsort(key, kind="stable")  # stable: keeps score order inside (customer, category)
    ks = key[srt]
    start = np.r_[True, ks[1:] != ks[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(ks)), 0))
    occ = np.empty(len(ks), dtype=np.int64)
    occ[srt] = np.arange(len(ks)) - first
    drop_sorted = occ.reshape(n, m) >= n_max
    out = scores.copy()
    drop = np.zeros_like(drop_sorted)
    np.put_along_axis(drop, order, drop_sorted, axis=1)
    out[drop] = -np.inf
    return out


def mmr(cs: CandidateSet, scores: np.ndarray, features: np.ndarray, k: int, lam: float = 0.7,
        pool: int = 50) -> np.ndarray:
    """Return scores that rank each customer's MMR selection first (k, k-1, ... 1), -inf elsewhere.

    Greedy maximal marginal relevance over the top ``pool`` candidates: at each of ``k`` steps pick
    ``argmax lam * rel - (1 - lam) * max cosine similarity to the picked ones``, ``rel`` = the score
    min-max scaled per customer; ``features`` are per product column (e.g. one-hot categories).
    """
    cols, val = top_k(scores, pool)
    ok = np.isfinite(val)
    lo = np.where(ok, val, np.inf).min(axis=1, keepdims=True)
    hi = np.where(ok, val, -np.inf).max(axis=1, keepdims=True)
    rel = np.where(ok, np.divide(val - lo, hi - lo, out=np.ones_like(val), where=(hi - lo) > 0), -np.inf)
    F = features.astype(np.float64)
    norm = np.linalg.norm(F, axis=1, keepdims=True)
    F = np.divide(F, norm, out=np.zeros_like(F), where=norm > 0)
    V = F[np.maximum(np.take_along_axis(cs.items, cols, axis=1), 0)]  # n x pool x d
    n = len(cols)
    max_sim = np.zeros(val.shape)
    picked = np.zeros(val.shape, dtype=bool)
    out = np.full(scores.shape, -np.inf)
    rows = np.arange(n)
    for step in range(min(k, cols.shape[1])):  # k greedy steps, vectorised over customers
        gain = np.where(picked | ~ok, -np.inf, lam * rel - (1 - lam) * max_sim)
        j = gain.argmax(axis=1)
        good = np.isfinite(gain[rows, j])
        out[rows[good], cols[rows[good], j[good]]] = float(k - step)
        picked[rows[good], j[good]] = True
        sim = np.einsum("npd,nd->np", V, V[rows, j])
        max_sim = np.where(good[:, None], np.maximum(max_sim, sim), max_sim)
    return out


# ---- confidence and explanations --------------------------------------------------------------------
def row_weights(cs: CandidateSet, weights: dict[str, float], switching: Switching | None) -> np.ndarray:
    """Return the (customers x components) weights used for ``cs`` (switching applied)."""
    w = cs.weight_vector(weights)
    return switching.row_weights(w, cs.names, cs.buckets) if switching is not None else np.tile(w, (len(cs), 1))


def confidence(cs: CandidateSet, cols: np.ndarray, W: np.ndarray, top: int = 20) -> np.ndarray:
    """Return per recommended candidate (customers x k): weight share of components ranking it in their top ``top``."""
    pos = np.take_along_axis(cs.positions, cols[:, :, None], axis=1)  # n x k x J
    agree = (pos <= top).astype(np.float64)
    tot = W.sum(axis=1, keepdims=True)
    share = np.divide(np.einsum("nkc,nc->nk", agree, W), tot, out=np.zeros(cols.shape), where=tot > 0)
    return np.minimum(share, 1.0)  # a share of the whole: summation order can put it 1 ulp above 1


def top_component(cs: CandidateSet, cols: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Return per recommended candidate the index (into ``cs.names``) of the component contributing most."""
    sc = np.take_along_axis(cs.scores, cols[:, :, None], axis=1)
    return np.argmax(sc * W[:, None, :], axis=2)


def _most_similar_held(pair_rows: np.ndarray, pair_items: np.ndarray, held: sp.csr_matrix,
                       sim_cols: sp.csr_matrix | np.ndarray, chunk: int = 2_000_000) -> tuple[np.ndarray, np.ndarray]:
    """For (customer row, product) pairs: the held product most similar to the product, and that similarity.

    ``sim_cols`` is a products x products similarity (sparse or dense). Returns (-1, 0) where the
    customer holds nothing similar.
    """
    best_item = np.full(len(pair_rows), -1, dtype=np.int64)
    best_sim = np.zeros(len(pair_rows))
    counts = np.diff(held.indptr)[pair_rows]
    if counts.sum() == 0:
        return best_item, best_sim
    # explode pairs x held items in chunks of pairs so memory stays bounded
    cum = np.cumsum(counts)
    starts = np.r_[0, cum[:-1]]
    s = 0
    while s < len(pair_rows):
        e = int(np.searchsorted(cum, starts[s] + chunk, side="right"))
        e = max(e, s + 1)
        cnt = counts[s:e]
        pid = np.repeat(np.arange(s, e), cnt)
        offs = np.arange(cnt.sum()) - np.repeat(np.r_[0, np.cumsum(cnt)[:-1]], cnt)
        h = held.indices[held.indptr[pair_rows[pid]] + offs]
        p = pair_items[pid]
        v = np.asarray(sim_cols[h, p]).ravel().astype(np.float64)
        v = np.where(h == p, -np.inf, v)
        order = np.lexsort((h, -v, pid))  # per pair: best similarity first, ties: lower product index
        first = np.r_[True, pid[order][1:] != pid[order][:-1]]
        sel = order[first]
        ok = np.isfinite(v[sel]) & (v[sel] > 0)
        best_item[pid[sel][ok]] = h[sel][ok]
        best_sim[pid[sel][ok]] = v[sel][ok]
        s = e
    return best_item, best_sim


def similarity_matrices(held: sp.csr_matrix, products: pd.DataFrame, product_ids: pd.Index,
                        baskets: sp.csr_matrix | None = None) -> dict[str, sp.csr_matrix]:
    """Return products x products similarities for explanations: cosine of ``copurchase`` (customers
    buying both), of ``basket`` (invoices holding both; customers when ``baskets`` is None) and
    ``attributes`` (same category, plus half for the same brand)."""
    def cosine(M: sp.csr_matrix) -> sp.csr_matrix:
        B = M.astype(np.float32).tocsc()
        B.data[:] = 1.0
        co = (B.T @ B).tocsr()
        d = np.sqrt(np.maximum(co.diagonal(), 1e-12))
        return sp.diags(1 / d) @ co @ sp.diags(1 / d)

    co = cosine(held).tocsr()
    out = {"copurchase": co, "basket": cosine(baskets).tocsr() if baskets is not None else co}
    p = products.assign(**{contract.PRODUCT_ID: products[contract.PRODUCT_ID].astype("str")}).drop_duplicates(contract.PRODUCT_ID)
    p = p.set_index(contract.PRODUCT_ID).reindex(product_ids)
    parts = [pd.get_dummies(p[contract.CATEGORY].astype("str"), dtype=np.float32).to_numpy()]
    if contract.BRAND in p.columns:
        parts.append(0.5 * pd.get_dummies(p[contract.BRAND].astype("str"), dtype=np.float32).to_numpy())
    F = sp.csr_matrix(np.hstack(parts))
    out["attributes"] = (F @ F.T).tocsr()
    return out


def explain(cs: CandidateSet, cols: np.ndarray, comp: np.ndarray, held: sp.csr_matrix, held_rows: np.ndarray,
            names: pd.Series, sims: dict[str, sp.csr_matrix], templates: dict[str, str] | None = None,
            ) -> np.ndarray:
    """Return a short explanation per recommended candidate (customers x k array of strings).

    ``comp`` is the top contributing component index per slot, ``held``/``held_rows`` the customers'
    products and their rows for ``cs``'s customers (-1 = none), ``names`` product names per column.
    """
    tpl = {**EXPLANATIONS, **(templates or {})}
    n, k = cols.shape
    items = np.take_along_axis(cs.items, cols, axis=1).ravel()
    comp = comp.ravel()
    rows = np.repeat(held_rows, k)
    comp_names = np.array(cs.names, dtype=object)[comp]
    lookup = {c: tpl.get(c, f"recommended by {c}") for c in cs.names}  # one entry per component
    out = pd.Series(comp_names).map(lookup).to_numpy(dtype=object)
    nm = names.to_numpy().astype(object)
    for cname, kind in SIMILARITY.items():
        if cname not in cs.names or kind not in sims:
            continue
        sel = np.flatnonzero((comp_names == cname) & (rows >= 0) & (items >= 0))
        if len(sel) == 0:
            continue
        best, _ = _most_similar_held(rows[sel], items[sel], held, sims[kind])
        found = best >= 0
        text = np.full(len(sel), GENERIC, dtype=object)
        if found.any():
            pre, _, post = tpl.get(cname, "similar to {item}").partition("{item}")
            text[found] = pre + nm[best[found]] + post  # object arrays concatenate elementwise
        out[sel] = text
    unfilled = pd.Series(out).str.contains("{item}", regex=False).to_numpy()  # nothing held to name
    out[unfilled] = GENERIC
    return out.reshape(n, k)
