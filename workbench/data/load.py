"""The one door for data: read a source, validate it, return the shop and the validation report."""
from __future__ import annotations

import hashlib
import logging

import pandas as pd

from workbench.data import contract as data_contract
from workbench.data.bots import bot_rules
from workbench.data.sessions import session_settings
from workbench.data.shop import Shop
from workbench.data.sources import load_source
from workbench.data.validate import Limits, ValidationReport, validate_shop
from workbench.errors import ConfigError

log = logging.getLogger(__name__)


def drop_parts(shop: Shop, drop: list | None) -> Shop:
    """The shop without the tables (``prices``) and columns (``products.price``) named in ``data.drop``.

    Turns any source into a narrower one, e.g. the synthetic shop into a clickstream-only shop
    (``[transactions, prices, products.price]``). Dropping a required table or column other than
    ``transactions`` and ``products.price`` is left to validation, which names what is missing.
    """
    if not drop:
        return shop
    if isinstance(drop, str):
        drop = [drop]
    if not isinstance(drop, (list, tuple)):
        raise ConfigError(f"data.drop must be a list of tables or table.columns, such as [prices, products.price], "
                          f"not {drop!r}")
    tables, meta = {}, dict(shop.meta)
    for item in drop:
        table, _, column = str(item).partition(".")
        if table not in data_contract.ALL_TABLES:
            raise ConfigError(f"data.drop: {item!r} names no table; use one of {list(data_contract.ALL_TABLES)} "
                              f"or table.column")
        df = tables.get(table, getattr(shop, table))
        if not column:
            tables[table] = None
        elif df is not None:
            if column not in df:
                raise ConfigError(f"data.drop: {table} has no column {column!r} (has {list(df.columns)[:12]})")
            tables[table] = df.drop(columns=[column])
    meta["dropped"] = [str(d) for d in drop]
    log.info("data.drop: leaving out %s", ", ".join(meta["dropped"]))
    out = shop.replace(**tables)
    out.meta = meta
    return out


def load_shop(params: dict) -> tuple[Shop, ValidationReport]:
    """Return the validated shop named by ``params['data']`` and its validation report.

    ``data.drop`` leaves tables or columns out before validation; ``data.validation`` sets the
    :class:`~workbench.data.validate.Limits`; ``data.strict`` turns any quarantined row into an error;
    ``clickstream.bots`` (with ``clickstream.sessions``) moves suspected bots to quarantine.
    """
    data = params["data"]
    limits = Limits.from_params(data.get("validation"))
    raw = drop_parts(load_source(data, seed=params.get("seed")), data.get("drop"))
    shop, report = validate_shop(raw, strict=bool(data.get("strict", False)), limits=limits,
                                 bots=bot_rules(params), sessions=session_settings(params))
    log.info("loaded %s:\n%s", raw.name, report)
    return shop, report


def fingerprint(shop: Shop) -> str:
    """A short, order-sensitive sha256 of every contract table's content (for the manifest)."""
    h = hashlib.sha256()
    for name, df in shop.tables().items():
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]
