"""Validation of a shop against the data contract: clear errors, quarantine, the counts identity.

Two kinds of problem:

* fatal ones raise :class:`~workbench.errors.DataValidationError` (an empty table, a missing required
  column, an id that names two different records), with the table, column, rule, count and examples;
* recoverable ones (orphan lines, duplicate lines, non-positive prices, unparseable or future dates,
  missing values, zero quantities, unknown event types) move the row to quarantine with its reason.

Rows are never dropped silently: for every table ``rows_accepted + rows_quarantined == rows_read``.
With ``strict=True`` any quarantined row is an error instead.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench.data import contract as C
from workbench.data.shop import Shop
from workbench.errors import DataValidationError

log = logging.getLogger(__name__)


@dataclass
class TableReport:
    """Counts for one table: rows read, accepted and quarantined, and quarantined rows per reason."""

    table: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class ValidationReport:
    """What validation did to every table, and the quarantined rows with their reasons."""

    tables: dict[str, TableReport] = field(default_factory=dict)
    quarantine: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def rows_quarantined(self) -> int:
        """Quarantined rows over all tables."""
        return sum(t.rows_quarantined for t in self.tables.values())

    def to_frame(self) -> pd.DataFrame:
        """One row per table and reason, with the counts."""
        rows = []
        for t in self.tables.values():
            base = {"table": t.table, "rows_read": t.rows_read, "rows_accepted": t.rows_accepted,
                    "rows_quarantined": t.rows_quarantined}
            if not t.reasons:
                rows.append({**base, "reason": "", "rows": 0})
            for reason, n in sorted(t.reasons.items()):
                rows.append({**base, "reason": reason, "rows": n})
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        lines = ["table          read   accepted  quarantined  reasons"]
        for t in self.tables.values():
            reasons = ", ".join(f"{k}={v}" for k, v in sorted(t.reasons.items())) or "-"
            lines.append(f"{t.table:<12} {t.rows_read:>7} {t.rows_accepted:>10} {t.rows_quarantined:>12}  {reasons}")
        return "\n".join(lines)


def _arrow(s: pd.Series):
    """The column as a pyarrow array, zero-copy when it is already Arrow-backed."""
    arr = getattr(s.array, "_pa_array", None)
    return arr if arr is not None else pa.array(s, from_pandas=True)


def _np_bool(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _examples(df: pd.DataFrame, mask: np.ndarray, column: str | None, n: int = 3) -> list:
    idx = np.flatnonzero(mask)[:n]
    if column is not None and column in df:
        return [f"row {i}: {df[column].iloc[i]!r}" for i in idx]
    return [f"row {i}" for i in idx]


class _TableCheck:
    """Coerces one table and collects, per row, the first rule it breaks."""

    def __init__(self, name: str, raw: pd.DataFrame, now: pd.Timestamp):
        self.name, self.raw, self.now = name, raw, now
        self.schema = C.SCHEMAS[name]
        self.df = raw.reset_index(drop=True).copy()
        self.reason = np.full(len(self.df), None, dtype=object)
        self.flagged = np.zeros(len(self.df), dtype=bool)  # reason is set (kept apart: isna on objects is slow)

    def flag(self, mask, reason: str) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.flagged
        if mask.any():
            self.reason[mask] = reason
            self.flagged |= mask

    def structure(self) -> None:
        if len(self.df) == 0:
            raise DataValidationError(self.name, None, "non_empty", 0, hint="the table has no rows; check the source")
        missing = [c for c in self.schema.required if c not in self.df.columns]
        if missing:
            raise DataValidationError(
                self.name, missing[0], "required_column", len(self.df),
                examples=[f"columns present: {list(self.df.columns)[:12]}"],
                hint=f"add the column(s) {missing} or map them in the adapter")

    def coerce(self) -> None:
        for col in self.schema.columns:
            if col.name not in self.df.columns:
                continue
            s = self.df[col.name]
            missing = s.isna().to_numpy()
            if col.required:
                self.flag(missing, f"missing_value:{col.name}")
            if col.kind == "id":
                if not pd.api.types.is_string_dtype(s) or s.dtype == object:
                    s = s.astype("str")
                    if missing.any():
                        s = s.where(~missing, None).astype("str")
                    s = s.str.strip()
                if col.required:
                    self.flag(_np_bool(pc.equal(_arrow(s), "")), f"missing_value:{col.name}")
            elif col.kind in ("datetime", "date"):
                if not pd.api.types.is_datetime64_any_dtype(s):
                    s = pd.to_datetime(s, errors="coerce", format="mixed")
                if getattr(s.dt, "tz", None) is not None:
                    s = s.dt.tz_convert(None)
                self.flag(s.isna().to_numpy() & ~missing, f"unparseable_date:{col.name}")
                self.flag((s > self.now).to_numpy(), f"future_date:{col.name}")
            elif col.kind in ("int", "float"):
                num = pd.to_numeric(s, errors="coerce")
                self.flag(num.isna().to_numpy() & ~missing, f"not_numeric:{col.name}")
                if col.kind == "int":
                    frac = (num.to_numpy(dtype=float, na_value=0.0) % 1) != 0
                    self.flag(frac, f"not_integer:{col.name}")
                    s = num.round().astype("Int64") if num.isna().any() else num.astype("int64")
                else:
                    s = num.astype("float64")
                v = s.to_numpy(dtype=float, na_value=np.nan)
                if col.positive:
                    self.flag(~(v > 0) & ~np.isnan(v), f"non_positive:{col.name}")
                if col.nonzero:
                    self.flag(v == 0, f"zero:{col.name}")
            elif col.kind == "category":
                if col.choices is not None:
                    if isinstance(s.dtype, pd.CategoricalDtype):  # check the few categories, not every row
                        ok_cat = np.r_[s.cat.categories.astype("str").isin(col.choices), False]
                        bad = ~ok_cat[s.cat.codes.to_numpy()] & ~missing
                    else:
                        bad = ~s.astype("str").isin(col.choices).to_numpy() & ~missing
                    self.flag(bad, f"invalid_value:{col.name}")
                    if not (isinstance(s.dtype, pd.CategoricalDtype) and list(s.cat.categories) == list(col.choices)):
                        s = pd.Categorical(s.astype("str").where(~bad, None), categories=list(col.choices))
                elif not isinstance(s.dtype, pd.CategoricalDtype):
                    s = s.astype("category")
            elif col.kind == "text" and (not pd.api.types.is_string_dtype(s) or s.dtype == object):
                s = s.astype("str").where(~missing, None).astype("str")
            self.df[col.name] = s

    def duplicates(self) -> None:
        ok = ~self.flagged
        dup = np.zeros(len(self.df), dtype=bool)
        sub = self.df.loc[ok]
        pos = np.flatnonzero(ok)
        # exact duplicates: a duplicate row repeats the hash of any subset of its columns, so hash the cheap
        # (non-string) columns first, then all columns of the rows whose hash repeats, and compare only the
        # rows left; string hashing is most of the cost, and few rows survive the first pass
        cheap = [c for c in sub.columns if not pd.api.types.is_string_dtype(sub[c].dtype)
                 or isinstance(sub[c].dtype, pd.CategoricalDtype)]
        passes = ([cheap] if cheap and len(cheap) < sub.shape[1] else []) + [list(sub.columns)]
        for cols in passes:
            h = pd.util.hash_pandas_object(sub[cols], index=False).to_numpy()
            cand = pd.Series(h).duplicated(keep=False).to_numpy()
            sub, pos = sub.loc[cand], pos[cand]
            if not len(pos):
                break
        if len(pos):
            dup[pos] = sub.duplicated(keep="first").to_numpy()
        self.flag(dup, "duplicate_line" if self.name == C.TRANSACTIONS else "duplicate_row")
        if self.schema.unique:
            ok = ~self.flagged
            key = self.df.loc[ok, list(self.schema.unique)]
            clash = key.duplicated(keep=False).to_numpy()
            if clash.any():
                mask = np.zeros(len(self.df), dtype=bool)
                mask[np.flatnonzero(ok)[clash]] = True
                raise DataValidationError(
                    self.name, ",".join(self.schema.unique), "unique", int(mask.sum()),
                    examples=_examples(self.df, mask, self.schema.unique[0]),
                    hint="the same id names different records; fix the source or de-duplicate it first")

    def foreign_keys(self, accepted: dict[str, pd.DataFrame]) -> None:
        for col, parent in self.schema.foreign_keys.items():
            if parent not in accepted or col not in self.df:
                continue
            known = _arrow(accepted[parent][col])
            if isinstance(known, pa.ChunkedArray):
                known = known.combine_chunks()
            found = _np_bool(pc.is_in(_arrow(self.df[col]), value_set=known))
            self.flag(~found, f"orphan:{col}")

    def split(self) -> tuple[pd.DataFrame, pd.DataFrame, TableReport]:
        bad = self.flagged.copy()
        accepted = self.df.loc[~bad].reset_index(drop=True)
        q = self.raw.reset_index(drop=True).loc[bad].copy()
        q.insert(0, "_reason", self.reason[bad].astype(str))
        q.insert(0, "_row", np.flatnonzero(bad))
        reasons = pd.Series(self.reason[bad]).value_counts().sort_index()
        rep = TableReport(self.name, len(self.df), len(accepted), int(bad.sum()),
                          {str(k): int(v) for k, v in reasons.items()})
        assert rep.rows_accepted + rep.rows_quarantined == rep.rows_read
        return accepted, q.reset_index(drop=True), rep


def validate_shop(shop: Shop, strict: bool = False, now: pd.Timestamp | None = None) -> tuple[Shop, ValidationReport]:
    """Return the shop with only valid rows, and the report of what went to quarantine and why.

    Raises :class:`DataValidationError` on fatal problems, and on any quarantined row if ``strict``.
    ``now`` (default: the current time) is the cut-off for future dates.
    """
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    report = ValidationReport()
    accepted: dict[str, pd.DataFrame] = {}
    for name in C.ALL_TABLES:  # parents (customers, products) come before the tables that point to them
        raw = getattr(shop, name)
        if raw is None:
            continue
        chk = _TableCheck(name, raw, now)
        chk.structure()
        chk.coerce()
        chk.duplicates()
        chk.foreign_keys(accepted)
        df, q, rep = chk.split()
        if name in C.REQUIRED_TABLES and len(df) == 0:
            raise DataValidationError(name, None, "non_empty_after_validation", rep.rows_read,
                                      examples=[f"{k}: {v}" for k, v in rep.reasons.items()],
                                      hint="every row was quarantined")
        accepted[name] = df
        report.tables[name] = rep
        if len(q):
            report.quarantine[name] = q
            log.warning("%s: %d of %d rows quarantined (%s)", name, rep.rows_quarantined, rep.rows_read,
                        ", ".join(f"{k}={v}" for k, v in rep.reasons.items()))
            if strict:
                reason = next(iter(rep.reasons))
                col = reason.split(":", 1)[1] if ":" in reason else None
                mask = (q["_reason"] == reason).to_numpy()
                raise DataValidationError(name, col, reason.split(":")[0], rep.reasons[reason],
                                          examples=[f"row {r}" for r in q.loc[mask, "_row"].head(3)],
                                          hint="strict mode: set strict: false to quarantine these rows instead")
    return shop.replace(**accepted), report
