"""Validation of a shop against the data contract: clear errors, quarantine, the counts identity.

Two kinds of problem:

* fatal ones raise :class:`~workbench.errors.DataValidationError` (a missing required column, an id that
  names two different records), with the table, column, rule, count and examples, or its subclass
  :class:`~workbench.errors.InvalidShopError` when the shop as a whole is unusable (below);
* recoverable ones (orphan lines, duplicate lines, non-positive prices, unparseable or future dates,
  missing values, zero quantities, unknown event types, ``inf``/``nan`` values, magnitudes beyond the
  :class:`Limits`, lines whose revenue overflows) move the row to quarantine with its reason.

A shop that cannot be used stops here, with the table, column and rule: no feedback table at all (no
transactions, events or ratings), a table whose every row was quarantined, transactions with returns
but no sale. A shop without money is legal: ``transactions`` may be empty or absent when ``events`` or
``ratings`` exist (an empty transactions table is returned), and ``products.price`` may be absent or
missing (it is then NaN).

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

from workbench.data import contract as data_contract
from workbench.data.bots import REASON_PREFIX, BotRules, flag_bots
from workbench.data.sessions import SessionSettings
from workbench.data.shop import Shop, is_sale
from workbench.errors import ConfigError, DataValidationError, InvalidShopError

log = logging.getLogger(__name__)

#: text that means "not a finite number" (compared lower-cased, stripped)
NON_FINITE_TOKENS = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
#: integers must fit int64
_INT64_LIMIT = float(2 ** 63)


@dataclass(frozen=True)
class Limits:
    """The largest believable magnitudes (the ``data.validation`` params block).

    Values beyond them are quarantined as ``out_of_range:<column>``: ``max_unit_price`` caps
    ``transactions.unit_price``, ``products.price`` and the ``prices`` table; ``max_quantity`` caps
    ``|quantity|`` and ``stock``; ``max_age`` caps ``customers.age``; dates before ``min_date`` (epoch-zero
    junk such as 1970-01-01 included) are quarantined as ``before_min_date:<column>``. Set a bound to
    ``.inf`` (YAML) to lift it; a line whose revenue (quantity x unit price) is still not finite is
    quarantined as ``overflow:revenue``.
    """

    max_unit_price: float = 1e6     # transactions.unit_price, products.price, prices.price/competitor_price
    max_quantity: float = 1e6       # |transactions.quantity|, prices.stock
    max_age: float = 120            # customers.age
    min_date: str = "1980-01-01"    # every date column (epoch-zero junk like 1970-01-01 is caught)

    @classmethod
    def from_params(cls, block: dict | None) -> "Limits":
        """The limits of a ``data.validation`` block (missing keys keep their defaults)."""
        if block is not None and not isinstance(block, dict):
            raise ConfigError(f"data.validation must be a mapping such as {{max_unit_price: 1.0e6}}, not {block!r}")
        block = dict(block or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(block) - known)
        if unknown:
            raise ConfigError(f"data.validation: unknown key(s) {unknown}; known: {sorted(known)}")
        out = {}
        for k, v in block.items():
            if k == "min_date":
                if pd.isna(pd.to_datetime(str(v), errors="coerce")):
                    raise ConfigError(f"data.validation.min_date={v!r} is not a date")
                out[k] = str(v)
                continue
            try:
                out[k] = float(v.strip().lstrip("+.")) if isinstance(v, str) else float(v)  # YAML's .inf too
            except (TypeError, ValueError):
                raise ConfigError(f"data.validation.{k}={v!r} is not a number") from None
            if not out[k] > 0:
                raise ConfigError(f"data.validation.{k}={v!r} must be > 0")
        return cls(**out)


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
    #: the suspected bots moved to quarantine (``customer_id, rule, events``; see :mod:`workbench.data.bots`)
    bots: pd.DataFrame | None = None

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


def _one_float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return np.nan


def _numbers(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The column as float64 (NaN where not a number) and as parsed by ``pd.to_numeric`` (exact integers)."""
    try:
        num = pd.to_numeric(s, errors="coerce")
    except (TypeError, ValueError, OverflowError):  # objects pandas cannot parse as a column
        num = pd.Series([_one_float(x) for x in s], index=s.index, dtype="float64")
    try:
        v = num.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError, OverflowError):
        v = np.array([_one_float(x) for x in num], dtype="float64")
    return v, num


def _non_finite_text(s: pd.Series) -> np.ndarray:
    """Rows holding text such as ``nan`` or ``-inf`` (missing cells excluded)."""
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return np.zeros(len(s), dtype=bool)
    txt = s.astype("str").str.strip().str.lower()
    return txt.isin(NON_FINITE_TOKENS).to_numpy(dtype=bool, na_value=False) & s.notna().to_numpy()


def _dates(s: pd.Series) -> pd.Series:
    """The column as naive datetimes (UTC when the input carries time zones); NaT where unparseable."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        try:
            out = pd.to_datetime(s, errors="coerce", format="mixed")
        except (TypeError, ValueError, OverflowError):  # mixed time zones, odd objects
            try:
                out = pd.to_datetime(s, errors="coerce", format="mixed", utc=True)
            except (TypeError, ValueError, OverflowError):
                out = pd.Series([pd.to_datetime(x, errors="coerce", utc=True) if isinstance(x, str) else pd.NaT
                                 for x in s], index=s.index, dtype="datetime64[ns, UTC]")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert(None)
    return out


def _examples(df: pd.DataFrame, mask: np.ndarray, column: str | None, n: int = 3) -> list:
    idx = np.flatnonzero(mask)[:n]
    if column is not None and column in df:
        return [f"row {i}: {df[column].iloc[i]!r}" for i in idx]
    return [f"row {i}" for i in idx]


class _TableCheck:
    """Coerces one table and collects, per row, the first rule it breaks."""

    def __init__(self, name: str, raw: pd.DataFrame, now: pd.Timestamp, limits: Limits):
        self.name, self.raw, self.now, self.limits = name, raw, now, limits
        self.schema = data_contract.SCHEMAS[name]
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
            raise InvalidShopError(self.name, None, "non_empty", 0, hint="the table has no rows; check the source")
        names = pd.Index(self.df.columns.map(str))
        if names.duplicated().any():
            dup = sorted(set(names[names.duplicated()]))
            raise DataValidationError(self.name, dup[0], "unique_column_names", len(self.df),
                                      examples=[f"columns present: {list(names)[:12]}"],
                                      hint="two columns share a name; rename one in the source or the adapter")
        self.df.columns = names
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
                s = _dates(s)
                self.flag(s.isna().to_numpy() & ~missing, f"unparseable_date:{col.name}")
                self.flag((s > self.now).to_numpy(), f"future_date:{col.name}")
                self.flag((s < pd.Timestamp(self.limits.min_date)).to_numpy(), f"before_min_date:{col.name}")
            elif col.kind in ("int", "float"):
                s = self._number(col, s, missing)
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

    def _number(self, col: data_contract.Column, s: pd.Series, missing: np.ndarray) -> pd.Series:
        """Coerce a numeric column; flag non-finite, non-numeric, fractional and out-of-range values."""
        v, num = _numbers(s)
        finite = np.isfinite(v)
        self.flag(np.isinf(v) | _non_finite_text(s), f"non_finite:{col.name}")
        self.flag(np.isnan(v) & ~missing, f"not_numeric:{col.name}")
        with np.errstate(invalid="ignore"):
            if col.kind == "int":
                self.flag(finite & (np.mod(v, 1, where=finite, out=np.zeros_like(v)) != 0),
                          f"not_integer:{col.name}")
            bound = getattr(self.limits, col.bound) if col.bound else np.inf
            limit = min(bound, _INT64_LIMIT - 1024) if col.kind == "int" else bound
            self.flag(finite & (np.abs(v) > limit), f"out_of_range:{col.name}")
            if col.positive:
                self.flag(~(v > 0) & ~np.isnan(v), f"non_positive:{col.name}")
            if col.nonzero:
                self.flag(v == 0, f"zero:{col.name}")
        if col.kind == "float":
            return pd.Series(v, index=s.index, dtype="float64")
        ok = finite & (np.abs(v) < _INT64_LIMIT - 1024) & ~self.flagged
        if pd.api.types.is_integer_dtype(num.dtype) and num.dtype != "uint64" and not num.isna().any():
            return num.astype("int64")  # exact, no float round trip
        ints = np.where(ok, v, 0).round().astype("int64")
        if ok.all():
            return pd.Series(ints, index=s.index)
        out = pd.array(np.where(ok, ints, 0), dtype="Int64")
        out[~ok] = pd.NA
        return pd.Series(out, index=s.index)

    def revenue(self) -> None:
        """Transactions: quarantine lines whose quantity x unit price is not a finite number."""
        if self.name != data_contract.TRANSACTIONS:
            return
        q = self.df[data_contract.QUANTITY].to_numpy(dtype="float64", na_value=np.nan)
        p = self.df[data_contract.UNIT_PRICE].to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(over="ignore", invalid="ignore"):
            rev = q * p
        self.flag(~np.isfinite(rev) & np.isfinite(q) & np.isfinite(p), f"overflow:{data_contract.REVENUE}")

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
        self.flag(dup, "duplicate_line" if self.name == data_contract.TRANSACTIONS else "duplicate_row")
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

    def bots(self, rules: BotRules, sessions: SessionSettings) -> pd.DataFrame:
        """Events: flag every event of a suspected bot (among the rows still valid) as ``bot:<rule>``; return
        the bots (:func:`~workbench.data.bots.flag_bots`)."""
        ok = ~self.flagged
        bots = flag_bots(self.df if ok.all() else self.df.loc[ok], rules, sessions.gap_minutes)
        if len(bots):
            rule = bots.set_index(data_contract.CUSTOMER_ID)["rule"]
            hit = self.df[data_contract.CUSTOMER_ID].map(rule)
            for name, _ in bots.groupby("rule"):
                self.flag(((hit == name).to_numpy() & ok), f"{REASON_PREFIX}{name}")
        return bots

    def split(self) -> tuple[pd.DataFrame, pd.DataFrame, TableReport]:
        bad = self.flagged.copy()
        accepted = self.df.loc[~bad].reset_index(drop=True)
        for col in self.schema.columns:  # integer columns whose missing values all went to quarantine
            if col.kind == "int" and col.name in accepted and str(accepted[col.name].dtype) == "Int64" \
                    and not accepted[col.name].isna().any():
                accepted[col.name] = accepted[col.name].astype("int64")
        q = self.raw.reset_index(drop=True).loc[bad].copy()
        q.columns = [f"{c}_source" if c in ("_row", "_reason") else c for c in q.columns.map(str)]
        q.insert(0, "_reason", self.reason[bad].astype(str))
        q.insert(0, "_row", np.flatnonzero(bad))
        reasons = pd.Series(self.reason[bad]).value_counts().sort_index()
        rep = TableReport(self.name, len(self.df), len(accepted), int(bad.sum()),
                          {str(k): int(v) for k, v in reasons.items()})
        assert rep.rows_accepted + rep.rows_quarantined == rep.rows_read
        return accepted, q.reset_index(drop=True), rep


def empty_table(name: str) -> pd.DataFrame:
    """A table of the contract with no rows and its required columns in their validated dtypes."""
    kinds = {"id": "str", "text": "str", "datetime": "datetime64[us]", "date": "datetime64[us]",
             "int": "int64", "float": "float64", "category": "category"}
    return pd.DataFrame({c.name: pd.Series([], dtype=kinds[c.kind]) for c in data_contract.SCHEMAS[name].columns if c.required})


def _has_rows(df: pd.DataFrame | None) -> bool:
    return df is not None and len(df) > 0


def _feedback(shop: Shop) -> None:
    """Raise unless the shop has a table saying what customers did (transactions, events or ratings)."""
    if not any(_has_rows(getattr(shop, n)) for n in data_contract.FEEDBACK_TABLES):
        present = {n: (None if getattr(shop, n) is None else len(getattr(shop, n))) for n in data_contract.FEEDBACK_TABLES}
        raise InvalidShopError(data_contract.TRANSACTIONS, None, "feedback_present", 0,
                                  examples=[f"{n}: {'absent' if k is None else f'{k} rows'}"
                                            for n, k in present.items()],
                                  hint="a shop needs purchases (transactions), a clickstream (events) or ratings")


def _all_quarantined(name: str, rep: TableReport, q: pd.DataFrame) -> InvalidShopError:
    """The error for a table that had rows and kept none: named by its most frequent reason's column."""
    top = max(rep.reasons, key=lambda k: (rep.reasons[k], k))
    column = top.split(":", 1)[1] if ":" in top else None
    rows = q.loc[q["_reason"] == top, "_row"].head(3).tolist()
    return InvalidShopError(name, column, "non_empty_after_validation", rep.rows_read,
                               examples=[f"{k}: {v}" for k, v in sorted(rep.reasons.items())] + [f"row {r}" for r in rows],
                               hint=f"every row was quarantined (most often: {top}); see the quarantine for the rows")


def _check_sales(tx: pd.DataFrame) -> None:
    """Transactions with lines but no sale (only returns) cannot be analysed: stop with the reason."""
    if len(tx) and not is_sale(tx).any():
        raise InvalidShopError(
            data_contract.TRANSACTIONS, data_contract.QUANTITY, "has_sales", len(tx),
            examples=[f"transaction {t}: quantity {q}" for t, q in zip(tx[data_contract.TRANSACTION_ID].head(3), tx[data_contract.QUANTITY].head(3))],
            hint="every accepted line is a return (quantity < 0); a shop needs at least one sale "
                 "(quantity > 0), or no transactions at all and events or ratings instead")


def _bot_customers(chk: _TableCheck, bots: pd.DataFrame, accepted: dict[str, pd.DataFrame]) -> np.ndarray:
    """Flag the customers rows of suspected bots that left nothing but events (a bot with transactions or
    ratings keeps its row, so those stay valid); return the flagged mask."""
    keep = set()
    for name in (data_contract.TRANSACTIONS, data_contract.RATINGS):
        df = accepted.get(name)
        if df is not None and len(df):
            keep |= set(df[data_contract.CUSTOMER_ID].astype("str"))
    rule = bots.set_index(data_contract.CUSTOMER_ID)["rule"]
    rule = rule[~rule.index.isin(keep)]
    hit = chk.df[data_contract.CUSTOMER_ID].astype("str").map(rule)
    before = chk.flagged.copy()
    for name in rule.unique():
        chk.flag((hit == name).to_numpy(), f"{REASON_PREFIX}{name}")
    return chk.flagged & ~before


def validate_shop(shop: Shop, strict: bool = False, now: pd.Timestamp | None = None,
                  limits: Limits | None = None, bots: BotRules | None = None,
                  sessions: SessionSettings | None = None) -> tuple[Shop, ValidationReport]:
    """Return the shop with only valid rows, and the report of what went to quarantine and why.

    Raises :class:`DataValidationError` on fatal problems, and on any quarantined row if ``strict``.
    ``now`` (default: the current time) is the cut-off for future dates; ``limits`` (default
    :class:`Limits`) the largest believable magnitudes. Every table of the result is present in the
    report; absent or empty transactions (legal with events or ratings) come back as an empty table.
    ``bots`` (default: none) are the rules that move suspected bots' events, and their customers rows when
    they have nothing else, to quarantine (sessions cut by ``sessions``); they are in ``report.bots``.
    """
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    limits = Limits() if limits is None else limits
    report = ValidationReport()
    accepted: dict[str, pd.DataFrame] = {}
    checks: dict[str, _TableCheck] = {}
    _feedback(shop)
    for name in data_contract.ALL_TABLES:  # parents (customers, products) come before the tables that point to them
        raw = getattr(shop, name)
        if name == data_contract.TRANSACTIONS and not _has_rows(raw):
            accepted[name] = empty_table(name)  # a shop without money: events or ratings carry the feedback
            report.tables[name] = TableReport(name, 0, 0, 0)
            log.info("transactions: none; the shop's feedback is its %s",
                     " and ".join(n for n in (data_contract.EVENTS, data_contract.RATINGS) if _has_rows(getattr(shop, n))))
            continue
        if raw is None:
            continue
        if name in data_contract.OPTIONAL_TABLES and len(raw) == 0:
            log.warning("%s: the table has no rows and is left out", name)
            accepted[name] = None
            continue
        chk = _TableCheck(name, raw, now, limits)
        chk.structure()
        chk.coerce()
        chk.revenue()
        chk.duplicates()
        chk.foreign_keys(accepted)
        if name == data_contract.EVENTS and bots is not None and bots.enabled:
            report.bots = chk.bots(bots, sessions or SessionSettings())
        checks[name] = chk
        df, q, rep = chk.split()
        if len(df) == 0:
            raise _all_quarantined(name, rep, q)
        if name == data_contract.PRODUCTS and data_contract.PRICE not in df:
            df[data_contract.PRICE] = np.nan  # a catalog without prices
        if name == data_contract.TRANSACTIONS:
            _check_sales(df)
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
    if report.bots is not None and len(report.bots) and data_contract.CUSTOMERS in checks:
        chk = checks[data_contract.CUSTOMERS]
        if _bot_customers(chk, report.bots, accepted).any():
            df, q, rep = chk.split()
            accepted[data_contract.CUSTOMERS], report.tables[data_contract.CUSTOMERS] = df, rep
            report.quarantine[data_contract.CUSTOMERS] = q
    return shop.replace(**accepted), report
