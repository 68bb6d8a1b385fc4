"""Session recommenders (workbench/recommend/session_knn.py) against plain-loop references."""
import math

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.recommend.session_knn import SessionCooccurrence, SessionKNN, SessionPopular

#: training sessions, oldest first
TRAIN = [["a", "b", "c"], ["b", "c"], ["c", "d", "e"], ["a", "e"], ["b", "d"], ["a", "b", "d", "f"], ["e", "f"]]


def _frame(sessions):
    return pd.DataFrame([(i, item) for i, s in enumerate(sessions) for item in s],
                        columns=[contract.SESSION_ID, contract.PRODUCT_ID])


def _brute_sknn(current, k, sample, decay):
    """Jannach and Ludewig's session-kNN with loops: recent candidates sharing an item, top-k by similarity."""
    w = {}
    for pos, item in enumerate(current, 1):
        w[item] = pos / len(current) if decay else 1.0
    cands = [i for i, s in enumerate(TRAIN) if set(s) & set(current)][-sample:]
    sims = {i: sum(w.get(x, 0) for x in set(TRAIN[i])) / math.sqrt(len(w) * len(set(TRAIN[i]))) for i in cands}
    top = sorted(cands, key=lambda i: (-sims[i], i))[:k]
    scores = {}
    for i in top:
        for x in set(TRAIN[i]):
            scores[x] = scores.get(x, 0) + sims[i]
    return scores


@pytest.mark.parametrize("weighting", [None, "linear"])
@pytest.mark.parametrize("k,sample", [(2, 10), (10, 3), (3, 4)])
def test_session_knn_scores_match_the_loop_reference(weighting, k, sample):
    model = SessionKNN(k=k, sample_size=sample, weighting=weighting).fit(_frame(TRAIN))
    for current in (["a"], ["b", "d"], ["d", "b", "a"], ["f", "c"]):
        got = model._scores(model.codes(current))
        ref = _brute_sknn(current, k, sample, weighting == "linear")
        want = np.array([ref.get(x, 0.0) for x in model.items_])
        assert np.allclose(got, want), (current, got, want)


def test_baselines_follow_their_definitions():
    data = _frame(TRAIN)
    pop = SessionPopular().fit(data)
    # the session's own items first (by clicks in it), never the current item, then the most popular
    assert pop.recommend(["e", "f", "e", "c"], k=3)[contract.PRODUCT_ID].tolist() == ["e", "f", "b"]
    co = SessionCooccurrence().fit(data)
    # sessions shared with the last item "d": c 1, e 1, b 2, a 1, f 1 -> b first, then ties by popularity
    assert co.recommend(["a", "d"], k=1)[contract.PRODUCT_ID].tolist() == ["b"]


def test_recommend_for_session_reads_the_latest_visit_of_an_unseen_visitor():
    model = SessionKNN(k=5, sample_size=10, weighting=None).fit(_frame(TRAIN))
    t0 = pd.Timestamp("2024-05-01 12:00")
    events = pd.DataFrame({contract.CUSTOMER_ID: "never-seen",
                           contract.PRODUCT_ID: ["e", "zzz-unknown", "a", "b"],
                           contract.TIMESTAMP: [t0, t0 + pd.Timedelta(hours=5), t0 + pd.Timedelta(hours=5, minutes=1),
                                                t0 + pd.Timedelta(hours=5, minutes=2)],
                           contract.EVENT: "view"})
    out = model.recommend_for_session(events, k=4)
    assert len(out) == 4 and "b" not in out  # the item on screen is not recommended
    # the morning visit ("e") is another session: the list is the one for [a, b] alone
    assert out == model.recommend(["a", "b"], k=4)[contract.PRODUCT_ID].tolist()
    # nothing known: the most popular items
    assert model.recommend_for_session(events.iloc[[1]], k=2) == ["b", "a"]
    assert model.recommend_for_session(events.iloc[:0], k=2) == ["b", "a"]
