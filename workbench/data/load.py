"""The one door for data: read a source, validate it, return the shop and the validation report."""
from __future__ import annotations

import hashlib
import logging

import pandas as pd

from workbench.data.shop import Shop
from workbench.data.sources import load_source
from workbench.data.validate import ValidationReport, validate_shop

log = logging.getLogger(__name__)


def load_shop(params: dict) -> tuple[Shop, ValidationReport]:
    """Return the validated shop named by ``params['data']`` and its validation report."""
    data = params["data"]
    raw = load_source(data, seed=params.get("seed"))
    shop, report = validate_shop(raw, strict=bool(data.get("strict", False)))
    log.info("loaded %s:\n%s", raw.name, report)
    return shop, report


def fingerprint(shop: Shop) -> str:
    """A short, order-sensitive sha256 of every contract table's content (for the manifest)."""
    h = hashlib.sha256()
    for name, df in shop.tables().items():
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]
