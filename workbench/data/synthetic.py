"""A deterministic synthetic shop with planted ground truth.

The generator follows the design brief (frequent ~20%, seasonal ~30% and one-time ~50% buyers, at
least five categories with realistic prices, text descriptions, seasonality) and plants what later
stages must recover:

* ``truth["segments"]``: each customer's behaviour segment (``frequent``, ``seasonal``,
  ``one_time``, ``browser`` = never buys) and price tier preference;
* ``truth["bundles"]``: product pairs bought together far above chance (``product_a`` -> ``product_b``);
* ``truth["elasticities"]``: the planted own-price elasticity per category;
* ``truth["product_elasticity"]``: the exact own-price elasticity per product at its usual prices;
* ``truth["demand"]``: per product and week, the expected units sold at the shelf price, with what
  is needed to evaluate the true demand curve at any other price (:func:`true_expected_units`);
* ``truth["params"]``: the scalar settings (competitor cross-elasticity, bundle probability ...).

How demand is made (so the truth is exact): every invoice line picks a category from the
customer's affinity and the season, a price tier from the customer's tier preference, then a
product of that (category, tier) group with probability proportional to
``a_j * (p_jw / p0_j) ** e_c * (comp_jw / p0_j) ** x`` (zero when out of stock), where ``a_j`` is
the product's popularity, ``p0_j`` its list price, ``e_c`` the category elasticity and ``x`` the
competitor cross-elasticity. Planted bundle partners are added to a basket holding the anchor with
probability ``bundle_prob * m_jw / max_w m_jw`` (so they keep the constant elasticity). Shelf prices
rise in each category's high season and promotions fall in its low season: prices respond to demand,
so a naive log-log regression of units on price is biased towards zero.

Everything is vectorised with numpy; 1,000,000 customers take seconds, not minutes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from workbench.data import contract as C
from workbench.data.shop import Shop

log = logging.getLogger(__name__)

SEGMENTS = ("frequent", "seasonal", "one_time", "browser")
TIERS = ("budget", "mid", "premium")


@dataclass(frozen=True)
class CategorySpec:
    """A catalog category: list-price range, planted elasticity, seasonal peak and text vocabulary."""

    name: str
    price_low: float
    price_high: float
    elasticity: float
    peak_week: int  # ISO-ish week of year of the seasonal peak
    season_amp: float
    qty_mean: float  # mean extra units per line (Poisson) on top of 1
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    features: tuple[str, ...]
    brands: tuple[str, ...]


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("electronics", 25, 900, -2.2, 47, 0.9, 0.05,
                 ("headphones", "speaker", "tablet", "smartwatch", "camera", "charger", "keyboard", "monitor"),
                 ("wireless", "portable", "smart", "compact", "ultra", "pro"),
                 ("bluetooth 5.3", "long battery life", "noise cancelling", "fast charging", "4k display",
                  "water resistant"),
                 ("Voltix", "Nordtek", "Aurion", "Pixelo")),
    CategorySpec("home", 8, 250, -1.6, 12, 0.4, 0.2,
                 ("lamp", "cushion", "vase", "rug", "candle", "mirror", "clock", "shelf"),
                 ("scandinavian", "rustic", "modern", "cosy", "vintage", "minimal"),
                 ("hand made", "solid oak", "soft cotton", "scented soy wax", "easy to assemble", "ceramic"),
                 ("Hearthly", "Casa Lumo", "Oakfield")),
    CategorySpec("clothing", 10, 180, -1.8, 38, 0.5, 0.15,
                 ("jacket", "sweater", "t-shirt", "jeans", "dress", "scarf", "sneakers", "coat"),
                 ("slim", "oversized", "classic", "organic", "warm", "lightweight"),
                 ("merino wool", "organic cotton", "recycled polyester", "breathable", "machine washable",
                  "waterproof"),
                 ("Threadline", "Urbano", "Kestrel")),
    CategorySpec("beauty", 4, 80, -1.2, 6, 0.3, 0.3,
                 ("moisturiser", "serum", "lipstick", "shampoo", "perfume", "face mask", "sunscreen"),
                 ("hydrating", "natural", "vegan", "gentle", "radiant", "daily"),
                 ("hyaluronic acid", "fragrance free", "spf 50", "vitamin c", "dermatologist tested",
                  "cruelty free"),
                 ("Lumea", "Verdance", "Silk & Co")),
    CategorySpec("sports", 12, 400, -1.5, 24, 0.8, 0.1,
                 ("running shoes", "yoga mat", "dumbbells", "bike helmet", "tent", "water bottle", "backpack"),
                 ("durable", "lightweight", "ergonomic", "outdoor", "performance", "foldable"),
                 ("non slip", "shock absorbing", "adjustable", "insulated", "uv protection", "quick dry"),
                 ("Summit", "Pacer", "Trailhawk")),
    CategorySpec("books", 5, 45, -0.9, 50, 0.6, 0.2,
                 ("novel", "cookbook", "biography", "travel guide", "comic", "history book", "poetry"),
                 ("bestselling", "illustrated", "award winning", "classic", "new", "collected"),
                 ("hardcover", "paperback", "signed edition", "large print", "with maps", "annotated"),
                 ("Penfold Press", "Blue Quill", "Marlow Books")),
    CategorySpec("toys", 6, 120, -1.4, 50, 1.4, 0.15,
                 ("puzzle", "building blocks", "doll", "board game", "plush bear", "rc car", "train set"),
                 ("educational", "colourful", "wooden", "classic", "interactive", "creative"),
                 ("ages 3+", "ages 8+", "battery powered", "non toxic paint", "1000 pieces", "family game"),
                 ("Playwell", "Tinker Tots", "Jolly")),
    CategorySpec("grocery", 1.5, 30, -0.7, 51, 0.2, 1.2,
                 ("coffee beans", "olive oil", "dark chocolate", "green tea", "honey", "pasta", "granola"),
                 ("organic", "fair trade", "artisan", "premium", "italian", "single origin"),
                 ("cold pressed", "gluten free", "100% arabica", "no added sugar", "family size", "roasted"),
                 ("Fields & Co", "Bellacasa", "Morning Farm")),
)

#: preferred category weights per behaviour segment (rows follow SEGMENTS, columns CATEGORIES)
_SEGMENT_CATEGORY_PREF = np.array([
    [1.3, 1.2, 1.0, 1.2, 1.0, 1.2, 0.6, 2.0],   # frequent: everyday categories
    [1.6, 0.9, 1.3, 0.8, 0.9, 0.9, 2.0, 0.6],   # seasonal: gifts (electronics, toys, clothing)
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],   # one time: anything
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],   # browser: views only
])
#: price-tier preference per segment (budget, mid, premium)
_SEGMENT_TIER_PREF = np.array([
    [0.3, 0.4, 0.3],
    [0.25, 0.45, 0.3],
    [0.45, 0.4, 0.15],
    [0.34, 0.33, 0.33],
])
#: holiday windows (day of year, length in days) where seasonal buyers shop
_HOLIDAYS = ((45, 4), (190, 10), (328, 5), (340, 14))


def default_config() -> dict:
    """The generator's settings and their defaults (the ``data.synthetic`` params block)."""
    return {
        "n_customers": 1000,
        "n_products": 500,
        "start_date": "2023-01-02",
        "n_weeks": 104,
        "seed": 42,
        "segment_shares": {"frequent": 0.2, "seasonal": 0.3, "one_time": 0.47, "browser": 0.03},
        "frequent_purchases": [5, 15],
        "seasonal_purchases": [2, 5],
        "mean_extra_lines": 1.8,
        "n_bundles": 20,
        "bundle_prob": 0.6,
        "return_rate": 0.03,
        "competitor_elasticity": 0.8,
        "stockout_rate": 0.02,
        "views_per_customer": 6.0,
        "events": True,
    }


def _categorical(values, categories) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(values), categories=list(categories))


def _ids(prefix: str, n: int, start: int = 1) -> np.ndarray:
    width = max(5, len(str(n + start)))
    return np.char.add(prefix, np.char.zfill(np.arange(start, start + n).astype(str), width))


def _arrow_ids(prefix: str, n: int, start: int = 1) -> pd.api.extensions.ExtensionArray:
    """The ids of :func:`_ids` as a pandas ``str`` array built by Arrow kernels (no numpy unicode round trip)."""
    width = max(5, len(str(n + start)))
    numbers = pc.cast(pyarrow.array(np.arange(start, start + n, dtype=np.int64)), pyarrow.string())
    digits = pc.utf8_lpad(numbers, width=width, padding="0")
    return pd.array(pc.binary_join_element_wise(prefix, digits, ""), dtype="str")


def _sample_groups(rng, group_of_row: np.ndarray, cum: np.ndarray, offsets: np.ndarray,
                   sizes: np.ndarray, col_of_row: np.ndarray) -> np.ndarray:
    """Draw one item per row from per-(group, column) weights given as flattened cumulative sums.

    ``cum`` is a 2-D array (columns = weeks) of within-group cumulative weights normalised to 1 at each
    group's end, stacked over groups, with ``offsets``/``sizes`` locating each group's block. Returns the
    position of the drawn item (in the stacked order) for every row; fully vectorised.
    """
    u = rng.random(len(group_of_row))
    lo = offsets[group_of_row]
    n = sizes[group_of_row]
    # per column the cumulative weights inside a group go 0 -> 1; search inside the group's block
    out = np.empty(len(group_of_row), dtype=np.int64)
    # sort rows by (column) so each column is one searchsorted over a column vector with group offsets
    order = np.argsort(col_of_row, kind="stable")
    cols = col_of_row[order]
    bounds = np.flatnonzero(np.diff(cols)) + 1
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, len(cols)]
    for s, e in zip(starts, ends):  # one pass per week column, not per row
        rows = order[s:e]
        col = cum[:, cols[s]]
        # add the group index so the stacked cumulative column is globally increasing
        key = col + np.repeat(np.arange(len(sizes)), sizes)
        pos = np.searchsorted(key, group_of_row[rows] + u[rows], side="left")
        out[rows] = np.clip(pos, lo[rows], lo[rows] + n[rows] - 1)
    return out


def generate_shop(config: dict | None = None, **overrides) -> Shop:
    """Return a synthetic :class:`Shop` (all contract tables plus ``truth``) from a config dict.

    Keys are those of :func:`default_config`; anything not given takes its default. The same config
    always gives the same tables, byte for byte.
    """
    cfg = default_config()
    cfg.update(config or {})
    cfg.update(overrides)
    rng = np.random.default_rng(int(cfg["seed"]))
    n_cust, n_prod, n_weeks = int(cfg["n_customers"]), int(cfg["n_products"]), int(cfg["n_weeks"])
    if n_cust < 10 or n_prod < 3 * len(CATEGORIES) or n_weeks < 8:
        raise ValueError("synthetic shop needs n_customers >= 10, n_products >= 24 and n_weeks >= 8")
    start = pd.Timestamp(cfg["start_date"]).normalize()
    start = start - pd.Timedelta(days=start.day_of_week)  # align to a Monday
    n_days = 7 * n_weeks
    n_cat = len(CATEGORIES)

    # ---------------- products -------------------------------------------------------------
    cat_of_prod = np.sort(rng.integers(0, n_cat, n_prod))
    cat_of_prod[:n_cat] = np.arange(n_cat)  # every category present
    cat_of_prod = np.sort(cat_of_prod)
    lo = np.array([c.price_low for c in CATEGORIES])[cat_of_prod]
    hi = np.array([c.price_high for c in CATEGORIES])[cat_of_prod]
    # log-uniform list prices inside the category range, rounded to .99
    list_price = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    list_price = np.maximum(np.floor(list_price) + 0.99, 0.99)
    # price tier = tercile of price inside the category
    rank_in_cat = pd.Series(list_price).groupby(cat_of_prod).rank(pct=True).to_numpy()
    tier_of_prod = np.minimum((rank_in_cat * 3 - 1e-9).astype(int), 2)
    popularity = rng.lognormal(0.0, 0.8, n_prod)
    elasticity_c = np.array([c.elasticity for c in CATEGORIES])
    cost_share = rng.uniform(0.45, 0.65, n_prod)

    def pick(vocab_attr: str) -> np.ndarray:
        out = np.empty(n_prod, dtype=object)
        for ci, spec in enumerate(CATEGORIES):  # 8 categories, vectorised inside
            m = cat_of_prod == ci
            vocab = np.array(getattr(spec, vocab_attr), dtype=object)
            out[m] = vocab[rng.integers(0, len(vocab), m.sum())]
        return out

    brand, adj, noun = pick("brands"), pick("adjectives"), pick("nouns")
    feat1, feat2 = pick("features"), pick("features")
    cat_names = np.array([c.name for c in CATEGORIES], dtype=object)
    tier_word = np.array(["value", "everyday", "premium"], dtype=object)[tier_of_prod]
    product_ids = _ids("P", n_prod)
    names = brand + " " + adj + " " + noun
    descriptions = ("A " + tier_word + " " + adj + " " + noun + " from " + brand + ". " + feat1 + ", " + feat2
                    + ". Part of our " + cat_names[cat_of_prod] + " range.")
    products = pd.DataFrame({
        C.PRODUCT_ID: pd.array(product_ids, dtype="str"),
        C.NAME: pd.array(names.astype(str), dtype="str"),
        C.CATEGORY: _categorical(cat_of_prod, cat_names),
        C.PRICE: list_price.round(2),
        C.DESCRIPTION: pd.array(descriptions.astype(str), dtype="str"),
        C.BRAND: pd.Categorical(brand.astype(str)),
    })

    # ---------------- weekly prices, competitor prices, stock ------------------------------------
    week = np.arange(n_weeks)
    woy = (start + pd.to_timedelta(7 * week, unit="D")).isocalendar().week.to_numpy().astype(float)
    peak = np.array([c.peak_week for c in CATEGORIES], dtype=float)
    amp = np.array([c.season_amp for c in CATEGORIES])
    dist = np.abs(((woy[None, :] - peak[:, None]) + 26) % 52 - 26)  # circular distance in weeks
    season_cw = 1.0 + amp[:, None] * np.exp(-0.5 * (dist / 3.5) ** 2)  # (cat, week)
    # shelf price: slow random walk + seasonal mark-up (endogenous) + promotions in low season
    walk = np.cumsum(rng.normal(0, 0.015, (n_prod, n_weeks)), axis=1)
    walk = walk - walk.mean(axis=1, keepdims=True)
    season_p = season_cw[cat_of_prod]
    markup = 0.10 * (season_p - 1.0) / np.maximum(amp[cat_of_prod][:, None], 1e-9)
    promo_prob = 0.10 * (1.0 - (season_p - 1.0) / np.maximum(amp[cat_of_prod][:, None], 1e-9))
    promo = rng.random((n_prod, n_weeks)) < promo_prob
    discount = np.where(promo, rng.uniform(0.10, 0.30, (n_prod, n_weeks)), 0.0)
    mult = np.clip(np.exp(walk) * (1 + markup) * (1 - discount), 0.6, 1.4)
    shelf = np.round(list_price[:, None] * mult, 2)
    comp_mult = np.exp(np.clip(np.cumsum(rng.normal(0, 0.02, (n_prod, n_weeks)), axis=1)
                               + rng.normal(0, 0.05, (n_prod, 1)), -0.25, 0.25))
    comp = np.round(list_price[:, None] * comp_mult, 2)
    in_stock = rng.random((n_prod, n_weeks)) >= float(cfg["stockout_rate"])
    x_comp = float(cfg["competitor_elasticity"])
    e_prod = elasticity_c[cat_of_prod]
    m = (shelf / list_price[:, None]) ** e_prod[:, None] * (comp / list_price[:, None]) ** x_comp
    weight = popularity[:, None] * m * in_stock  # (prod, week)

    # groups = (category, tier); products are sorted by category, order them by group
    group_of_prod = cat_of_prod * 3 + tier_of_prod
    n_groups = n_cat * 3
    gorder = np.argsort(group_of_prod, kind="stable")
    gsizes = np.bincount(group_of_prod, minlength=n_groups)
    # a group may be empty on tiny catalogs: fall back to the category's other tiers
    goffsets = np.r_[0, np.cumsum(gsizes)[:-1]]
    w_sorted = weight[gorder]
    gsum = np.add.reduceat(w_sorted, goffsets[gsizes > 0], axis=0)  # (non-empty groups, week)
    gsum_full = np.zeros((n_groups, n_weeks))
    gsum_full[gsizes > 0] = gsum
    # within-group normalised cumulative weights (0 -> 1 inside each group, per week)
    grp_sorted = group_of_prod[gorder]
    prev = np.zeros((n_groups, n_weeks))
    prev[1:] = np.cumsum(gsum_full, axis=0)[:-1]
    cum_within = (np.cumsum(w_sorted, axis=0) - prev[grp_sorted]) / np.maximum(gsum_full[grp_sorted], 1e-300)

    # ---------------- customers -----------------------------------------------------------------
    shares = cfg["segment_shares"]
    seg_p = np.array([float(shares[s]) for s in SEGMENTS])
    seg_p = seg_p / seg_p.sum()
    segment = rng.choice(len(SEGMENTS), size=n_cust, p=seg_p)
    end = start + pd.Timedelta(days=n_days)
    signup_day = rng.integers(-365, n_days - 60, n_cust)
    # frequent buyers have been around long enough to buy often
    signup_day = np.where(segment == 0, np.minimum(signup_day, n_days // 3), signup_day)
    age = np.clip(np.round(rng.normal(np.array([44, 38, 35, 30])[segment], 12)), 18, 90).astype(int)
    gender = rng.choice(3, n_cust, p=[0.49, 0.47, 0.04])
    regions = ["north", "south", "east", "west", "central", "capital", "coast", "islands"]
    location = rng.choice(len(regions), n_cust, p=[0.15, 0.15, 0.12, 0.12, 0.14, 0.2, 0.08, 0.04])
    customer_ids = _arrow_ids("C", n_cust)
    customers = pd.DataFrame({
        C.CUSTOMER_ID: pd.array(customer_ids, dtype="str"),
        C.SIGNUP_DATE: start + pd.to_timedelta(signup_day, unit="D"),
        C.AGE: age.astype("int64"),
        C.GENDER: _categorical(gender, ["female", "male", "other"]),
        C.LOCATION: _categorical(location, regions),
    })
    # category affinity: Dirichlet around the segment's preference
    alpha = _SEGMENT_CATEGORY_PREF[segment] * 2.0
    aff = rng.gamma(alpha)
    aff /= aff.sum(axis=1, keepdims=True)
    tier_pref = rng.gamma(_SEGMENT_TIER_PREF[segment] * 6.0)
    tier_pref /= tier_pref.sum(axis=1, keepdims=True)

    # ---------------- invoices: how many and when -------------------------------------------------------
    f_lo, f_hi = cfg["frequent_purchases"]
    s_lo, s_hi = cfg["seasonal_purchases"]
    n_inv = np.zeros(n_cust, dtype=np.int64)
    n_inv[segment == 0] = rng.integers(f_lo, f_hi + 1, (segment == 0).sum())
    n_inv[segment == 1] = rng.integers(s_lo, s_hi + 1, (segment == 1).sum())
    n_inv[segment == 2] = 1
    inv_cust = np.repeat(np.arange(n_cust), n_inv)
    days = np.arange(n_days)
    doy = (start + pd.to_timedelta(days, unit="D")).day_of_year.to_numpy()
    global_season = season_cw.mean(axis=0)[np.minimum(days // 7, n_weeks - 1)]
    holiday = np.zeros(n_days)
    for d0, length in _HOLIDAYS:  # four fixed windows
        holiday += ((doy >= d0) & (doy < d0 + length)).astype(float)
    cum_all_days = np.r_[0, np.cumsum(global_season)]
    cum_hol = np.r_[0, np.cumsum(holiday + 1e-3 * global_season)]
    first = np.clip(signup_day[inv_cust], 0, n_days - 1)
    seasonal_inv = segment[inv_cust] == 1
    lo_all, hi_all = cum_all_days[first], cum_all_days[n_days]
    lo_hol, hi_hol = cum_hol[first], cum_hol[n_days]
    u = rng.random(len(inv_cust))
    day_all = np.searchsorted(cum_all_days, lo_all + u * (hi_all - lo_all), side="right") - 1
    day_hol = np.searchsorted(cum_hol, lo_hol + u * (hi_hol - lo_hol), side="right") - 1
    inv_day = np.clip(np.where(seasonal_inv, day_hol, day_all), 0, n_days - 1)
    inv_seconds = rng.integers(8 * 3600, 22 * 3600, len(inv_cust))
    order = np.lexsort((inv_seconds, inv_day))  # invoice ids follow time
    inv_cust, inv_day, inv_seconds = inv_cust[order], inv_day[order], inv_seconds[order]
    n_invoices = len(inv_cust)
    inv_week = np.minimum(inv_day // 7, n_weeks - 1)

    # ---------------- lines: category, tier, product ----------------------------------------------------
    n_lines_inv = 1 + rng.poisson(float(cfg["mean_extra_lines"]), n_invoices)
    line_inv = np.repeat(np.arange(n_invoices), n_lines_inv)
    line_cust = inv_cust[line_inv]
    line_week = inv_week[line_inv]
    n_lines = len(line_inv)
    line_cat = np.empty(n_lines, dtype=np.int64)
    line_tier = np.empty(n_lines, dtype=np.int64)
    chunk = 2_000_000
    for s in range(0, n_lines, chunk):  # bounded memory on 10M lines
        sl = slice(s, s + chunk)
        p_cat = aff[line_cust[sl]] * season_cw[:, line_week[sl]].T
        c = (p_cat.cumsum(axis=1) < rng.random(p_cat.shape[0])[:, None] * p_cat.sum(axis=1, keepdims=True)).sum(1)
        line_cat[sl] = np.minimum(c, n_cat - 1)
        p_t = tier_pref[line_cust[sl]]
        t = (p_t.cumsum(axis=1) < rng.random(p_t.shape[0])[:, None]).sum(1)
        line_tier[sl] = np.minimum(t, 2)
    line_group = line_cat * 3 + line_tier
    # empty (category, tier) groups -> use the category's mid/other tier that exists
    for g in np.flatnonzero(gsizes == 0):  # at most a few groups, only on tiny catalogs
        alts = [a for a in range((g // 3) * 3, (g // 3) * 3 + 3) if gsizes[a] > 0]
        line_group[line_group == g] = alts[0]
    pos = _sample_groups(rng, line_group, cum_within, goffsets, gsizes, line_week)
    line_prod = gorder[pos]
    qty_mean = np.array([c.qty_mean for c in CATEGORIES])
    line_qty = 1 + rng.poisson(qty_mean[cat_of_prod[line_prod]])

    # ---------------- planted bundles ---------------------------------------------------------------------
    n_b = int(cfg["n_bundles"])
    bundle_prob = float(cfg["bundle_prob"])
    # anchors: reasonably popular products; partners: products of another category
    pop_rank = np.argsort(-popularity)
    anchors = rng.choice(pop_rank[: max(n_b * 3, n_prod // 4)], size=n_b, replace=False)
    partners = np.empty(n_b, dtype=np.int64)
    taken = set(anchors.tolist())
    for i, a in enumerate(anchors):  # n_bundles draws (20 by default)
        cands = np.flatnonzero((cat_of_prod != cat_of_prod[a]))
        cands = np.array([c for c in rng.permutation(cands) if c not in taken])
        partners[i] = cands[0]
        taken.add(int(cands[0]))
    partner_of = np.full(n_prod, -1)
    partner_of[anchors] = partners
    m_max = m.max(axis=1)
    has_anchor = partner_of[line_prod] >= 0
    partner = partner_of[line_prod]
    acc = np.zeros(n_lines, dtype=bool)
    pa = partner[has_anchor]
    acc[has_anchor] = (rng.random(has_anchor.sum())
                       < bundle_prob * (m[pa, line_week[has_anchor]] * in_stock[pa, line_week[has_anchor]])
                       / m_max[pa])
    add_inv = line_inv[acc]
    add_prod = partner[acc]
    add_qty = 1 + rng.poisson(qty_mean[cat_of_prod[add_prod]])
    all_inv = np.r_[line_inv, add_inv]
    all_prod = np.r_[line_prod, add_prod]
    all_qty = np.r_[line_qty, add_qty]
    # one line per (invoice, product): merge repeats by summing quantities
    key = all_inv * n_prod + all_prod
    ukey, inverse = np.unique(key, return_inverse=True)
    qty = np.bincount(inverse, weights=all_qty).astype(np.int64)
    l_inv = ukey // n_prod
    l_prod = ukey % n_prod
    l_week = inv_week[l_inv]
    l_price = shelf[l_prod, l_week]

    # ---------------- returns -------------------------------------------------------------------------------
    ret = rng.random(len(l_inv)) < float(cfg["return_rate"])
    r_idx = np.flatnonzero(ret)
    r_delay = rng.integers(2, 30, len(r_idx))
    r_day = inv_day[l_inv[r_idx]] + r_delay
    keep_r = r_day < n_days
    r_idx, r_day = r_idx[keep_r], r_day[keep_r]
    r_qty = -np.minimum(qty[r_idx], 1 + rng.poisson(0.2, len(r_idx)))

    # numeric keys first, strings last: sort by (time, invoice, product) on integers
    sale_sec = inv_day[l_inv] * 86400 + inv_seconds[l_inv]
    ret_sec = r_day * 86400 + rng.integers(9 * 3600, 18 * 3600, len(r_idx))
    all_sec = np.r_[sale_sec, ret_sec]
    all_inv = np.r_[l_inv, l_inv[r_idx] + n_invoices]  # returns after sales in id space
    all_prod = np.r_[l_prod, l_prod[r_idx]]
    # sales come sorted by (invoice, product) and invoice ids follow time, returns likewise after them, so a
    # stable sort on the time alone gives the (time, invoice, product) order (and timsort runs through the
    # already sorted sales in one pass)
    order = np.argsort(all_sec, kind="stable")
    inv_arr = pd.array(pyarrow.concat_arrays([_arrow_ids("T", n_invoices)._pa_array.combine_chunks(),
                                         _arrow_ids("R", n_invoices)._pa_array.combine_chunks()]), dtype="str")
    cust_arr = pd.array(customer_ids, dtype="str")
    prod_arr = pd.array(product_ids, dtype="str")
    all_cust = np.r_[inv_cust[l_inv], inv_cust[l_inv[r_idx]]]
    transactions = pd.DataFrame({
        C.TRANSACTION_ID: inv_arr.take(all_inv[order]),
        C.CUSTOMER_ID: cust_arr.take(all_cust[order]),
        C.PRODUCT_ID: prod_arr.take(all_prod[order]),
        C.TIMESTAMP: (start + pd.to_timedelta(all_sec[order], unit="s")).as_unit("us"),
        C.QUANTITY: np.r_[qty, r_qty].astype("int64")[order],
        C.UNIT_PRICE: np.r_[l_price, l_price[r_idx]][order],
    })

    # ---------------- prices table ------------------------------------------------------------------------------
    week_dates = start + pd.to_timedelta(7 * week, unit="D")
    prices = pd.DataFrame({
        C.PRODUCT_ID: pd.array(np.repeat(product_ids, n_weeks), dtype="str"),
        C.DATE: np.tile(week_dates.to_numpy(), n_prod),
        C.PRICE: shelf.ravel(),
        C.COMPETITOR_PRICE: comp.ravel(),
        C.STOCK: np.where(in_stock, 5 + rng.poisson(30, (n_prod, n_weeks)), 0).ravel().astype("int64"),
    })

    # ---------------- events ----------------------------------------------------------------------------------------
    events = None
    if cfg.get("events", True):
        events = _make_events(rng, cfg, sale_sec, inv_cust[l_inv], l_prod, customer_ids, product_ids, popularity,
                              start, n_days, signup_day)

    # ---------------- truth -------------------------------------------------------------------------------------
    truth = _make_truth(cfg, customers, products, segment, tier_pref, anchors, partners, product_ids,
                        cat_of_prod, cat_names, elasticity_c, e_prod, popularity, list_price, cost_share,
                        shelf, comp, m, m_max, in_stock, weight, gsum_full, group_of_prod, line_group,
                        line_week, line_prod, acc, partner, bundle_prob, qty_mean, week_dates, n_weeks, x_comp)
    log.info("synthetic shop: %d customers, %d products, %d transaction lines", n_cust, n_prod, len(transactions))
    return Shop(customers=customers, products=products, transactions=transactions, events=events,
                prices=prices, truth=truth, name="synthetic", meta={"config": cfg})


def _make_events(rng, cfg, sale_sec, sale_cust, sale_prod, customer_ids, product_ids, popularity, start, n_days,
                 signup_day):
    """Views and add-to-carts leading up to each purchase line, plus views that never convert."""
    n = len(sale_sec)
    n_views = 1 + rng.poisson(1.0, n)
    v_idx = np.repeat(np.arange(n), n_views)
    v_sec = sale_sec[v_idx] - rng.integers(600, 72 * 3600, len(v_idx))
    cart = rng.random(n) < 0.75
    c_sec = sale_sec[cart] - rng.integers(60, 3600, int(cart.sum()))
    # browsing that never converts
    n_cust = len(customer_ids)
    n_free = rng.poisson(float(cfg["views_per_customer"]), n_cust)
    f_cust = np.repeat(np.arange(n_cust), n_free)
    p = popularity / popularity.sum()
    f_prod = rng.choice(len(product_ids), size=len(f_cust), p=p)
    first = np.clip(signup_day[f_cust], 0, n_days - 1)
    f_day = first + (rng.random(len(f_cust)) * (n_days - first)).astype(np.int64)
    f_sec = f_day * 86400 + rng.integers(0, 86400, len(f_cust))
    sec = np.r_[v_sec, f_sec, c_sec, sale_sec]
    cust = np.r_[sale_cust[v_idx], f_cust, sale_cust[cart], sale_cust]
    prod = np.r_[sale_prod[v_idx], f_prod, sale_prod[cart], sale_prod]
    kinds = np.r_[np.zeros(len(v_idx) + len(f_cust), dtype=np.int8), np.ones(int(cart.sum()), dtype=np.int8),
                  np.full(n, 2, dtype=np.int8)]
    order = np.argsort((sec - sec.min()) * (3 * n_cust) + cust * 3 + kinds)  # one int64 key: time, customer, kind
    return pd.DataFrame({
        C.TIMESTAMP: (start + pd.to_timedelta(sec[order], unit="s")).as_unit("us"),
        C.CUSTOMER_ID: pd.array(customer_ids, dtype="str").take(cust[order]),
        C.PRODUCT_ID: pd.array(product_ids, dtype="str").take(prod[order]),
        C.EVENT: pd.Categorical.from_codes(kinds[order], categories=list(C.EVENT_TYPES)),
    })


def _make_truth(cfg, customers, products, segment, tier_pref, anchors, partners, product_ids, cat_of_prod,
                cat_names, elasticity_c, e_prod, popularity, list_price, cost_share, shelf, comp, m, m_max,
                in_stock, weight, gsum_full, group_of_prod, line_group, line_week, line_prod, acc, partner,
                bundle_prob, qty_mean, week_dates, n_weeks, x_comp) -> dict[str, pd.DataFrame]:
    """Everything the generator planted, as DataFrames."""
    n_prod = len(products)
    n_groups = gsum_full.shape[0]
    segments = pd.DataFrame({
        C.CUSTOMER_ID: customers[C.CUSTOMER_ID],
        "segment": _categorical(segment, SEGMENTS),
        "tier_preference": _categorical(tier_pref.argmax(axis=1), TIERS),
    })
    # bundle lift as planted: P(partner | anchor in basket) vs P(partner)
    bundles = pd.DataFrame({
        "product_a": pd.array(product_ids[anchors], dtype="str"),
        "product_b": pd.array(product_ids[partners], dtype="str"),
        "probability": bundle_prob,
    })
    elasticities = pd.DataFrame({C.CATEGORY: list(cat_names), "elasticity": elasticity_c})
    # expected first-pick lines per (group, week) from the realised category/tier draws
    n_gw = np.zeros((n_groups, n_weeks))
    np.add.at(n_gw, (line_group, line_week), 1.0)
    share = weight / np.maximum(gsum_full[group_of_prod], 1e-300)  # (prod, week)
    first_units = n_gw[group_of_prod] * share  # expected first-pick lines of the product
    # expected bundle-add lines: anchor lines x acceptance
    anchor_lines = np.zeros((n_prod, n_weeks))
    has = partner >= 0
    np.add.at(anchor_lines, (partner[has], line_week[has]), 1.0)  # partner <- its anchor's lines
    bundle_units = anchor_lines * bundle_prob * m * in_stock / m_max[:, None]
    mean_qty = 1 + qty_mean[cat_of_prod]
    exp_lines = first_units + bundle_units
    # exact own-price elasticity: first picks e(1-s), bundle adds e
    el = np.where(exp_lines > 0, (first_units * e_prod[:, None] * (1 - share) + bundle_units * e_prod[:, None])
                  / np.maximum(exp_lines, 1e-300), e_prod[:, None])
    demand = pd.DataFrame({
        C.PRODUCT_ID: pd.array(np.repeat(product_ids, n_weeks), dtype="str"),
        C.DATE: np.tile(week_dates.to_numpy(), n_prod),
        C.PRICE: shelf.ravel(),
        C.COMPETITOR_PRICE: comp.ravel(),
        "expected_units": (exp_lines * mean_qty[:, None]).ravel(),
        "first_pick_units": (first_units * mean_qty[:, None]).ravel(),
        "bundle_units": (bundle_units * mean_qty[:, None]).ravel(),
        "share": share.ravel(),
        "elasticity": el.ravel(),
        "in_stock": in_stock.ravel(),
    })
    w = np.maximum(exp_lines, 0)
    prod_el = (el * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-300)
    product_elasticity = pd.DataFrame({
        C.PRODUCT_ID: pd.array(product_ids, dtype="str"),
        C.CATEGORY: _categorical(cat_of_prod, cat_names),
        "category_elasticity": e_prod,
        "elasticity": prod_el,
        "list_price": list_price,
        "unit_cost": np.round(list_price * cost_share, 2),
        "popularity": popularity,
        "tier": _categorical(group_of_prod % 3, TIERS),
    })
    params = pd.DataFrame({"name": ["competitor_elasticity", "bundle_prob", "n_weeks"],
                           "value": [x_comp, bundle_prob, float(n_weeks)]})
    return {"segments": segments, "bundles": bundles, "elasticities": elasticities,
            "product_elasticity": product_elasticity, "demand": demand, "params": params}


def true_expected_units(demand: pd.DataFrame, new_price) -> np.ndarray:
    """Expected units sold per row of ``truth["demand"]`` had the shelf price been ``new_price``.

    Exact for the generator, holding the other products' prices fixed: first-pick demand follows the
    (category, tier) choice share ``s(p) = a m(p) / (S_rest + a m(p))`` and bundle adds scale with
    ``m(p)``, where ``m(p) = (p / p_now) ** e`` relative to the current shelf price.
    """
    p_now = demand[C.PRICE].to_numpy(dtype=float)
    p_new = np.asarray(new_price, dtype=float)
    # category elasticity e: recover from the share formula e_row = e (1 - s w1) + ... is not
    # invertible in general, so the demand table carries it through the product table instead.
    e = demand["category_elasticity"].to_numpy(dtype=float) if "category_elasticity" in demand else None
    if e is None:
        raise KeyError("demand needs a 'category_elasticity' column: merge truth['product_elasticity'] first")
    ratio = (p_new / p_now) ** e
    s = demand["share"].to_numpy(dtype=float)
    first = demand["first_pick_units"].to_numpy(dtype=float)
    bundle = demand["bundle_units"].to_numpy(dtype=float)
    new_share_ratio = ratio / (1 - s + s * ratio)  # s(p)/s(p_now)
    return first * new_share_ratio + bundle * ratio
