"""Content-based recommendation: product vectors from text and attributes, customer profiles, similar items.

Product vectors stack weighted blocks, each L2-normalised: TF-IDF of name + description
(scikit-learn), one-hot category, one-hot brand and a one-hot price band (quantiles of the price).
A block of weight ``w`` is scaled by ``sqrt(w)``, so the cosine of two products is the weighted mean
of their per-block cosines. Item-item similarity is kept sparse (top-N neighbours per product),
computed in row blocks so no dense products x products matrix beyond ``max_dense_cells`` exists.

A customer's profile is the recency-weighted mean of the vectors of what they bought (half-life in
days); recommendations are the products nearest the profile. Products nobody bought yet have vectors
too, so content recommends cold-start products that collaborative filtering cannot.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import OneHotEncoder, normalize

from workbench.data import contract
from workbench.recommend.base import Recommender, top_k
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)

#: the ``content`` params block
DEFAULTS: dict = {
    "text_weight": 0.5,          # weight of the TF-IDF block on name + description (0 = left out)
    "category_weight": 1.0,      # weight of the one-hot category block
    "brand_weight": 0.25,        # weight of the one-hot brand block (when the shop has brands)
    "price_weight": 0.5,         # weight of the one-hot price-band block
    "n_price_bands": 5,          # price bands of the price block
    "max_features": 20000,       # TF-IDF vocabulary size at most
    "min_df": 1,                 # TF-IDF: a word must occur in at least this many products
    "half_life_days": 180.0,     # recency weighting of a customer's purchases (None = no decay)
    "n_neighbours": 20,          # similar items kept per product
    "max_dense_cells": 4_000_000,  # largest dense block (rows x products) built at once
    "cold_share": 0.1,           # cold-start experiment: share of products "launched" in the test period
    "n_examples": 5,             # similar-items examples shown
}

SIMILAR_PRODUCT_ID = "similar_product_id"
SIMILARITY = "similarity"
RANK = "rank"


def _block(m: sp.spmatrix, weight: float) -> sp.csr_matrix:
    return (normalize(sp.csr_matrix(m, dtype=np.float64), norm="l2") * np.sqrt(float(weight))).tocsr()


def price_bands(prices: pd.Series, n_bands: int = 5) -> pd.Series:
    """Return each product's price band 0..n-1 (price quantiles, ties together); all 0 when prices do not vary."""
    p = pd.to_numeric(prices, errors="coerce").astype("float64")
    if p.nunique(dropna=True) < 2 or n_bands < 2:
        return pd.Series(0, index=prices.index, dtype="int64")
    pct = p.rank(pct=True, method="average").fillna(0.5).to_numpy()  # equal prices share a band
    codes = np.clip(np.floor(pct * int(n_bands) - 1e-9), 0, int(n_bands) - 1)
    return pd.Series(codes, index=prices.index).astype("int64")


def product_vectors(products: pd.DataFrame, text_weight: float = 0.5, category_weight: float = 1.0,
                    brand_weight: float = 0.25, price_weight: float = 0.5, n_price_bands: int = 5,
                    max_features: int = 20000, min_df: int = 1) -> tuple[sp.csr_matrix, list[str]]:
    """Return ``(vectors, feature_names)``: L2-normalised sparse product vectors, one row per product row.

    Blocks: TF-IDF on name + description, one-hot category, one-hot brand (if the column exists) and
    one-hot price band; a block is left out when its weight is 0 or it carries no information (a
    constant price, a single category).
    """
    blocks, names = [], []
    if text_weight > 0:
        text = products[contract.NAME].astype("str").fillna("")
        if contract.DESCRIPTION in products:
            text = text + " " + products[contract.DESCRIPTION].astype("str").fillna("").replace({"nan": "", "<NA>": ""})
        tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=min_df, max_features=max_features,
                                token_pattern=r"(?u)\b[^\W\d_][\w\-]+\b")
        try:
            blocks.append(_block(tfidf.fit_transform(text.str.lower()), text_weight))
            names += [f"text:{t}" for t in tfidf.get_feature_names_out()]
        except ValueError:  # empty vocabulary (ids only, no words)
            log.warning("content: no words in name/description; the text block is left out")
    for col, w in ((contract.CATEGORY, category_weight), (contract.BRAND, brand_weight)):
        if w > 0 and col in products and products[col].nunique(dropna=True) > 1:
            enc = OneHotEncoder(handle_unknown="ignore", sparse_output=True)
            vals = products[[col]].astype("str").fillna("unknown")
            blocks.append(_block(enc.fit_transform(vals), w))
            names += [f"{col}:{v}" for v in enc.categories_[0]]
    if price_weight > 0 and contract.PRICE in products:
        band = price_bands(products[contract.PRICE], n_price_bands)
        if band.nunique() > 1:
            m = sp.csr_matrix((np.ones(len(band)), (np.arange(len(band)), band.to_numpy())),
                              shape=(len(band), int(band.max()) + 1))
            blocks.append(_block(m, price_weight))
            names += [f"price_band:{b}" for b in range(m.shape[1])]
    if not blocks:
        raise ValueError("content: no product features (give name/description text, several categories, "
                         "brands or varying prices, with a positive weight)")
    v = normalize(sp.hstack(blocks, format="csr"), norm="l2")
    return v.astype(np.float32), names


def aligned_vectors(products: pd.DataFrame, product_ids: pd.Index, **weights) -> sp.csr_matrix:
    """Return product vectors in the order of ``product_ids`` (zero rows for ids missing from ``products``)."""
    prods = products.drop_duplicates(contract.PRODUCT_ID).reset_index(drop=True)
    vec, _ = product_vectors(prods, **weights)
    pos = pd.Index(prods[contract.PRODUCT_ID].astype("str")).get_indexer(pd.Index(product_ids).astype("str"))
    missing = int((pos < 0).sum())
    if missing:
        log.warning("content: %d product(s) of the interactions are not in the products table: zero vectors",
                    missing)
    sel = sp.csr_matrix((np.ones(int((pos >= 0).sum()), dtype=np.float32),
                         (np.flatnonzero(pos >= 0), pos[pos >= 0])), shape=(len(pos), vec.shape[0]))
    return (sel @ vec).tocsr()


def item_similarity(vectors: sp.csr_matrix, n_neighbours: int = 20, max_dense_cells: int = 4_000_000) -> sp.csr_matrix:
    """Return the sparse top-``n_neighbours`` cosine similarity matrix (products x products, self excluded).

    Rows are computed in blocks of ``max_dense_cells // n_products`` rows, so memory stays bounded.
    Only positive similarities are kept.
    """
    n = vectors.shape[0]
    k = min(int(n_neighbours), max(n - 1, 0))
    if k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    step = max(1, int(max_dense_cells) // max(n, 1))
    vt = vectors.T.tocsc()
    rows, cols, vals = [], [], []
    for s in range(0, n, step):  # blocks of rows, each a bounded dense block
        e = min(s + step, n)
        block = (vectors[s:e] @ vt).toarray()
        block[np.arange(e - s), np.arange(s, e)] = -np.inf  # not its own neighbour
        idx, val = top_k(block, k)
        keep = val > 0
        rows.append(np.repeat(np.arange(s, e), k)[keep.ravel()])
        cols.append(idx[keep])
        vals.append(val[keep])
    return sp.csr_matrix((np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n))


def similarity_table(similarity: sp.csr_matrix, product_ids: pd.Index) -> pd.DataFrame:
    """Return the top-N table ``[product_id, similar_product_id, similarity, rank]`` (rank 1 = most similar)."""
    coo = similarity.tocoo()
    ids = pd.Index(product_ids).astype("str").to_numpy()
    df = pd.DataFrame({"_r": coo.row, "_c": coo.col, SIMILARITY: coo.data.astype(np.float64)})
    df = df.sort_values(["_r", SIMILARITY, "_c"], ascending=[True, False, True], kind="stable")
    df[RANK] = df.groupby("_r").cumcount().astype("int64") + 1
    out = pd.DataFrame({contract.PRODUCT_ID: pd.array(ids[df["_r"].to_numpy()], dtype="str"),
                        SIMILAR_PRODUCT_ID: pd.array(ids[df["_c"].to_numpy()], dtype="str"),
                        SIMILARITY: df[SIMILARITY].to_numpy(), RANK: df[RANK].to_numpy()})
    return out.reset_index(drop=True)


def similar_examples(table: pd.DataFrame, products: pd.DataFrame, product_ids, n: int = 5) -> pd.DataFrame:
    """Return the ``n`` most similar products of each of ``product_ids``, with names and categories."""
    info = products.set_index(products[contract.PRODUCT_ID].astype("str"))
    cols = [c for c in (contract.NAME, contract.CATEGORY, contract.PRICE) if c in info]
    sel = table[table[contract.PRODUCT_ID].isin(pd.Index(product_ids).astype("str")) & (table[RANK] <= n)]
    out = sel.join(info[cols].add_prefix("query_"), on=contract.PRODUCT_ID).join(info[cols].add_prefix("similar_"),
                                                                          on=SIMILAR_PRODUCT_ID)
    return out.reset_index(drop=True)


def example_products(interactions: Interactions, products: pd.DataFrame, n: int = 5) -> list[str]:
    """Return ``n`` example product ids: the most bought product of each of the ``n`` most bought categories."""
    pop = pd.Series(np.asarray(interactions.binary().sum(axis=0)).ravel(), index=interactions.product_ids)
    cat = products.drop_duplicates(contract.PRODUCT_ID).set_index(products[contract.PRODUCT_ID].drop_duplicates().astype("str"))
    df = pd.DataFrame({"pop": pop, contract.CATEGORY: cat[contract.CATEGORY].astype("str").reindex(pop.index)})
    df = df.rename_axis(contract.PRODUCT_ID).reset_index().sort_values(["pop", contract.PRODUCT_ID], ascending=[False, True])
    firsts = df.drop_duplicates(contract.CATEGORY)
    if len(firsts) < n:  # few categories: fill with the next most bought products
        firsts = pd.concat([firsts, df[~df[contract.PRODUCT_ID].isin(firsts[contract.PRODUCT_ID])]]).head(n)
    return firsts[contract.PRODUCT_ID].head(n).astype("str").tolist()


def product_map(vectors: sp.csr_matrix, product_ids: pd.Index, products: pd.DataFrame, seed: int = 42) -> pd.DataFrame:
    """Return a 2-D map of the products (truncated SVD of their vectors): ``[product_id, category, x, y]``.

    ``vectors`` rows follow ``product_ids``; categories come from ``products``.
    """
    ids = pd.Index(product_ids).astype("str")
    cat = products.drop_duplicates(contract.PRODUCT_ID).set_index(products[contract.PRODUCT_ID].drop_duplicates().astype("str"))
    if min(vectors.shape) > 2:
        xy = TruncatedSVD(n_components=2, random_state=seed).fit_transform(vectors)
    else:
        xy = np.zeros((vectors.shape[0], 2))
    return pd.DataFrame({contract.PRODUCT_ID: ids.to_numpy(), contract.CATEGORY: cat[contract.CATEGORY].astype("str").reindex(ids).to_numpy(),
                         "x": xy[:, 0], "y": xy[:, 1]})


def recency_weights(transactions: pd.DataFrame, interactions: Interactions, half_life_days: float | None = 180.0,
                    now=None) -> sp.csr_matrix:
    """Return a customers x products matrix (aligned with ``interactions``) of recency-weighted purchases.

    Each sales line adds ``0.5 ** (age_days / half_life_days)`` (1 without a half-life), age measured
    from ``now`` (default: the last timestamp in ``transactions``).
    """
    r, c = interactions.locate(transactions)  # every line's row and column, shared by the components
    is_sale = (transactions[contract.QUANTITY] > 0).to_numpy()
    ok = is_sale & (r >= 0) & (c >= 0)
    if half_life_days:
        ts = pd.to_datetime(transactions[contract.TIMESTAMP])
        ref = pd.Timestamp(now) if now is not None else ts[is_sale].max()
        age = ((ref - ts[ok]).dt.total_seconds() / 86400.0).clip(lower=0).to_numpy()
        w = np.power(0.5, age / float(half_life_days))
    else:
        w = np.ones(int(ok.sum()))
    m = sp.csr_matrix((w, (r[ok], c[ok])), shape=interactions.shape, dtype=np.float64)
    m.sum_duplicates()
    return m


class ContentRecommender(Recommender):
    """Recommends the products nearest a customer's recency-weighted profile of bought product vectors.

    ``fit(interactions, products=..., transactions=...)``: ``products`` (required) gives the vectors,
    ``transactions`` the purchase times for recency weights (without it, the interaction values weigh).
    """

    name = "content"

    def __init__(self, text_weight: float = 0.5, category_weight: float = 1.0, brand_weight: float = 0.25,
                 price_weight: float = 0.5, n_price_bands: int = 5, max_features: int = 20000, min_df: int = 1,
                 half_life_days: float | None = 180.0, n_neighbours: int = 20, max_dense_cells: int = 4_000_000):
        self.text_weight = text_weight
        self.category_weight = category_weight
        self.brand_weight = brand_weight
        self.price_weight = price_weight
        self.n_price_bands = n_price_bands
        self.max_features = max_features
        self.min_df = min_df
        self.half_life_days = half_life_days
        self.n_neighbours = n_neighbours
        self.max_dense_cells = max_dense_cells


    def _weights(self) -> dict:
        return {"text_weight": self.text_weight, "category_weight": self.category_weight,
                "brand_weight": self.brand_weight, "price_weight": self.price_weight,
                "n_price_bands": self.n_price_bands, "max_features": self.max_features, "min_df": self.min_df}

    def _fit(self, interactions: Interactions, products: pd.DataFrame | None = None,
             transactions: pd.DataFrame | None = None, now=None, **context) -> None:
        if products is None:
            raise ValueError("ContentRecommender.fit needs products=... (the products table with name, category ...)")
        self.vectors_ = aligned_vectors(products, interactions.product_ids, **self._weights())
        if transactions is not None:
            w = recency_weights(transactions, interactions, self.half_life_days, now)
        else:
            w = interactions.matrix.astype(np.float64)
        w = normalize(w, norm="l1")  # weighted mean of the bought vectors
        self.profiles_ = normalize((w @ self.vectors_).tocsr(), norm="l2").astype(np.float32)
        self._vt = self.vectors_.T.tocsc()
        # features x products as a dense array when small: sparse x dense is several times faster than
        # sparse x sparse with a nearly dense result
        cells = self.vectors_.shape[0] * self.vectors_.shape[1]
        self._vt_dense = self._vt.toarray().astype(np.float32) if cells <= int(self.max_dense_cells) else None
        self.batch_size = int(np.clip(int(self.max_dense_cells) // max(interactions.shape[1], 1), 16, 2048))
        self.similarity_ = None

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        if self._vt_dense is not None:
            return np.asarray(self.profiles_[rows] @ self._vt_dense)  # float32, as the model computes
        return (self.profiles_[rows] @ self._vt).toarray()

    def similarity(self) -> sp.csr_matrix:
        """Return (and cache) the sparse top-N item-item similarity of the fitted products."""
        self._check_fitted()
        if self.similarity_ is None:
            self.similarity_ = item_similarity(self.vectors_, self.n_neighbours, self.max_dense_cells)
        return self.similarity_

    def similar_items(self) -> pd.DataFrame:
        """Return the item-similarity top-N table ``[product_id, similar_product_id, similarity, rank]``."""
        return similarity_table(self.similarity(), self.interactions_.product_ids)


# ---- the cold-start experiment ------------------------------------------------------------------------
def launched_products(train: pd.DataFrame, test: pd.DataFrame, share: float = 0.1, seed: int = 42) -> pd.Index:
    """Return the products treated as launched in the test period, sorted.

    These are the products first sold in the test period plus a random ``share`` of the products sold in
    both periods (their training lines are to be dropped, as if they had not been on sale yet).
    """
    def sold(df: pd.DataFrame) -> pd.Index:
        rows = df[df[contract.QUANTITY] > 0] if contract.QUANTITY in df else df  # purchases, or ratings/events rows
        return pd.Index(pd.unique(rows[contract.PRODUCT_ID].astype("str")))

    tr, te = sold(train), sold(test)
    natural = te.difference(tr)
    both = te.intersection(tr).sort_values()
    n = int(round(float(share) * len(both)))
    rng = np.random.default_rng(seed)
    simulated = both[np.sort(rng.choice(len(both), size=min(n, len(both)), replace=False))] if n else both[:0]
    log.info("cold start: %d product(s) first sold in the test period, %d more launched by simulation",
             len(natural), len(simulated))
    return natural.union(simulated).sort_values()


def cold_start_eval(models: dict, test_pairs: pd.DataFrame, cold_products, k: int = 10, seed: int = 42) -> pd.DataFrame:
    """Return per model how well it recommends cold products (no training purchases) to the test customers.

    ``models`` are fitted recommenders (name -> model) sharing a product universe that includes the cold
    products; ``test_pairs`` the test (customer_id, product_id) pairs. Columns: ``cold_recall@k`` (share
    of test purchases of cold products hit by the usual top-k lists), ``cold_recommended`` (share of cold
    products in some top-k list), and ``cold_ndcg@k`` / ``cold_recall_only@k`` when each customer's
    candidates are the cold products only (chance level in ``random_recall_only@k``; ties are broken at
    random with ``seed``).
    """
    from workbench.evaluate.metrics import evaluate_ranking
    from workbench.recommend.base import RANK, SCORE

    cold = pd.Index(cold_products).astype("str")
    pairs = test_pairs[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].astype("str").drop_duplicates()
    cold_pairs = pairs[pairs[contract.PRODUCT_ID].isin(cold)]
    customers = pd.Index(pd.unique(cold_pairs[contract.CUSTOMER_ID])).sort_values()
    rows_out = []
    for name, model in models.items():  # a handful of models
        inter = model.interactions_
        cols = inter.product_index(cold)
        cols = np.sort(cols[cols >= 0])
        full = model.recommend(customers, k=k)
        hit = full.merge(cold_pairs, on=[contract.CUSTOMER_ID, contract.PRODUCT_ID])
        sc = model.score_batch(inter.customer_index(customers))[:, cols] if len(customers) else np.zeros((0, 0))
        # ties (a model that cannot tell cold products apart scores them all alike) break at random, seeded
        jitter = np.random.default_rng(seed).random(sc.shape) * 1e-9 * max(float(np.abs(sc).max(initial=0.0)), 1e-12)
        idx, val = top_k(sc + jitter, k)
        only = pd.DataFrame({contract.CUSTOMER_ID: np.repeat(customers.to_numpy(), idx.shape[1]),
                             contract.PRODUCT_ID: inter.product_ids.to_numpy()[cols[idx.ravel()]] if len(cols) else [],
                             SCORE: val.ravel(), RANK: np.tile(np.arange(1, idx.shape[1] + 1), len(customers))})
        m = evaluate_ranking(cold_pairs, only, k=k, n_items=len(cols)) if len(cold_pairs) else {}
        rows_out.append({"model": name, "cold_products": len(cols), "cold_test_pairs": len(cold_pairs),
                         f"cold_recall@{k}": len(hit) / max(len(cold_pairs), 1),
                         "cold_recommended": full.loc[full[contract.PRODUCT_ID].isin(cold), contract.PRODUCT_ID].nunique()
                         / max(len(cols), 1),
                         f"cold_ndcg@{k}": m.get(f"ndcg@{k}", np.nan),
                         f"cold_recall_only@{k}": m.get(f"recall@{k}", np.nan),
                         f"random_recall_only@{k}": min(k / max(len(cols), 1), 1.0)})
    return pd.DataFrame(rows_out)
