"""Params files: load a YAML, apply ``-p key=value`` overrides, resolve paths and the data folder."""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Iterable

import yaml

from workbench.errors import ConfigError

log = logging.getLogger(__name__)

#: environment variable naming the folder that holds the real data sets
DATA_ENV = "WORKBENCH_DATA"
#: set by the runner in the notebooks' kernels to the params file whose blocks it has checked already
CHECKED_PARAMS_ENV = "WORKBENCH_PARAMS_CHECKED"


def project_root() -> Path:
    """The project folder: the nearest parent of the working directory holding ``params/`` and
    ``workbench/``, else the folder above the installed package."""
    here = Path.cwd().resolve()
    for p in (here, *here.parents):
        if (p / "params").is_dir() and (p / "workbench").is_dir():
            return p
    return Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    """Folder of the real data sets: ``$WORKBENCH_DATA`` if set, else ``../shared/datasets`` from the project root."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (project_root().parent / "shared" / "datasets").resolve()


def resolve_params_path(params: str | os.PathLike) -> Path:
    """Path of a params file given as a path or as a bare name in ``params/`` (``default``)."""
    p = Path(params)
    candidates = [p, project_root() / "params" / p, project_root() / "params" / f"{p}.yaml"]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    raise ConfigError(f"params file '{params}' not found (looked at {[str(c) for c in candidates]}); "
                      f"give a path or a name from {project_root() / 'params'}")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into its key path and the YAML-parsed value."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key.sub=value")
    key, raw = text.split("=", 1)
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise ConfigError(f"override '{text}' has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() != "" else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override '{text}': value is not valid YAML ({exc})") from exc
    return keys, value


def set_path(d: dict, keys: list[str], value: Any) -> None:
    """Set ``d[k1][k2]...[kn] = value``, creating nested dicts as needed."""
    cur = d
    for k in keys[:-1]:
        nxt = cur.get(k)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[k] = nxt
        cur = nxt
    cur[keys[-1]] = value


def deep_merge(base: dict, extra: dict) -> dict:
    """A copy of ``base`` with ``extra`` merged in, nested dicts merged key by key."""
    out = copy.deepcopy(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


#: keys of a base file's ``data`` block that hold for any data source (the rest belong to the base's source:
#: ``synthetic``, ``path``, ``queries``, ...); a file that ``extends`` it with another source keeps only these
DATA_GENERIC = ("strict", "validation", "drop")
#: settings tied to the base shop's time span: a file that ``extends`` it with another data source does not
#: inherit them, so the stages derive them from the new shop's dates (and write the value used down)
TIME_SPAN_KEYS = (("segmentation", "analysis_date"), ("segmentation", "clv", "holdout_units"),
                  ("segmentation", "clv", "calibration_end"), ("segmentation", "clv", "holdout_end"),
                  ("pricing", "test_periods"))
#: params keys the loader adds: the file passed and the files it extends (nearest first)
SOURCE_KEY, EXTENDS_KEY = "_source", "_extends"


def _pop_path(d: dict, keys: tuple[str, ...]) -> None:
    for k in keys[:-1]:
        d = d.get(k)
        if not isinstance(d, dict):
            return
    d.pop(keys[-1], None)


def for_other_source(base: dict, source: str | None) -> dict:
    """Return ``base`` as a file extending it with data source ``source`` inherits it: when the source differs,
    the base's ``data`` block keeps only :data:`DATA_GENERIC` keys and its :data:`TIME_SPAN_KEYS` are left out."""
    base_source = (base.get("data") or {}).get("source")
    if source is None or source == base_source:
        return base
    out = copy.deepcopy(base)
    data = out.get("data") or {}
    dropped = sorted(k for k in data if k not in DATA_GENERIC and k != "source")
    out["data"] = {k: v for k, v in data.items() if k in DATA_GENERIC}
    for keys in TIME_SPAN_KEYS:
        _pop_path(out, keys)
    log.info("params: data.source %s replaces the extended file's %s; its data settings %s and time-span "
             "settings are not inherited", source, base_source, dropped)
    return out


def params_files(params: dict) -> list[str]:
    """The params files a loaded params dict came from: the file passed, then the files it extends."""
    return [p for p in [params.get(SOURCE_KEY), *(params.get(EXTENDS_KEY) or [])] if p]


def load_params(params: str | os.PathLike | dict = "default",
                overrides: Iterable[str] | dict | None = None) -> dict:
    """Return the params dict from a file (path or name) or a dict, with overrides applied.

    ``overrides`` is a list of ``key.sub=value`` strings or a nested dict. The result always has
    ``name`` (the file's stem unless the file sets one), ``seed`` and ``data``.
    """
    if isinstance(params, dict):
        cfg = copy.deepcopy(params)
        source_path = None
    else:
        path = resolve_params_path(params)
        try:
            cfg = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(cfg, dict):
            raise ConfigError(f"{path}: a params file must be a mapping of keys to values")
        cfg.setdefault("name", path.stem)
        source_path = str(path)
        if "extends" in cfg:  # a params file may start from another one
            base = load_params(cfg.pop("extends"))
            base.pop("name", None)
            chain = params_files(base)
            base.pop(SOURCE_KEY, None)
            base.pop(EXTENDS_KEY, None)
            source = (cfg.get("data") or {}).get("source") if isinstance(cfg.get("data"), dict) else None
            cfg = deep_merge(for_other_source(base, source), cfg)
            cfg[EXTENDS_KEY] = chain
    if isinstance(overrides, dict):
        cfg = deep_merge(cfg, overrides)
    else:
        for text in overrides or ():
            keys, value = parse_override(text)
            set_path(cfg, keys, value)
    cfg.setdefault("name", "custom")
    cfg.setdefault("seed", 42)
    cfg.setdefault("data", {"source": "synthetic"})
    if not isinstance(cfg["data"], dict) or "source" not in cfg["data"]:
        raise ConfigError("params: 'data' must be a mapping with a 'source' (synthetic, csv, parquet, sql, "
                          "online_retail, movielens100k, cdnow, groceries)")
    if source_path:
        cfg.setdefault(SOURCE_KEY, source_path)
    return cfg


#: params keys that were renamed or moved -> the key to use now (the one table; a block's merge names the successor)
RETIRED_KEYS: dict[str, str] = {
    "recommenders.source": "evaluation.source",
    "recommenders.split": "evaluation.split",
    "recommenders.ratio": "evaluation.ratio",
    "recommenders.stratify_by": "evaluation.stratify_by",
    "recommenders.cutoff": "evaluation.cutoff",
    "recommenders.drop_seen_pairs": "evaluation.drop_seen_pairs",
    "recommenders.k": "evaluation.k",
    "recommenders.tune_seeds": "evaluation.validation.folds",
    "recommenders.tune_ratio": "evaluation.validation.ratio",
    "recommenders.n_boot": "evaluation.n_boot",
    "recommenders.curve_ks": "evaluation.curve_ks",
    "hybrid.split": "evaluation.split",
    "hybrid.split_ratio": "evaluation.ratio",
    "hybrid.stratify_by": "evaluation.stratify_by",
    "hybrid.k": "evaluation.k",
    "hybrid.validation": "evaluation.validation",
    "hybrid.interactions.source": "evaluation.source",
    "hybrid.bootstrap": "evaluation.n_boot and evaluation.alpha",
    "hybrid.max_customers": "evaluation.max_customers",
    "segmentation.kmeans": "segmentation.clusters",
    "segmentation.clusters.silhouette_sample": "segmentation.clusters.criteria_sample",
}

#: params paths whose keys are free (names of segments, components, models ...): any key is accepted there and
#: below; everywhere else a block's keys are its defaults' keys (:func:`merge_block`)
OPEN_PATHS = ("segmentation.segment_map", "segmentation.actions", "hybrid.components", "hybrid.weights",
              "hybrid.rules.segment_rules", "recommenders.tune", "recommenders.surprise.grid",
              "recommenders.surprise.params")


def check_retired(block: dict, where: str) -> None:
    """Raise :class:`ConfigError` naming the key to use now when the params block ``where`` (its dotted path)
    holds a key of :data:`RETIRED_KEYS`."""
    found = [f"'{where}.{k}' is now '{RETIRED_KEYS[f'{where}.{k}']}'" for k in block if f"{where}.{k}" in RETIRED_KEYS]
    if found:
        raise ConfigError(f"params: {'; '.join(found)}; rename it in your params file")


def merge_block(defaults: dict, block: dict | None, where: str, extra_keys=()) -> dict:
    """Return a copy of ``defaults`` with the params block ``where`` (its dotted path) merged in, nested dicts key by key.

    The one merge of a params block over its defaults: a key the defaults do not have is a :class:`ConfigError`
    naming the block, the key and the known keys, at any depth, except under :data:`OPEN_PATHS` and for
    ``extra_keys`` (keys the block may hold at its top beside the defaults', e.g. model names)."""
    if block is None:
        return copy.deepcopy(defaults)
    if not isinstance(block, dict):
        raise ConfigError(f"params {where} must be a mapping, not {block!r}")
    known = set(defaults) | set(extra_keys)
    unknown = sorted(str(k) for k in block if k not in known)
    if unknown and where not in OPEN_PATHS:
        check_retired(block, where)
        raise ConfigError(f"params {where}: unknown key(s) {unknown}; known: {sorted(map(str, known))}")
    out = copy.deepcopy(defaults)
    for k, v in block.items():
        path = f"{where}.{k}"
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v) if where in OPEN_PATHS or path in OPEN_PATHS else merge_block(out[k], v, path)
        else:
            out[k] = copy.deepcopy(v)
    return out


def stage(params: dict, name: str, defaults: dict | None = None) -> dict:
    """The ``name`` block of the params merged over ``defaults`` (a stage's own settings; :func:`merge_block`:
    unknown keys are an error)."""
    return merge_block(defaults, params.get(name), name) if defaults is not None else copy.deepcopy(params.get(name) or {})


def settings_from_block(cls: type, block: dict | None, where: str):
    """A settings dataclass ``cls`` from a params block (missing keys keep the dataclass defaults).

    Unknown keys and values whose type differs from the default's (a number for a number, a bool for a bool)
    raise :class:`ConfigError` naming ``where`` (the block's dotted params path)."""
    import dataclasses

    if block is None:
        return cls()
    if not isinstance(block, dict):
        raise ConfigError(f"params {where} must be a mapping, not {block!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(block) - set(fields))
    if unknown:
        raise ConfigError(f"params {where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    defaults = cls()
    for key, value in block.items():
        default = getattr(defaults, key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = True
        if not ok:
            raise ConfigError(f"params {where}.{key}={value!r} must be like its default {default!r}")
    return cls(**block)
