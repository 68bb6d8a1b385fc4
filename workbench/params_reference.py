"""The params reference, read from the code: every block, key, default and meaning.

:func:`reference` runs the readers of :mod:`workbench.param_blocks` on a params file that sets nothing and
records each defaults mapping and settings dataclass they merge a block over (the calls of
:func:`workbench.config.merge_block`, :func:`workbench.config.settings_from_block` and the ``from_params`` of the
limits), so the reference lists exactly what the stages accept; the ``data`` block (read by the loader, not by a
stage) adds the synthetic generator's settings and the validation bounds. A key's meaning is its comment in the
code (the trailing ``# ...`` of its line, a ``#:`` line above a dataclass field) or, failing that, the sentence the
docstring of its defaults' owner gives it (````key````: meaning). The documentation site's params page is made from
it, and a test compares its keys with the keys the readers accept.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

#: the params file the readers are run on: nothing set, so every block takes its defaults
EMPTY_PARAMS = {"name": "reference", "seed": 42, "data": {"source": "synthetic"}}


@dataclass(frozen=True)
class Origin:
    """Where a block's defaults come from: the module and the object (a dict, a function or a dataclass)."""

    module: str
    owner: str


def _workbench_modules() -> list:
    import workbench  # noqa: F401  (the package's modules are imported by the readers)

    return [m for name, m in sorted(sys.modules.items()) if name.split(".")[0] == "workbench" and m is not None]


def _owner_of(obj) -> Origin | None:
    """The module-level name holding ``obj`` itself, else a key of a module-level dict holding it, if any."""
    nested = None
    for module in _workbench_modules():
        for name, value in list(vars(module).items()):
            if value is obj:
                return Origin(module.__name__, name)
            if nested is None and isinstance(value, dict) and name.isupper():
                for key, sub in value.items():
                    if sub is obj:
                        nested = Origin(module.__name__, f"{name}.{key}")
    return nested


def _record_calls() -> list[tuple[str, object, str, object]]:
    """``(kind, where, defaults or dataclass, caller module)`` of every block merge while the readers run."""
    from workbench import config, param_blocks
    from workbench.data import validate
    from workbench.stages import Limits as StageLimits

    watched = {config.merge_block.__code__: "merge", config.settings_from_block.__code__: "settings",
               StageLimits.from_params.__func__.__code__: "limits",
               validate.Limits.from_params.__func__.__code__: "validation"}
    calls = []

    def profile(frame, event, arg):
        if event != "call" or frame.f_code not in watched:
            return
        kind, loc = watched[frame.f_code], frame.f_locals
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
        if kind == "merge":
            calls.append(("dict", loc["where"], loc["defaults"], caller, tuple(loc.get("extra_keys") or ())))
        elif kind == "settings":
            calls.append(("dataclass", loc["where"], loc["cls"], caller, ()))
        elif kind == "limits":
            calls.append(("dataclass", "limits", StageLimits, caller, ()))
        else:
            calls.append(("dataclass", "data.validation", validate.Limits, caller, ()))

    params = config.load_params(dict(EMPTY_PARAMS))
    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        param_blocks.check(params)
        validate.Limits.from_params(None)
    finally:
        sys.setprofile(previous)
    return calls


# ---- meanings -----------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _line_comments(module: str) -> dict[int, str]:
    """``{line: comment text}`` of the module's source."""
    source = Path(importlib.import_module(module).__file__).read_text(encoding="utf-8")
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


@lru_cache(maxsize=None)
def _key_lines(module: str) -> dict[tuple[str, str | None], list[int]]:
    """``{(key, parent key or None): [lines]}`` where a string key of a dict literal (nested under ``parent``), or
    an annotated class field, is written."""
    source = Path(importlib.import_module(module).__file__).read_text(encoding="utf-8")
    out: dict[tuple[str, str | None], list[int]] = {}

    def visit(node, parent):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
                if name is not None:
                    out.setdefault((name, parent), []).append(key.lineno)
                visit(value, name)
            return
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.setdefault((node.target.id, None), []).append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, None)

    visit(ast.parse(source), None)
    return out


def _comment_for(module: str, key: str, parent: str | None = None) -> str:
    comments, lines = _line_comments(module), _key_lines(module)
    for line in lines.get((key, parent), []):
        if line in comments and not comments[line].startswith(("noqa", "type:")):
            return comments[line]
        above, block = line - 1, []
        while above in comments and comments[above] and _is_doc_comment(module, above):
            block.insert(0, comments[above].removeprefix(":").strip())
            above -= 1
        if block:
            return " ".join(block)
    return ""


@lru_cache(maxsize=None)
def _source_lines(module: str) -> list[str]:
    return Path(importlib.import_module(module).__file__).read_text(encoding="utf-8").splitlines()


def _is_doc_comment(module: str, line: int) -> bool:
    """A whole-line comment (``#:`` or ``#``) that is no section rule (``# ---- ...``)."""
    text = _source_lines(module)[line - 1].strip()
    return text.startswith("#") and not text.lstrip("#: ").startswith("--")


def _docstring_meaning(doc: str, key: str) -> str:
    """The clause a docstring gives ````key````: the text after ````key````: (or ````key```` (...):) up to ``;``
    or the end of the sentence, else the parenthesis right after ````key````."""
    text = " ".join((doc or "").split())
    others = r"(?:``\w+``(?: and | / |, ))*"
    found = re.search(rf"{others}``{re.escape(key)}``(?:(?: and | / |, )``\w+``)*(?: \([^)]*\))?: "
                      rf"(.+?)(?:;|\.(?:\s|$)|$)", text)
    if found:
        return found.group(1).strip()
    found = re.search(rf"``{re.escape(key)}`` \(((?:[^()]|\([^()]*\))+)\)", text)
    return found.group(1).strip() if found else ""


def _meaning(key: str, modules: list[str], docs: list[str], parent: str | None = None) -> str:
    for module in modules:
        if module:
            text = _comment_for(module, key, parent)
            if text:
                return text
    for doc in docs:
        text = _docstring_meaning(doc, key)
        if text:
            return text
    return ""


# ---- the table ------------------------------------------------------------------------------------------
def _show(value) -> str:
    """A default as it would be written in YAML (``null`` for None)."""
    if isinstance(value, dict) and not value:
        return "{}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == float("inf"):
        return ".inf"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _spread_sources(key: str, value) -> list[str]:
    """Modules whose upper-case module-level dict holds ``key`` with this very value (defaults spread into
    another module's, ``{**rfm.DEFAULTS, ...}``)."""
    out = []
    for module in _workbench_modules():
        for name, held in list(vars(module).items()):
            if name.isupper() and isinstance(held, dict) and key in held and (
                    held[key] is value or (not isinstance(value, (dict, list)) and held[key] == value)):
                out.append(module.__name__)
    return out


def _dict_rows(where: str, defaults: dict, origin_modules: list[str], docs: list[str], open_paths,
               parent: str | None = None, classes: dict | None = None) -> list[dict]:
    rows, classes = [], classes or {}
    for key, value in defaults.items():
        path = f"{where}.{key}"
        nested = _owner_of(value) if isinstance(value, dict) else None
        if isinstance(value, dict) and value and path not in open_paths:
            cls = classes.get(path)
            if cls is not None:  # a settings dataclass reads this sub-block: its fields' comments and docstring
                rows.extend(_dict_rows(path, value, [cls.__module__] + origin_modules, [cls.__doc__ or ""] + docs,
                                       open_paths, classes=classes))
            elif nested is not None and "." not in nested.owner:  # a module's own defaults: top-level keys there
                rows.extend(_dict_rows(path, value, [nested.module] + origin_modules,
                                       [_doc_of(nested)] + docs, open_paths, classes=classes))
            else:
                rows.extend(_dict_rows(path, value, origin_modules, docs, open_paths, parent=key, classes=classes))
            continue
        meaning = _meaning(key, origin_modules, docs, parent) or \
            _meaning(key, [m for m in _spread_sources(key, value) if m not in origin_modules], [], parent)
        rows.append({"key": path, "default": _show(value), "value": value, "meaning": meaning,
                     "free_keys": path in open_paths})
    return rows


def _doc_of(origin: Origin | None) -> str:
    if origin is None:
        return ""
    obj = importlib.import_module(origin.module)
    doc = obj.__doc__ or ""
    head = origin.owner.split(".")[0]
    target = getattr(obj, head, None)
    if callable(target):
        doc = (target.__doc__ or "") + "\n" + doc
    return doc


def _dataclass_rows(where: str, cls: type) -> list[dict]:
    defaults = cls()
    module = cls.__module__
    rows = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        key, value = f"{where}.{field.name}", getattr(defaults, field.name)
        if where != "data.validation" and not accepted(key, value):  # a field the reader fills itself
            continue
        rows.append({"key": key, "default": _show(value), "value": value,
                     "meaning": _meaning(field.name, [module], [cls.__doc__ or ""]), "free_keys": False})
    return rows


def _synthetic_rows() -> list[dict]:
    from workbench.data import synthetic

    doc = synthetic.default_config.__doc__ + "\n" + (synthetic.__doc__ or "")
    return [{"key": f"data.synthetic.{k}", "default": _show(v), "value": v, "meaning": _meaning(k, [synthetic.__name__], [doc]),
             "free_keys": False} for k, v in synthetic.default_config().items()]


def reference() -> pd.DataFrame:
    """Every params key the workbench reads, one row each: ``block``, ``key`` (dotted path), ``default`` (as YAML),
    ``meaning``, ``free_keys`` (a map whose keys are names: any key is accepted below it), ``defined_in``
    (the module and object the default comes from) and ``value`` (the default itself)."""
    from workbench.config import OPEN_PATHS

    rows, seen = [], set()
    calls = _record_calls()
    classes = {where: defaults for kind, where, defaults, caller, extra in calls if kind == "dataclass"}
    for kind, where, defaults, caller, extra in calls:
        if where in seen or any(where.startswith(s + ".") for s in seen if kind == "dict"):
            continue
        seen.add(where)
        if kind == "dict":
            origin = _owner_of(defaults) or Origin(caller, "defaults")
            modules, docs = [origin.module, caller], [_doc_of(origin)]
            block_rows = _dict_rows(where, defaults, modules, docs, OPEN_PATHS, classes=classes)
            for name in extra:
                block_rows.append({"key": f"{where}.{name}", "default": "{}", "value": {}, "free_keys": True,
                                   "meaning": f"constructor arguments of the registered model `{name}`"})
            defined = f"{origin.module}.{origin.owner}"
        else:
            block_rows = _dataclass_rows(where, defaults)
            defined = f"{defaults.__module__}.{defaults.__qualname__}"
        for row in block_rows:
            row.update(block=where.split(".")[0], defined_in=defined)
        rows.extend(block_rows)
    from workbench.data import synthetic

    for row in _synthetic_rows():
        row.update(block="data", defined_in=f"{synthetic.__name__}.default_config")
        rows.append(row)
    rows = [row for row in rows if row.get("accepted", True)]
    table = pd.DataFrame(rows, columns=["block", "key", "default", "meaning", "free_keys", "defined_in", "value"])
    return table.drop_duplicates("key").reset_index(drop=True)


def accepted(key: str, value) -> bool:
    """Whether the readers accept ``key`` (a dotted path) set to ``value`` in an otherwise empty params file."""
    from workbench import config, param_blocks
    from workbench.errors import ConfigError

    params = config.load_params(dict(EMPTY_PARAMS))
    config.set_path(params, key.split("."), value)
    try:
        param_blocks.check(params)
    except ConfigError:
        return False
    return True


def data_keys() -> list[str]:
    """The top-level keys of the ``data`` block the loader reads (beside ``synthetic`` and ``validation``)."""
    from workbench.data.sources import LOAD_KEYS

    return list(LOAD_KEYS)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    """The params reference as a Markdown page (one section per block)."""
    table = reference()
    out = ["# Params reference", "",
           "Generated from the code at build time (`workbench/params_reference.py`): every key a stage reads, its "
           "default and its meaning. A key not listed here is an error when a run starts. Keys marked *map* take "
           "names of your own below them (segments, components, models).", ""]
    for block, rows in table.groupby("block", sort=False):
        out += [f"## `{block}`", "", f"Defaults: `{'`, `'.join(dict.fromkeys(rows['defined_in']))}`", "",
                "| key | default | meaning |", "|---|---|---|"]
        for row in rows.itertuples():
            note = " *(map)*" if row.free_keys else ""
            out.append(f"| `{row.key}`{note} | `{_cell(row.default)}` | {_cell(row.meaning) or '–'} |")
        out.append("")
    return "\n".join(out)


def registry_markdown() -> str:
    """The ranking models of :mod:`workbench.recommend.registry` as a Markdown table."""
    from workbench.recommend import registry

    out = ["| model (`recs_<model>`) | class | family | needs | on by default | hybrid component | tuning grid |",
           "|---|---|---|---|---|---|---|"]
    for spec in registry.MODELS.values():
        cls = f"{spec.cls.__module__}.{spec.cls.__qualname__}"
        component = f"yes (settings: `{spec.params_from}`)" if spec.hybrid and spec.params_from else \
            ("yes" if spec.hybrid else "no")
        out.append(f"| `{spec.name}` | `{cls}` | {spec.family} | {', '.join(sorted(spec.needs)) or '–'} | "
                   f"{'yes' if spec.default else 'no'} | {component} | "
                   f"`{_cell(_show(dict(spec.grid)) if spec.grid else '–')}` |")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown())
