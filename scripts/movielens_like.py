"""Write a MovieLens-latest-small-shaped ratings catalog in the CSV contract, and a params file for it.

MovieLens latest-small (GroupLens: 610 users, 9,724 rated movies, 100,836 ratings of 0.5-5 stars in half
steps, every user with at least 20 ratings, a long tail of movies rated once) is not in ../shared/datasets
and cannot be downloaded here. This script builds a catalog of the same shape for checking what a catalog
of ~10,000 products costs the notebooks: heavy-tailed user activity and movie popularity, genres, and a
planted taste (users prefer some genres; which movies they rate and how they rate them follow it), so the
recommenders have something real to find.

    python scripts/movielens_like.py OUT_FOLDER [--seed 0]
    python scripts/movielens_like.py OUT_FOLDER --from ML_LATEST_SMALL_FOLDER

The second form maps the real data set instead (GroupLens' ``ratings.csv`` and ``movies.csv``) onto the same
contract, the way the ``movielens100k`` adapter maps MovieLens 100K: users become customers (signed up at their
first rating), movies become products (first genre as category, title and genres as description, price 1), and
each rating is also a one-unit transaction.

writes ``customers.csv``, ``products.csv``, ``transactions.csv`` (one unit per rating, as the MovieLens
adapter maps ratings) and ``ratings.csv`` into OUT_FOLDER, plus ``OUT_FOLDER/params.yaml``:
``params/movielens100k.yaml`` with ``data: {source: csv, path: OUT_FOLDER}``, as a user would copy it for a
new ratings data set.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

N_USERS, N_ITEMS, N_RATINGS, N_GENRES = 610, 9_724, 100_836, 20
MIN_PER_USER = 20


def catalog(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Return the four contract tables of a MovieLens-latest-small-shaped catalog."""
    rng = np.random.default_rng(seed)
    # movies: 1-3 genres each, popularity ~ Zipf (a few blockbusters, thousands rated once or twice)
    genre_p = rng.dirichlet(np.full(N_GENRES, 0.8))
    n_gen = rng.integers(1, 4, N_ITEMS)
    item_genres = np.zeros((N_ITEMS, N_GENRES))
    for i, n in enumerate(n_gen):
        item_genres[i, rng.choice(N_GENRES, n, replace=False, p=genre_p)] = 1.0 / n
    popularity = 1.0 / np.arange(1, N_ITEMS + 1) ** 1.1
    popularity = popularity[rng.permutation(N_ITEMS)]
    # users: genre tastes, activity log-normal with a floor of 20 ratings, scaled to ~100,836 ratings
    taste = rng.dirichlet(np.full(N_GENRES, 0.3), N_USERS)
    activity = rng.lognormal(0.0, 1.1, N_USERS)
    counts = np.maximum(MIN_PER_USER, np.round(activity / activity.sum() * (N_RATINGS - N_ITEMS // 3))).astype(int)
    counts = np.minimum(counts, N_ITEMS // 3)
    # which movies: Gumbel top-n over log(popularity) + taste affinity (sampling without replacement)
    affinity = taste @ item_genres.T * N_GENRES  # 610 x 9,724, about 1 on average
    keys = np.log(popularity)[None, :] + 1.5 * affinity + rng.gumbel(size=affinity.shape)
    order = np.argsort(-keys, axis=1)
    users = np.repeat(np.arange(N_USERS), counts)
    items = np.concatenate([order[u, :c] for u, c in enumerate(counts)])
    # every movie of the catalog has at least one rating (as in latest-small): the unrated ones go to the
    # users who like them most
    unrated = np.setdiff1d(np.arange(N_ITEMS), items)
    users = np.concatenate([users, affinity[:, unrated].argmax(axis=0)])
    items = np.concatenate([items, unrated])
    # ratings: mean 3.5, user and movie biases, taste, noise; half-star steps in [0.5, 5]
    user_bias, item_bias = rng.normal(0, 0.45, N_USERS), rng.normal(0, 0.5, N_ITEMS)
    raw = 3.75 + user_bias[users] + item_bias[items] + 0.6 * (affinity[users, items] - affinity[users, items].mean()) \
        + rng.normal(0, 0.75, len(users))
    stars = np.clip(np.round(raw * 2) / 2, 0.5, 5.0)
    # times: each user rates over a span of days somewhere in 1996-2018
    start = rng.uniform(pd.Timestamp("1996-03-29").value, pd.Timestamp("2017-06-01").value, N_USERS)
    span = rng.exponential(200, N_USERS) * 86_400e9
    ts = pd.to_datetime((start[users] + rng.uniform(0, 1, len(users)) * span[users]).astype("int64")).floor("s")

    uid = np.array([str(u + 1) for u in range(N_USERS)], dtype=object)
    mid = np.array([str(i + 1) for i in range(N_ITEMS)], dtype=object)
    genres = np.array([f"Genre{g:02d}" for g in range(N_GENRES)], dtype=object)
    ratings = pd.DataFrame({"customer_id": uid[users], "product_id": mid[items], "rating": stars, "timestamp": ts})
    ratings = ratings.sort_values(["customer_id", "timestamp", "product_id"], ignore_index=True)
    unix = (ratings["timestamp"].astype("int64") // 10**9).astype("str")
    transactions = pd.DataFrame({"transaction_id": ratings["customer_id"] + "-" + unix,
                                 "customer_id": ratings["customer_id"], "product_id": ratings["product_id"],
                                 "timestamp": ratings["timestamp"], "quantity": 1, "unit_price": 1.0})
    first = ratings.groupby("customer_id")["timestamp"].min()
    customers = pd.DataFrame({"customer_id": uid, "signup_date": first.reindex(uid).to_numpy()})
    main_genre = genres[item_genres.argmax(axis=1)]
    all_genres = ["|".join(genres[row > 0]) for row in item_genres]
    products = pd.DataFrame({"product_id": mid, "name": [f"Movie {i + 1}" for i in range(N_ITEMS)],
                             "category": main_genre, "price": 1.0,
                             "description": [g.replace("|", " ") for g in all_genres]})
    return {"customers": customers, "products": products, "transactions": transactions, "ratings": ratings}


def from_latest_small(folder: Path) -> dict[str, pd.DataFrame]:
    """Return the four contract tables of a MovieLens latest-small folder (``ratings.csv``, ``movies.csv``)."""
    r = pd.read_csv(folder / "ratings.csv", dtype={"userId": "str", "movieId": "str"})
    m = pd.read_csv(folder / "movies.csv", dtype={"movieId": "str"})
    ts = pd.to_datetime(r["timestamp"], unit="s")
    ratings = pd.DataFrame({"customer_id": r["userId"], "product_id": r["movieId"],
                            "rating": r["rating"].astype("float64"), "timestamp": ts})
    transactions = pd.DataFrame({"transaction_id": r["userId"] + "-" + r["timestamp"].astype("str"),
                                 "customer_id": r["userId"], "product_id": r["movieId"], "timestamp": ts,
                                 "quantity": 1, "unit_price": 1.0})
    first = ratings.groupby("customer_id")["timestamp"].min()
    customers = pd.DataFrame({"customer_id": first.index, "signup_date": first.to_numpy()})
    genres = m["genres"].str.replace("(no genres listed)", "", regex=False)
    products = pd.DataFrame({"product_id": m["movieId"], "name": m["title"],
                             "category": genres.str.split("|").str[0].replace("", "Unknown"), "price": 1.0,
                             "description": (m["title"] + " " + genres.str.replace("|", " ", regex=False)).str.strip()})
    return {"customers": customers, "products": products, "transactions": transactions, "ratings": ratings}


def params_block(folder: Path) -> dict:
    """params/movielens100k.yaml with this folder as a CSV source (every other block unchanged)."""
    base = yaml.safe_load((Path(__file__).resolve().parent.parent / "params" / "movielens100k.yaml").read_text())
    out = {"name": folder.name, "data": {"source": "csv", "path": str(folder.resolve()), "strict": False}}
    out.update({k: v for k, v in base.items() if k not in out})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from", dest="source", type=Path, default=None,
                    help="a MovieLens latest-small folder to map instead of the synthetic catalog")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = catalog(args.seed) if args.source is None else from_latest_small(args.source)
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
    (out / "params.yaml").write_text(yaml.safe_dump(params_block(out), sort_keys=False))
    r = tables["ratings"]
    per_user = r.groupby("customer_id").size()
    per_item = r.groupby("product_id").size()
    print(f"{out}: {r['customer_id'].nunique()} users, {r['product_id'].nunique()} rated movies of {len(tables['products'])}, "
          f"{len(r)} ratings (mean {r['rating'].mean():.2f}); per user min {per_user.min()} median "
          f"{per_user.median():.0f} max {per_user.max()}; movies rated once {int((per_item == 1).sum())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
