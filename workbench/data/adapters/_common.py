"""Helpers shared by the real-data adapters: locating files, checking options, per-group modes."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data.sources import find_dataset
from workbench.errors import DataSourceError

log = logging.getLogger(__name__)

#: keys of a params ``data`` block that belong to other sources; an adapter ignores them quietly
OTHER_SOURCE_KEYS = frozenset({"synthetic", "url", "tables", "queries", "encoding"})


def dataset_file(folder: str, filename: str, path: str | Path | None = None) -> Path:
    """Return the path of ``filename`` in data set ``folder`` (``path`` may be the folder or the file itself)."""
    if path is not None and Path(path).is_file():
        return Path(path)
    f = find_dataset(folder, path) / filename
    if not f.is_file():
        raise DataSourceError(f"data set '{folder}': file '{filename}' not found in '{f.parent}'")
    return f


def check_options(adapter: str, options: dict) -> None:
    """Log a warning for every option the adapter does not know (other sources' keys are ignored quietly)."""
    for key in options:
        if key in OTHER_SOURCE_KEYS:
            log.debug("%s: ignoring data.%s (it belongs to another source)", adapter, key)
        else:
            log.warning("%s: unknown option data.%s=%r is ignored", adapter, key, options[key])


def most_frequent(df: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Return the most frequent non-missing ``value`` per ``key`` (ties: the alphabetically first), indexed by key."""
    counts = df.dropna(subset=[key, value]).groupby([key, value], observed=True).size().rename("_n").reset_index()
    counts = counts.sort_values(["_n", value], ascending=[False, True], kind="stable")
    return counts.drop_duplicates(key).set_index(key)[value]


def first_seen(df: pd.DataFrame, key: str, time: str) -> pd.Series:
    """Return the earliest ``time`` per non-missing ``key``, indexed by key."""
    return df.dropna(subset=[key]).groupby(key, observed=True)[time].min()


def int_ids(values: pd.Series) -> pd.Series:
    """Return numeric ids (``17850.0``, ``"00004"``) as integer strings (``"17850"``, ``"4"``), missing kept.

    Whatever is not a whole number (``"inf"``, ``"1.5"``, ``"abc"``) becomes missing, with a warning, and
    validation quarantines its row; digits beyond int64 stay exact as text.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        v = values.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(v) & (np.mod(v, 1, where=np.isfinite(v), out=np.ones_like(v)) == 0) & (np.abs(v) < 2.0 ** 63)
        out = pd.Series(np.nan, index=values.index, dtype="str")
        if pd.api.types.is_integer_dtype(values.dtype):
            out[ok] = values[ok].astype("int64").astype("str")
        else:
            out[ok] = pd.Series(v[ok], index=values.index[ok]).astype("int64").astype("str")
    else:
        parts = values.astype("str").str.strip().str.extract(r"^([+-]?)(\d+)(?:\.0*)?$")
        digits = parts[1].str.lstrip("0").where(lambda d: d != "", "0")
        sign = parts[0].where((parts[0] == "-") & (digits != "0"), "")
        out = (sign + digits).astype("str")
        ok = out.notna().to_numpy()
    bad = int((~ok & values.notna().to_numpy()).sum())
    if bad:
        log.warning("%d id(s) are not whole numbers and become missing (validation will quarantine them)", bad)
    return out
