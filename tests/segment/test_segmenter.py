"""The evaluation's segmenter: segments of the transactions it is given, fitted once per distinct content."""
from __future__ import annotations

import pandas as pd

from workbench.data import contract
from workbench.segment.segmenter import Segmenter


def test_the_same_transactions_are_segmented_once(small_shop, monkeypatch):
    segmenter = Segmenter(None, small_shop.customers, small_shop.products, seed=3)
    fits = []
    real = Segmenter._fit
    monkeypatch.setattr(Segmenter, "_fit", lambda self, tx, last: fits.append(len(tx)) or real(self, tx, last))
    tx = small_shop.transactions
    first = segmenter(tx)
    again = segmenter(tx.copy().set_axis(range(100, 100 + len(tx))))  # same content, another index and object
    pd.testing.assert_frame_equal(first, again)
    assert fits == [len(tx)] and len(segmenter.calls) == 2
    again.loc[again.index[0], "segment"] = "changed by the caller"  # callers get their own copy
    pd.testing.assert_frame_equal(first, segmenter(tx))
    earlier = tx[pd.to_datetime(tx[contract.TIMESTAMP]) < pd.to_datetime(tx[contract.TIMESTAMP]).max() - pd.Timedelta(days=60)]
    other = segmenter(earlier)  # other content: fitted anew, on it alone
    assert fits == [len(tx), len(earlier)]
    assert set(other[contract.CUSTOMER_ID]) <= set(small_shop.customers[contract.CUSTOMER_ID])
    assert not other.equals(first)
