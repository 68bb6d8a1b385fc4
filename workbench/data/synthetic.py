"""A deterministic synthetic shop with planted ground truth.

The generator follows the design brief (frequent ~20%, seasonal ~30% and one-time ~50% buyers, at
least five categories with realistic prices, text descriptions, seasonality) and plants what later
stages must recover:

* ``truth["segments"]``: each customer's behaviour segment (``frequent``, ``seasonal``,
  ``one_time``, ``browser`` = never buys) and price tier preference;
* ``truth["taste"]``: each customer's planted taste: category affinity (one column per category,
  summing to 1), style affinity (``style_<name>``) and price-tier preference (``tier_<name>``);
* ``truth["favourites"]``: each customer's favourite products (``rank`` 0 is the staple) and the
  weight with which a favourite line picks each of them;
* ``truth["bundles"]``: product pairs bought together far above chance (``product_a`` -> ``product_b``);
* ``truth["elasticities"]``: the planted own-price elasticity per category;
* ``truth["product_elasticity"]``: the exact own-price elasticity per product at its usual prices;
* ``truth["demand"]``: per product and week, the expected units sold at the shelf price, with what
  is needed to evaluate the true demand curve at any other price (:func:`true_expected_units`);
* ``truth["params"]``: the scalar settings (competitor cross-elasticity, bundle probability ...).

How taste works: every customer has latent preferences over categories, price tiers and styles
(Dirichlet draws around their behaviour segment's means; ``taste_concentration`` sets how personal
they are) and a short list of favourite products drawn from those preferences (within the chosen
category, tier and style, in proportion to popularity ** ``favourite_popularity``). A brand has a house
style, so brand loyalty follows from style; price tiers (terciles of price inside a category) act through
the favourites. Product popularity is log-normal with spread ``popularity_skew``.

How demand is made (so the truth is exact): every invoice has ``1 + Poisson(mean_extra_lines)``
lines. The first line, and each further line with probability ``1 - favourite_share``, is an
*explore* line: it picks a category from the customer's affinity and the season, then a product of
that category with probability proportional to ``a_j * (p_jw / p0_j) ** e_c * (comp_jw / p0_j) ** x`` (zero when out of stock), where
``a_j`` is the product's popularity, ``p0_j`` its list price, ``e_c`` the category elasticity and ``x``
the competitor cross-elasticity. The other lines are *favourite* lines: they pick one of the customer's
favourites (weights falling with rank as ``(rank + 1) ** -staple_skew``) and buy it with probability
``m_jw / max_w m_jw`` (the price response ``m`` of the formula above; zero when out of stock), else
the line is not bought, so favourites keep the constant elasticity ``e_c`` and are re-bought across
invoices. Planted bundle partners are added to a basket holding the anchor with probability
``bundle_prob * m_jw / max_w m_jw``. Shelf prices rise in each category's high season and promotions
fall in its low season: prices respond to demand, so a naive log-log regression of units on price is
biased towards zero.

Stages (each a function passing small dataclasses): :func:`_calendar`, :func:`_catalog`,
:func:`_shelf`, :func:`_choice_groups`, :func:`_customers` (with :func:`_taste`), :func:`_invoices`,
:func:`_lines`, :func:`_bundles`, :func:`_baskets`, :func:`_returns`, :func:`_transactions`,
:func:`_truth`. Everything is vectorised with numpy; 1,000,000 customers take seconds, not minutes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from workbench.data import contract as data_contract
from workbench.data import synthetic_clickstream
from workbench.data.shop import Shop

log = logging.getLogger(__name__)

SEGMENTS = ("frequent", "seasonal", "one_time", "browser")
TIERS = ("budget", "mid", "premium")
STYLES = ("classic", "modern", "natural", "bold")


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


#: style preference per segment (rows follow SEGMENTS, columns STYLES)
_SEGMENT_STYLE_PREF = np.array([
    [1.2, 0.9, 1.1, 0.8],
    [1.0, 1.1, 0.8, 1.1],
    [1.0, 1.0, 1.0, 1.0],
    [1.0, 1.0, 1.0, 1.0],
])
#: share of a brand's products in its house style (the rest get any style)
_HOUSE_STYLE_SHARE = 0.75


def default_config() -> dict:
    """The generator's settings and their defaults (the ``data.synthetic`` params block).

    Realism knobs: ``mean_extra_lines`` (basket size: lines per invoice = 1 + Poisson of it),
    ``favourite_share`` and ``n_favourites`` / ``staple_skew`` (re-buying: the share of a basket's
    further lines taken from the customer's favourites, how many favourites, how much the first one
    dominates), ``popularity_skew`` (log-normal spread of product popularity), ``taste_concentration``
    (taste strength: the Dirichlet concentration of a customer's category and style preferences around
    their segment's; smaller is more personal) and ``favourite_popularity`` (how much favourites follow
    popularity rather than taste alone). Prices: ``price_walk`` (weekly standard deviation of the shelf
    price's log random walk) and ``promo_rate`` (the weekly promotion probability off season). Clickstream
    (:mod:`workbench.data.synthetic_clickstream`, off by default): ``browsing_sessions`` (mean browsing visits per
    customer, with planted session neighbours followed with probability ``session_coherence``) and ``n_bots``.
    """
    return {
        "n_customers": 1000,            # customers
        "n_products": 500,              # products (8 categories)
        "start_date": "2023-01-02",     # the first day of the history
        "n_weeks": 104,                 # weeks of history
        "seed": 42,                     # the generator's seed (the run's seed when the block leaves it out)
        "segment_shares": {"frequent": 0.2, "seasonal": 0.3, "one_time": 0.47, "browser": 0.03},  # planted segments
        "frequent_purchases": [5, 15],  # invoices of a frequent buyer, drawn uniformly in this range
        "seasonal_purchases": [2, 5],   # invoices of a seasonal buyer, drawn uniformly in this range
        "mean_extra_lines": 2.2,
        "favourite_share": 0.8,         # probability that a basket's further line is one of the favourites
        "n_favourites": 10,             # favourite products per customer
        "staple_skew": 1.0,
        "popularity_skew": 1.2,
        "taste_concentration": 0.25,
        "favourite_popularity": 0.4,
        "n_bundles": 20,                # planted co-purchase bundles (product pairs of two categories)
        "bundle_prob": 0.6,             # largest probability that a bundle's partner joins its anchor (module doc)
        "return_rate": 0.03,            # share of lines returned later
        "price_walk": 0.03,
        "promo_rate": 0.3,
        "competitor_elasticity": 0.8,   # demand's elasticity to the competitor's price
        "stockout_rate": 0.02,          # probability that a product is out of stock in a week
        "views_per_customer": 6.0,      # mean free browsing views per customer (Poisson)
        "events": True,                 # write the events table (views, add-to-carts, purchases)
        "browsing_sessions": 0.0,
        "session_coherence": 0.8,       # probability that a browsing visit moves to a planted session neighbour
        "n_bots": 0,                    # planted bots: a fast crawler, a slow crawler, a pinger and a scraper in turn
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


_CATEGORY_NAMES = np.array([c.name for c in CATEGORIES], dtype=object)
_ELASTICITY = np.array([c.elasticity for c in CATEGORIES])
_QTY_MEAN = np.array([c.qty_mean for c in CATEGORIES])


def _stacked_cumulative(weights: np.ndarray, group: np.ndarray, n_groups: int):
    """Sort items by group and return ``(order, sizes, offsets, key)``: ``key`` is each sorted item's
    within-group cumulative weight (0 -> 1 inside its group) plus the group index, so one
    ``searchsorted(key, g + u)`` draws an item of group ``g`` in proportion to its weight."""
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group, minlength=n_groups)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    w = weights[order]
    total = np.zeros(n_groups)
    np.add.at(total, group, weights)  # n_groups sums over the catalog
    before = np.r_[0.0, np.cumsum(total)[:-1]]
    g_sorted = group[order]
    key = (np.cumsum(w) - before[g_sorted]) / np.maximum(total[g_sorted], 1e-300) + g_sorted
    return order, sizes, offsets, key


def _draw_in_groups(rng, g: np.ndarray, order, sizes, offsets, key) -> np.ndarray:
    """One item per row of ``g`` (group codes) from :func:`_stacked_cumulative`'s output."""
    pos = np.searchsorted(key, g + rng.random(len(g)), side="left")
    return order[np.clip(pos, offsets[g], offsets[g] + sizes[g] - 1)]


def _draw_rows(rng, cum: np.ndarray) -> np.ndarray:
    """One column index per row of ``cum`` (row-wise cumulative probabilities ending at 1)."""
    return np.minimum((cum < rng.random(len(cum))[:, None]).sum(axis=1), cum.shape[1] - 1)


# ---------------- stage 1: the calendar ---------------------------------------------------------------------
@dataclass(frozen=True)
class Calendar:
    """The shop's weeks: a Monday start, the week dates and each category's seasonal demand multiplier."""

    start: pd.Timestamp
    week_dates: pd.DatetimeIndex
    season: np.ndarray  # (category, week), 1 off season, up to 1 + season_amp at the peak

    @property
    def n_weeks(self) -> int:
        return len(self.week_dates)

    @property
    def n_days(self) -> int:
        return 7 * self.n_weeks


def _calendar(cfg: dict) -> Calendar:
    start = pd.Timestamp(cfg["start_date"]).normalize()
    start = start - pd.Timedelta(days=start.day_of_week)  # align to a Monday
    week_dates = start + pd.to_timedelta(7 * np.arange(int(cfg["n_weeks"])), unit="D")
    woy = week_dates.isocalendar().week.to_numpy().astype(float)
    peak = np.array([c.peak_week for c in CATEGORIES], dtype=float)
    amp = np.array([c.season_amp for c in CATEGORIES])
    dist = np.abs(((woy[None, :] - peak[:, None]) + 26) % 52 - 26)  # circular distance in weeks
    return Calendar(start=start, week_dates=week_dates, season=1.0 + amp[:, None] * np.exp(-0.5 * (dist / 3.5) ** 2))


# ---------------- stage 2: the catalog ----------------------------------------------------------------------
@dataclass(frozen=True)
class Catalog:
    """Products as codes (category, price tier, style) with list price, popularity and cost, plus the table."""

    ids: np.ndarray
    category: np.ndarray
    tier: np.ndarray  # tercile of the list price inside the category (index into TIERS)
    style: np.ndarray  # index into STYLES; mostly the brand's house style
    list_price: np.ndarray
    popularity: np.ndarray
    cost_share: np.ndarray
    table: pd.DataFrame

    @property
    def elasticity(self) -> np.ndarray:
        return _ELASTICITY[self.category]

    @property
    def qty_mean(self) -> np.ndarray:
        return _QTY_MEAN[self.category]

    def __len__(self) -> int:
        return len(self.ids)


def _catalog(rng, cfg: dict) -> Catalog:
    n_prod, n_cat = int(cfg["n_products"]), len(CATEGORIES)
    cat = np.sort(rng.integers(0, n_cat, n_prod))
    cat[:n_cat] = np.arange(n_cat)  # every category present
    cat = np.sort(cat)
    lo = np.array([c.price_low for c in CATEGORIES])[cat]
    hi = np.array([c.price_high for c in CATEGORIES])[cat]
    # log-uniform list prices inside the category range, rounded to .99
    list_price = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    list_price = np.maximum(np.floor(list_price) + 0.99, 0.99)
    rank_in_cat = pd.Series(list_price).groupby(cat).rank(pct=True).to_numpy()
    tier = np.minimum((rank_in_cat * 3 - 1e-9).astype(int), 2)
    popularity = rng.lognormal(0.0, float(cfg["popularity_skew"]), n_prod)
    cost_share = rng.uniform(0.45, 0.65, n_prod)

    def pick(vocab_attr: str) -> tuple[np.ndarray, np.ndarray]:
        code, word = np.empty(n_prod, dtype=np.int64), np.empty(n_prod, dtype=object)
        for ci, spec in enumerate(CATEGORIES):  # 8 categories, vectorised inside
            m = cat == ci
            vocab = np.array(getattr(spec, vocab_attr), dtype=object)
            code[m] = rng.integers(0, len(vocab), m.sum())
            word[m] = vocab[code[m]]
        return code, word

    (brand_code, brand), (_, adj), (_, noun) = pick("brands"), pick("adjectives"), pick("nouns")
    (_, feat1), (_, feat2) = pick("features"), pick("features")
    house = (cat + brand_code) % len(STYLES)
    style = np.where(rng.random(n_prod) < _HOUSE_STYLE_SHARE, house, rng.integers(0, len(STYLES), n_prod))
    tier_word = np.array(["value", "everyday", "premium"], dtype=object)[tier]
    style_word = np.array(STYLES, dtype=object)[style]
    ids = _ids("P", n_prod)
    descriptions = ("A " + tier_word + " " + adj + " " + noun + " from " + brand + ", in a " + style_word
                    + " style. " + feat1 + ", " + feat2 + ". Part of our " + _CATEGORY_NAMES[cat] + " range.")
    table = pd.DataFrame({
        data_contract.PRODUCT_ID: pd.array(ids, dtype="str"),
        data_contract.NAME: pd.array((brand + " " + adj + " " + noun).astype(str), dtype="str"),
        data_contract.CATEGORY: _categorical(cat, _CATEGORY_NAMES),
        data_contract.PRICE: list_price.round(2),
        data_contract.DESCRIPTION: pd.array(descriptions.astype(str), dtype="str"),
        data_contract.BRAND: pd.Categorical(brand.astype(str)),
    })
    return Catalog(ids=ids, category=cat, tier=tier, style=style, list_price=list_price, popularity=popularity,
                   cost_share=cost_share, table=table)


# ---------------- stage 3: weekly prices, competitor prices, stock ---------------------------------------------
@dataclass(frozen=True)
class Shelf:
    """Per product and week: shelf and competitor prices, stock, and the demand's price response."""

    price: np.ndarray
    competitor: np.ndarray
    in_stock: np.ndarray
    stock: np.ndarray
    response: np.ndarray  # m = (price / list) ** e * (competitor / list) ** x
    buy_prob: np.ndarray  # m * in_stock / max over weeks of m: a favourite or bundle line buys with it
    competitor_elasticity: float


def _shelf(rng, cfg: dict, calendar: Calendar, catalog: Catalog) -> Shelf:
    n_prod, n_weeks = len(catalog), calendar.n_weeks
    cat, list_price = catalog.category, catalog.list_price
    amp = np.array([c.season_amp for c in CATEGORIES])[cat][:, None]
    # shelf price: slow random walk + seasonal mark-up (endogenous) + promotions in low season
    walk = np.cumsum(rng.normal(0, float(cfg["price_walk"]), (n_prod, n_weeks)), axis=1)
    walk = walk - walk.mean(axis=1, keepdims=True)
    season_p = calendar.season[cat]
    markup = 0.10 * (season_p - 1.0) / np.maximum(amp, 1e-9)
    promo_prob = float(cfg["promo_rate"]) * (1.0 - (season_p - 1.0) / np.maximum(amp, 1e-9))
    promo = rng.random((n_prod, n_weeks)) < promo_prob
    discount = np.where(promo, rng.uniform(0.10, 0.30, (n_prod, n_weeks)), 0.0)
    mult = np.clip(np.exp(walk) * (1 + markup) * (1 - discount), 0.6, 1.4)
    price = np.round(list_price[:, None] * mult, 2)
    comp_mult = np.exp(np.clip(np.cumsum(rng.normal(0, 0.02, (n_prod, n_weeks)), axis=1)
                               + rng.normal(0, 0.05, (n_prod, 1)), -0.25, 0.25))
    competitor = np.round(list_price[:, None] * comp_mult, 2)
    in_stock = rng.random((n_prod, n_weeks)) >= float(cfg["stockout_rate"])
    stock = np.where(in_stock, 5 + rng.poisson(30, (n_prod, n_weeks)), 0).astype("int64")
    x_comp = float(cfg["competitor_elasticity"])
    response = ((price / list_price[:, None]) ** catalog.elasticity[:, None]
                * (competitor / list_price[:, None]) ** x_comp)
    buy_prob = response * in_stock / response.max(axis=1, keepdims=True)
    return Shelf(price=price, competitor=competitor, in_stock=in_stock, stock=stock, response=response,
                 buy_prob=buy_prob, competitor_elasticity=x_comp)


def _prices_table(calendar: Calendar, catalog: Catalog, shelf: Shelf) -> pd.DataFrame:
    n_weeks = calendar.n_weeks
    return pd.DataFrame({
        data_contract.PRODUCT_ID: pd.array(np.repeat(catalog.ids, n_weeks), dtype="str"),
        data_contract.DATE: np.tile(calendar.week_dates.to_numpy(), len(catalog)),
        data_contract.PRICE: shelf.price.ravel(),
        data_contract.COMPETITOR_PRICE: shelf.competitor.ravel(),
        data_contract.STOCK: shelf.stock.ravel(),
    })


# ---------------- stage 4: the choice groups (categories) of explore lines ------------------------------------
@dataclass(frozen=True)
class ChoiceGroups:
    """Explore lines choose among the products of their category, per week, in proportion to popularity
    times price response (``share`` is each product's probability inside its group)."""

    of_product: np.ndarray
    order: np.ndarray
    sizes: np.ndarray
    offsets: np.ndarray
    total: np.ndarray  # (group, week) summed weight
    cum_within: np.ndarray  # (product in group order, week) within-group cumulative weight, 0 -> 1
    share: np.ndarray  # (product, week)

    @property
    def n_groups(self) -> int:
        return len(self.sizes)


def _choice_groups(catalog: Catalog, shelf: Shelf) -> ChoiceGroups:
    n_groups = len(CATEGORIES)
    of_product = catalog.category  # every category has products (see _catalog)
    weight = catalog.popularity[:, None] * shelf.response * shelf.in_stock  # (product, week)
    order = np.argsort(of_product, kind="stable")
    sizes = np.bincount(of_product, minlength=n_groups)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    w_sorted = weight[order]
    total = np.zeros((n_groups, weight.shape[1]))
    total[sizes > 0] = np.add.reduceat(w_sorted, offsets[sizes > 0], axis=0)
    grp_sorted = of_product[order]
    prev = np.zeros_like(total)
    prev[1:] = np.cumsum(total, axis=0)[:-1]
    cum_within = (np.cumsum(w_sorted, axis=0) - prev[grp_sorted]) / np.maximum(total[grp_sorted], 1e-300)
    share = weight / np.maximum(total[of_product], 1e-300)
    return ChoiceGroups(of_product=of_product, order=order, sizes=sizes, offsets=offsets, total=total,
                        cum_within=cum_within, share=share)


# ---------------- stage 5: customers and their taste --------------------------------------------------------
@dataclass(frozen=True)
class Taste:
    """A customer's planted taste: preferences (rows sum to 1) and favourite products."""

    category: np.ndarray  # (customer, category)
    tier: np.ndarray  # (customer, tier)
    style: np.ndarray  # (customer, style)
    favourites: np.ndarray  # (customer, n_favourites) product codes, rank 0 = the staple
    favourite_weights: np.ndarray  # (n_favourites,) how often a favourite line picks each rank


@dataclass(frozen=True)
class Population:
    """Customers: ids, table, behaviour segment, signup day (relative to the start) and taste."""

    ids: pd.api.extensions.ExtensionArray
    table: pd.DataFrame
    segment: np.ndarray
    signup_day: np.ndarray
    taste: Taste

    def __len__(self) -> int:
        return len(self.segment)


def _customers(rng, cfg: dict, calendar: Calendar, catalog: Catalog) -> Population:
    n_cust, n_days = int(cfg["n_customers"]), calendar.n_days
    shares = cfg["segment_shares"]
    seg_p = np.array([float(shares[s]) for s in SEGMENTS])
    segment = rng.choice(len(SEGMENTS), size=n_cust, p=seg_p / seg_p.sum())
    signup_day = rng.integers(-365, n_days - 60, n_cust)
    # frequent buyers have been around long enough to buy often
    signup_day = np.where(segment == 0, np.minimum(signup_day, n_days // 3), signup_day)
    age = np.clip(np.round(rng.normal(np.array([44, 38, 35, 30])[segment], 12)), 18, 90).astype(int)
    gender = rng.choice(3, n_cust, p=[0.49, 0.47, 0.04])
    regions = ["north", "south", "east", "west", "central", "capital", "coast", "islands"]
    location = rng.choice(len(regions), n_cust, p=[0.15, 0.15, 0.12, 0.12, 0.14, 0.2, 0.08, 0.04])
    ids = _arrow_ids("C", n_cust)
    table = pd.DataFrame({
        data_contract.CUSTOMER_ID: ids,
        data_contract.SIGNUP_DATE: calendar.start + pd.to_timedelta(signup_day, unit="D"),
        data_contract.AGE: age.astype("int64"),
        data_contract.GENDER: _categorical(gender, ["female", "male", "other"]),
        data_contract.LOCATION: _categorical(location, regions),
    })
    return Population(ids=ids, table=table, segment=segment, signup_day=signup_day,
                      taste=_taste(rng, cfg, segment, catalog))


def _dirichlet_rows(rng, alpha: np.ndarray) -> np.ndarray:
    g = rng.gamma(alpha)
    return g / np.maximum(g.sum(axis=1, keepdims=True), 1e-300)


def _taste(rng, cfg: dict, segment: np.ndarray, catalog: Catalog) -> Taste:
    """Preferences around the segment's means, and favourites drawn from them (category, tier, style,
    then a product of that cell in proportion to popularity ** favourite_popularity)."""
    conc = float(cfg["taste_concentration"])
    if conc <= 0:
        raise ValueError("data.synthetic.taste_concentration must be > 0 (smaller means stronger taste)")
    category = _dirichlet_rows(rng, _SEGMENT_CATEGORY_PREF[segment] * conc)
    tier = _dirichlet_rows(rng, _SEGMENT_TIER_PREF[segment] * 6.0)
    style = _dirichlet_rows(rng, _SEGMENT_STYLE_PREF[segment] * conc)
    n_fav = int(cfg["n_favourites"])
    weights = (np.arange(n_fav) + 1.0) ** -float(cfg["staple_skew"])
    weights = weights / max(weights.sum(), 1e-300)
    # cells = (category, tier, style); an empty cell borrows a product of its (category, tier), else category
    n_t, n_s = len(TIERS), len(STYLES)
    n_cells = len(CATEGORIES) * n_t * n_s
    cell = (catalog.category * n_t + catalog.tier) * n_s + catalog.style
    order, sizes, offsets, key = _stacked_cumulative(
        catalog.popularity ** float(cfg["favourite_popularity"]), cell, n_cells)
    target = np.arange(n_cells)
    for g in np.flatnonzero(sizes == 0):  # at most n_cells (96), only on small catalogs
        same_tier = np.arange(g - g % n_s, g - g % n_s + n_s)
        same_cat = np.arange(g - g % (n_t * n_s), g - g % (n_t * n_s) + n_t * n_s)
        pool = same_tier[sizes[same_tier] > 0]
        target[g] = pool[0] if len(pool) else same_cat[sizes[same_cat] > 0][0]
    cum_c, cum_t, cum_s = category.cumsum(axis=1), tier.cumsum(axis=1), style.cumsum(axis=1)
    favourites = np.empty((len(segment), n_fav), dtype=np.int64)
    for k in range(n_fav):  # one pass per favourite rank, vectorised over customers
        g = (_draw_rows(rng, cum_c) * n_t + _draw_rows(rng, cum_t)) * n_s + _draw_rows(rng, cum_s)
        favourites[:, k] = _draw_in_groups(rng, target[g], order, sizes, offsets, key)
    return Taste(category=category, tier=tier, style=style, favourites=favourites, favourite_weights=weights)


# ---------------- stage 6: invoices, how many and when -----------------------------------------------------------
@dataclass(frozen=True)
class Invoices:
    """Invoices in time order: customer code, day (from the start), second of the day and week."""

    customer: np.ndarray
    day: np.ndarray
    seconds: np.ndarray
    week: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)


def _invoices(rng, cfg: dict, calendar: Calendar, population: Population) -> Invoices:
    segment, n_days, n_weeks = population.segment, calendar.n_days, calendar.n_weeks
    f_lo, f_hi = cfg["frequent_purchases"]
    s_lo, s_hi = cfg["seasonal_purchases"]
    n_inv = np.zeros(len(segment), dtype=np.int64)
    n_inv[segment == 0] = rng.integers(f_lo, f_hi + 1, (segment == 0).sum())
    n_inv[segment == 1] = rng.integers(s_lo, s_hi + 1, (segment == 1).sum())
    n_inv[segment == 2] = 1
    cust = np.repeat(np.arange(len(segment)), n_inv)
    days = np.arange(n_days)
    doy = (calendar.start + pd.to_timedelta(days, unit="D")).day_of_year.to_numpy()
    global_season = calendar.season.mean(axis=0)[np.minimum(days // 7, n_weeks - 1)]
    holiday = np.zeros(n_days)
    for d0, length in _HOLIDAYS:  # four fixed windows
        holiday += ((doy >= d0) & (doy < d0 + length)).astype(float)
    cum_all_days = np.r_[0, np.cumsum(global_season)]
    cum_hol = np.r_[0, np.cumsum(holiday + 1e-3 * global_season)]
    first = np.clip(population.signup_day[cust], 0, n_days - 1)
    seasonal_inv = segment[cust] == 1
    lo_all, hi_all = cum_all_days[first], cum_all_days[n_days]
    lo_hol, hi_hol = cum_hol[first], cum_hol[n_days]
    u = rng.random(len(cust))
    day_all = np.searchsorted(cum_all_days, lo_all + u * (hi_all - lo_all), side="right") - 1
    day_hol = np.searchsorted(cum_hol, lo_hol + u * (hi_hol - lo_hol), side="right") - 1
    day = np.clip(np.where(seasonal_inv, day_hol, day_all), 0, n_days - 1)
    seconds = rng.integers(8 * 3600, 22 * 3600, len(cust))
    order = np.lexsort((seconds, day))  # invoice ids follow time
    return Invoices(customer=cust[order], day=day[order], seconds=seconds[order],
                    week=np.minimum(day[order] // 7, n_weeks - 1))


# ---------------- stage 7: invoice lines (explore and favourite picks) -------------------------------------------
@dataclass(frozen=True)
class Lines:
    """First picks of every invoice (before bundle adds and merging) and, for the truth, what drove them."""

    invoice: np.ndarray
    product: np.ndarray
    week: np.ndarray
    group: np.ndarray  # choice group (the category) of an explore line, -1 on a favourite line
    favourite_product: np.ndarray  # every favourite line drawn, bought or not
    favourite_week: np.ndarray


def _lines(rng, cfg: dict, calendar: Calendar, shelf: Shelf, groups: ChoiceGroups, population: Population,
           invoices: Invoices) -> Lines:
    taste = population.taste
    n_inv = len(invoices)
    n_per = 1 + rng.poisson(float(cfg["mean_extra_lines"]), n_inv)
    line_inv = np.repeat(np.arange(n_inv), n_per)
    further = np.ones(len(line_inv), dtype=bool)
    further[np.r_[0, np.cumsum(n_per)[:-1]]] = False  # the first line of every invoice explores
    fav = further & (rng.random(len(line_inv)) < float(cfg["favourite_share"]))
    if taste.favourites.shape[1] == 0:
        fav[:] = False
    # explore lines: category from affinity x season, then a product of the category by popularity and price
    e_inv = line_inv[~fav]
    e_cust, e_week = invoices.customer[e_inv], invoices.week[e_inv]
    e_group = np.empty(len(e_inv), dtype=np.int64)
    chunk = 2_000_000
    for s in range(0, len(e_inv), chunk):  # bounded memory on 10M lines
        sl = slice(s, s + chunk)
        p_cat = taste.category[e_cust[sl]] * calendar.season[:, e_week[sl]].T
        e_group[sl] = _draw_rows(rng, p_cat.cumsum(axis=1) / p_cat.sum(axis=1, keepdims=True))
    pos = _sample_groups(rng, e_group, groups.cum_within, groups.offsets, groups.sizes, e_week)
    e_prod = groups.order[pos]
    # favourite lines: a rank by the staple weights, bought with the price response's probability
    f_inv = line_inv[fav]
    f_week = invoices.week[f_inv]
    rank = np.minimum(np.searchsorted(np.cumsum(taste.favourite_weights), rng.random(len(f_inv))),
                      taste.favourites.shape[1] - 1)
    f_prod = taste.favourites[invoices.customer[f_inv], rank] if len(f_inv) else np.zeros(0, dtype=np.int64)
    bought = rng.random(len(f_inv)) < shelf.buy_prob[f_prod, f_week]
    return Lines(invoice=np.r_[e_inv, f_inv[bought]], product=np.r_[e_prod, f_prod[bought]],
                 week=np.r_[e_week, f_week[bought]],
                 group=np.r_[e_group, np.full(int(bought.sum()), -1, dtype=np.int64)],
                 favourite_product=f_prod, favourite_week=f_week)


# ---------------- stage 8: planted bundles ------------------------------------------------------------------------
@dataclass(frozen=True)
class Bundles:
    """Anchor -> partner pairs and the partner lines they added to baskets."""

    anchors: np.ndarray
    partners: np.ndarray
    partner_of: np.ndarray  # per product: its partner's code, -1 if not an anchor
    prob: float
    invoice: np.ndarray  # added partner lines
    product: np.ndarray


def _bundles(rng, cfg: dict, catalog: Catalog, shelf: Shelf, lines: Lines) -> Bundles:
    n_b, prob, n_prod = int(cfg["n_bundles"]), float(cfg["bundle_prob"]), len(catalog)
    # anchors: reasonably popular products; partners: products of another category
    pop_rank = np.argsort(-catalog.popularity)
    anchors = rng.choice(pop_rank[: max(n_b * 3, n_prod // 4)], size=n_b, replace=False)
    partners = np.empty(n_b, dtype=np.int64)
    taken = set(anchors.tolist())
    for i, a in enumerate(anchors):  # n_bundles draws (20 by default)
        cands = np.flatnonzero(catalog.category != catalog.category[a])
        cands = np.array([c for c in rng.permutation(cands) if c not in taken])
        if len(cands) == 0:  # a small catalog: every product of another category is already in a bundle
            log.warning("synthetic: n_bundles=%d needs two distinct products per bundle (in two categories); "
                        "the %d-product catalog holds %d, so %d bundles are planted", n_b, n_prod, i, i)
            anchors, partners = anchors[:i], partners[:i]
            break
        partners[i] = cands[0]
        taken.add(int(cands[0]))
    partner_of = np.full(n_prod, -1)
    partner_of[anchors] = partners
    partner = partner_of[lines.product]
    has = np.flatnonzero(partner >= 0)
    acc = has[rng.random(len(has)) < prob * shelf.buy_prob[partner[has], lines.week[has]]]
    return Bundles(anchors=anchors, partners=partners, partner_of=partner_of, prob=prob,
                   invoice=lines.invoice[acc], product=partner[acc])


# ---------------- stage 9: baskets (one sale line per invoice and product) -------------------------------------------
@dataclass(frozen=True)
class Baskets:
    """Sale lines sorted by (invoice, product): repeats of a product in one basket are merged."""

    invoice: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    price: np.ndarray


def _baskets(rng, catalog: Catalog, shelf: Shelf, invoices: Invoices, lines: Lines, bundles: Bundles) -> Baskets:
    n_prod = len(catalog)
    inv = np.r_[lines.invoice, bundles.invoice]
    prod = np.r_[lines.product, bundles.product]
    qty = 1 + rng.poisson(catalog.qty_mean[prod])
    ukey, inverse = np.unique(inv * n_prod + prod, return_inverse=True)
    l_inv, l_prod = ukey // n_prod, ukey % n_prod
    return Baskets(invoice=l_inv, product=l_prod, quantity=np.bincount(inverse, weights=qty).astype(np.int64),
                   price=shelf.price[l_prod, invoices.week[l_inv]])


# ---------------- stage 10: returns -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Returns:
    """Returned sale lines: the basket row, when (day, second) and how many units (negative)."""

    line: np.ndarray
    day: np.ndarray
    seconds: np.ndarray
    quantity: np.ndarray


def _returns(rng, cfg: dict, calendar: Calendar, invoices: Invoices, baskets: Baskets) -> Returns:
    idx = np.flatnonzero(rng.random(len(baskets.invoice)) < float(cfg["return_rate"]))
    day = invoices.day[baskets.invoice[idx]] + rng.integers(2, 30, len(idx))
    keep = day < calendar.n_days
    idx, day = idx[keep], day[keep]
    qty = -np.minimum(baskets.quantity[idx], 1 + rng.poisson(0.2, len(idx)))
    return Returns(line=idx, day=day, seconds=rng.integers(9 * 3600, 18 * 3600, len(idx)), quantity=qty)


def _transactions(calendar: Calendar, catalog: Catalog, population: Population, invoices: Invoices,
                  baskets: Baskets, returns: Returns) -> pd.DataFrame:
    """Sales then returns as contract rows, in (time, invoice, product) order."""
    n_invoices = len(invoices)
    sale_sec = invoices.day[baskets.invoice] * 86400 + invoices.seconds[baskets.invoice]
    all_sec = np.r_[sale_sec, returns.day * 86400 + returns.seconds]
    r_inv = baskets.invoice[returns.line]
    all_inv = np.r_[baskets.invoice, r_inv + n_invoices]  # returns after sales in id space
    all_prod = np.r_[baskets.product, baskets.product[returns.line]]
    # sales come sorted by (invoice, product) and invoice ids follow time, returns likewise after them, so a
    # stable sort on the time alone gives the (time, invoice, product) order (and timsort runs through the
    # already sorted sales in one pass)
    order = np.argsort(all_sec, kind="stable")
    inv_arr = pd.array(pyarrow.concat_arrays([_arrow_ids("T", n_invoices)._pa_array.combine_chunks(),
                                              _arrow_ids("R", n_invoices)._pa_array.combine_chunks()]), dtype="str")
    all_cust = np.r_[invoices.customer[baskets.invoice], invoices.customer[r_inv]]
    return pd.DataFrame({
        data_contract.TRANSACTION_ID: inv_arr.take(all_inv[order]),
        data_contract.CUSTOMER_ID: population.ids.take(all_cust[order]),
        data_contract.PRODUCT_ID: pd.array(catalog.ids, dtype="str").take(all_prod[order]),
        data_contract.TIMESTAMP: (calendar.start + pd.to_timedelta(all_sec[order], unit="s")).as_unit("us"),
        data_contract.QUANTITY: np.r_[baskets.quantity, returns.quantity].astype("int64")[order],
        data_contract.UNIT_PRICE: np.r_[baskets.price, baskets.price[returns.line]][order],
    })


def generate_shop(config: dict | None = None, **overrides) -> Shop:
    """Return a synthetic :class:`Shop` (all contract tables plus ``truth``) from a config dict.

    Keys are those of :func:`default_config`; anything not given takes its default (unknown keys are an
    error). The same config always gives the same tables, byte for byte.
    """
    cfg = default_config()
    unknown = sorted(set(config or {}) - set(cfg) | set(overrides) - set(cfg))
    if unknown:
        raise ValueError(f"data.synthetic: unknown setting(s) {unknown}; known: {sorted(cfg)}")
    cfg.update(config or {})
    cfg.update(overrides)
    rng = np.random.default_rng(int(cfg["seed"]))
    if int(cfg["n_customers"]) < 10 or int(cfg["n_products"]) < 3 * len(CATEGORIES) or int(cfg["n_weeks"]) < 8:
        raise ValueError("synthetic shop needs n_customers >= 10, n_products >= 24 and n_weeks >= 8")
    calendar = _calendar(cfg)
    catalog = _catalog(rng, cfg)
    shelf = _shelf(rng, cfg, calendar, catalog)
    groups = _choice_groups(catalog, shelf)
    population = _customers(rng, cfg, calendar, catalog)
    invoices = _invoices(rng, cfg, calendar, population)
    lines = _lines(rng, cfg, calendar, shelf, groups, population, invoices)
    bundles = _bundles(rng, cfg, catalog, shelf, lines)
    baskets = _baskets(rng, catalog, shelf, invoices, lines, bundles)
    returns = _returns(rng, cfg, calendar, invoices, baskets)
    transactions = _transactions(calendar, catalog, population, invoices, baskets, returns)
    events = _events(rng, cfg, calendar, catalog, population, invoices, baskets) if cfg.get("events", True) else None
    truth = _truth(cfg, calendar, catalog, shelf, groups, population, lines, bundles)
    customers = population.table
    if events is not None and (float(cfg["browsing_sessions"]) > 0 or int(cfg["n_bots"]) > 0):
        customers, events = _plant_clickstream(cfg, calendar, catalog, population, events, truth)
    log.info("synthetic shop: %d customers, %d products, %d transaction lines", len(population), len(catalog),
             len(transactions))
    return Shop(customers=customers, products=catalog.table, transactions=transactions, events=events,
                prices=_prices_table(calendar, catalog, shelf), truth=truth, name="synthetic", meta={"config": cfg})


def _plant_clickstream(cfg: dict, calendar: Calendar, catalog: Catalog, population: Population,
                       events: pd.DataFrame, truth: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers and events with browsing sessions and bots added (their truth goes into ``truth``)."""
    world = synthetic_clickstream.ClickstreamWorld(
        start=calendar.start, n_days=calendar.n_days, product_ids=np.asarray(catalog.ids, dtype=object),
        category=catalog.category, popularity=catalog.popularity,
        customer_ids=np.asarray(population.ids, dtype=object), signup_day=population.signup_day)
    extra_customers, extra_events = [], []
    if float(cfg["browsing_sessions"]) > 0:
        browsing, truth["session_neighbours"] = synthetic_clickstream.browsing_sessions(
            int(cfg["seed"]), world, float(cfg["browsing_sessions"]), float(cfg["session_coherence"]))
        extra_events.append(browsing)
    if int(cfg["n_bots"]) > 0:
        bot_customers, bot_events, truth["bots"] = synthetic_clickstream.bots(int(cfg["seed"]), world,
                                                                              int(cfg["n_bots"]))
        extra_customers.append(bot_customers)
        extra_events.append(bot_events)
    return synthetic_clickstream.add_to_shop(population.table, events, extra_customers, extra_events)


def _events(rng, cfg: dict, calendar: Calendar, catalog: Catalog, population: Population, invoices: Invoices,
            baskets: Baskets) -> pd.DataFrame:
    """Views and add-to-carts leading up to each purchase line, plus views that never convert."""
    sale_sec = invoices.day[baskets.invoice] * 86400 + invoices.seconds[baskets.invoice]
    sale_cust, sale_prod = invoices.customer[baskets.invoice], baskets.product
    n_days = calendar.n_days
    n = len(sale_sec)
    n_views = 1 + rng.poisson(1.0, n)
    v_idx = np.repeat(np.arange(n), n_views)
    v_sec = sale_sec[v_idx] - rng.integers(600, 72 * 3600, len(v_idx))
    cart = rng.random(n) < 0.75
    c_sec = sale_sec[cart] - rng.integers(60, 3600, int(cart.sum()))
    # browsing that never converts
    n_cust = len(population)
    n_free = rng.poisson(float(cfg["views_per_customer"]), n_cust)
    f_cust = np.repeat(np.arange(n_cust), n_free)
    p = catalog.popularity / catalog.popularity.sum()
    f_prod = rng.choice(len(catalog), size=len(f_cust), p=p)
    first = np.clip(population.signup_day[f_cust], 0, n_days - 1)
    f_day = first + (rng.random(len(f_cust)) * (n_days - first)).astype(np.int64)
    f_sec = f_day * 86400 + rng.integers(0, 86400, len(f_cust))
    sec = np.r_[v_sec, f_sec, c_sec, sale_sec]
    cust = np.r_[sale_cust[v_idx], f_cust, sale_cust[cart], sale_cust]
    prod = np.r_[sale_prod[v_idx], f_prod, sale_prod[cart], sale_prod]
    kinds = np.r_[np.zeros(len(v_idx) + len(f_cust), dtype=np.int8), np.ones(int(cart.sum()), dtype=np.int8),
                  np.full(n, 2, dtype=np.int8)]
    order = np.argsort((sec - sec.min()) * (3 * n_cust) + cust * 3 + kinds)  # one int64 key: time, customer, kind
    return pd.DataFrame({
        data_contract.TIMESTAMP: (calendar.start + pd.to_timedelta(sec[order], unit="s")).as_unit("us"),
        data_contract.CUSTOMER_ID: population.ids.take(cust[order]),
        data_contract.PRODUCT_ID: pd.array(catalog.ids, dtype="str").take(prod[order]),
        data_contract.EVENT: pd.Categorical.from_codes(kinds[order], categories=list(data_contract.EVENT_TYPES)),
    })


# ---------------- stage 11: the truth -----------------------------------------------------------------------------------
def _counts(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.bincount(rows * shape[1] + cols, minlength=shape[0] * shape[1]).reshape(shape).astype(float)


def _truth(cfg: dict, calendar: Calendar, catalog: Catalog, shelf: Shelf, groups: ChoiceGroups,
           population: Population, lines: Lines, bundles: Bundles) -> dict[str, pd.DataFrame]:
    """Everything the generator planted, as DataFrames."""
    n_prod, n_weeks = len(catalog), calendar.n_weeks
    taste = population.taste
    product_ids = pd.array(catalog.ids, dtype="str")
    segments = pd.DataFrame({
        data_contract.CUSTOMER_ID: population.ids,
        "segment": _categorical(population.segment, SEGMENTS),
        "tier_preference": _categorical(taste.tier.argmax(axis=1), TIERS),
    })
    taste_table = pd.DataFrame({
        data_contract.CUSTOMER_ID: population.ids,
        **{name: taste.category[:, i] for i, name in enumerate(_CATEGORY_NAMES)},
        **{f"style_{name}": taste.style[:, i] for i, name in enumerate(STYLES)},
        **{f"tier_{name}": taste.tier[:, i] for i, name in enumerate(TIERS)},
    })
    n_fav = taste.favourites.shape[1]
    favourites = pd.DataFrame({
        data_contract.CUSTOMER_ID: population.ids.take(np.repeat(np.arange(len(population)), n_fav)),
        data_contract.PRODUCT_ID: product_ids.take(taste.favourites.ravel()),
        "rank": np.tile(np.arange(n_fav), len(population)),
        "weight": np.tile(taste.favourite_weights, len(population)),
    })
    bundles_table = pd.DataFrame({
        "product_a": product_ids.take(bundles.anchors),
        "product_b": product_ids.take(bundles.partners),
        "probability": bundles.prob,
    })
    elasticities = pd.DataFrame({data_contract.CATEGORY: list(_CATEGORY_NAMES), "elasticity": _ELASTICITY})
    # expected lines per (product, week) given the realised draws of what drives them:
    explore = lines.group >= 0
    n_gw = _counts(lines.group[explore], lines.week[explore], (groups.n_groups, n_weeks))
    share = groups.share
    first_units = n_gw[groups.of_product] * share  # explore lines of its group x its share in the group
    fav_units = _counts(lines.favourite_product, lines.favourite_week, (n_prod, n_weeks)) * shelf.buy_prob
    partner = bundles.partner_of[lines.product]
    has = partner >= 0
    anchor_lines = _counts(partner[has], lines.week[has], (n_prod, n_weeks))  # partner <- its anchor's lines
    bundle_units = anchor_lines * bundles.prob * shelf.buy_prob
    mean_qty = (1 + catalog.qty_mean)[:, None]
    exp_lines = first_units + fav_units + bundle_units
    e_prod = catalog.elasticity[:, None]
    # exact own-price elasticity: explore picks e(1-s), favourites and bundle adds e
    el = np.where(exp_lines > 0, (first_units * e_prod * (1 - share) + (fav_units + bundle_units) * e_prod)
                  / np.maximum(exp_lines, 1e-300), e_prod)
    demand = pd.DataFrame({
        data_contract.PRODUCT_ID: pd.array(np.repeat(catalog.ids, n_weeks), dtype="str"),
        data_contract.DATE: np.tile(calendar.week_dates.to_numpy(), n_prod),
        data_contract.PRICE: shelf.price.ravel(),
        data_contract.COMPETITOR_PRICE: shelf.competitor.ravel(),
        "expected_units": (exp_lines * mean_qty).ravel(),
        "first_pick_units": (first_units * mean_qty).ravel(),
        "favourite_units": (fav_units * mean_qty).ravel(),
        "bundle_units": (bundle_units * mean_qty).ravel(),
        "share": share.ravel(),
        "elasticity": el.ravel(),
        "in_stock": shelf.in_stock.ravel(),
    })
    w = np.maximum(exp_lines, 0)
    prod_el = (el * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-300)
    product_elasticity = pd.DataFrame({
        data_contract.PRODUCT_ID: product_ids,
        data_contract.CATEGORY: _categorical(catalog.category, _CATEGORY_NAMES),
        "category_elasticity": catalog.elasticity,
        "elasticity": prod_el,
        "list_price": catalog.list_price,
        "unit_cost": np.round(catalog.list_price * catalog.cost_share, 2),
        "popularity": catalog.popularity,
        "tier": _categorical(catalog.tier, TIERS),
        "choice_group": _categorical(catalog.category, _CATEGORY_NAMES),
        "style": _categorical(catalog.style, STYLES),
    })
    scalars = ("competitor_elasticity", "bundle_prob", "n_weeks", "mean_extra_lines", "favourite_share",
               "n_favourites", "staple_skew", "popularity_skew", "taste_concentration", "favourite_popularity")
    params = pd.DataFrame({"name": list(scalars), "value": [float(cfg[k]) for k in scalars]})
    return {"segments": segments, "taste": taste_table, "favourites": favourites, "bundles": bundles_table,
            "elasticities": elasticities, "product_elasticity": product_elasticity, "demand": demand,
            "params": params}


def true_expected_units(demand: pd.DataFrame, new_price) -> np.ndarray:
    """Expected units sold per row of ``truth["demand"]`` had the shelf price been ``new_price``.

    Exact for the generator, holding the other products' prices fixed: explore demand follows the
    choice share inside the category ``s(p) = a m(p) / (S_rest + a m(p))``, and favourite and bundle lines
    buy in proportion to ``m(p)``, where ``m(p) = (p / p_now) ** e`` relative to the current shelf price.
    """
    p_now = demand[data_contract.PRICE].to_numpy(dtype=float)
    p_new = np.asarray(new_price, dtype=float)
    if "category_elasticity" not in demand:
        raise KeyError("demand needs a 'category_elasticity' column: merge truth['product_elasticity'] first")
    ratio = (p_new / p_now) ** demand["category_elasticity"].to_numpy(dtype=float)
    s = demand["share"].to_numpy(dtype=float)
    first = demand["first_pick_units"].to_numpy(dtype=float)
    constant = demand["bundle_units"].to_numpy(dtype=float)
    if "favourite_units" in demand:
        constant = constant + demand["favourite_units"].to_numpy(dtype=float)
    new_share_ratio = ratio / (1 - s + s * ratio)  # s(p)/s(p_now)
    return first * new_share_ratio + constant * ratio
