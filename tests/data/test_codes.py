"""Shared id codes: the same answer as pd.factorize, remembered per Arrow column, forgotten when it changes."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import codes as data_codes


def _col(values):
    return pd.Series(pd.array(values, dtype="str"))


def test_factorize_ids_equals_pandas_and_is_remembered():
    s = _col(["b", "a", "b", None, "c"])
    codes, uniq = data_codes.factorize_ids(s)
    ref_codes, ref_uniq = pd.factorize(s)
    np.testing.assert_array_equal(codes, ref_codes)
    assert list(uniq) == list(ref_uniq)
    again, _ = data_codes.factorize_ids(s)
    assert again is codes                      # the same column: not hashed again
    assert not codes.flags.writeable           # shared codes cannot be changed by a caller
    with pytest.raises(ValueError):
        codes[0] = 5


def test_a_changed_column_is_hashed_again():
    df = pd.DataFrame({"id": pd.array(["x", "y", "x"], dtype="str")})
    first, _ = data_codes.factorize_ids(df["id"])
    assert data_codes.factorize_ids(df["id"])[0] is first
    df.loc[1, "id"] = "x"                      # an edited value: new Arrow data behind the same column
    codes, uniq = data_codes.factorize_ids(df["id"])
    assert list(uniq) == ["x"] and list(codes) == [0, 0, 0]
    df["id"] = df["id"].str.upper()            # a replaced column
    assert list(data_codes.factorize_ids(df["id"])[1]) == ["X"]
    sub = df[df.index > 0]["id"]               # a filtered copy is its own column
    assert len(data_codes.factorize_ids(sub)[0]) == 2


def test_numpy_columns_are_factorized_every_time():
    s = pd.Series([3, 1, 3])
    a, ua = data_codes.factorize_ids(s)
    b, _ = data_codes.factorize_ids(s)
    assert a is not b and list(a) == [0, 1, 0] and list(ua) == [3, 1]


def test_sorted_codes_and_compact_match_factorize_sort():
    s = _col(["d", "b", "d", "a", None, "c"])
    codes, uniq = data_codes.factorize_ids(s)
    sc, su = data_codes.sorted_codes(codes, uniq)
    ref_codes, ref_uniq = pd.factorize(s, sort=True)
    np.testing.assert_array_equal(sc, ref_codes)
    assert list(su) == list(ref_uniq)
    keep = np.array([True, False, True, False, True, True])  # rows holding d, d, None, c
    cc, cu = data_codes.sorted_codes(*data_codes.compact(codes[keep], uniq))
    ref_codes, ref_uniq = pd.factorize(s[keep], sort=True)
    np.testing.assert_array_equal(cc, ref_codes)
    assert list(cu) == list(ref_uniq) == ["c", "d"]
